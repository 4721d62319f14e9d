package fakeapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Fill replaces what indexer holds with the objects of gvr (of kind) in
// tracker that keep accepts (nil: all), each passed through transform (nil:
// as stored): what a started informer's cache holds once it has seen every
// event. Tests fill never-started informers with it, so that a pass of the
// controller reads exactly the cluster the test built.
func Fill(indexer cache.Indexer, tracker clienttesting.ObjectTracker, gvr schema.GroupVersionResource, kind string,
	keep func(runtime.Object) bool, transform func(runtime.Object) runtime.Object) error {
	objs, err := List(tracker, gvr, kind)
	if err != nil {
		return err
	}
	var items []interface{}
	for _, obj := range objs {
		if keep != nil && !keep(obj) {
			continue
		}
		if transform != nil {
			obj = transform(obj)
		}
		items = append(items, obj)
	}
	if err := indexer.Replace(items, ""); err != nil {
		return fmt.Errorf("fill the %s cache: %w", kind, err)
	}
	return nil
}

// List returns the objects of gvr (of kind) in tracker, in all namespaces.
func List(tracker clienttesting.ObjectTracker, gvr schema.GroupVersionResource, kind string) ([]runtime.Object, error) {
	list, err := tracker.List(gvr, gvr.GroupVersion().WithKind(kind), "")
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", gvr.Resource, err)
	}
	return objs, nil
}

// Events drains the events rec has recorded since the last call.
func Events(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
