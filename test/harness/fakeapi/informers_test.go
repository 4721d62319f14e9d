package fakeapi

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Fill leaves in the cache what keep accepts, as transform makes it, and
// nothing of what it held before.
func TestFillHoldsWhatAStartedInformerWould(t *testing.T) {
	_, tracker, _ := cluster()
	for _, name := range []string{"a", "b"} {
		if err := tracker.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := indexer.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "stale"}}); err != nil {
		t.Fatal(err)
	}
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	keep := func(o runtime.Object) bool { return o.(*corev1.ConfigMap).Name != "b" }
	label := func(o runtime.Object) runtime.Object {
		cm := o.(*corev1.ConfigMap).DeepCopy()
		cm.Labels = map[string]string{"seen": "yes"}
		return cm
	}
	if err := Fill(indexer, tracker, gvr, "ConfigMap", keep, label); err != nil {
		t.Fatal(err)
	}
	keys := indexer.ListKeys()
	if len(keys) != 1 || keys[0] != "storage/a" {
		t.Fatalf("cache holds %v, want only storage/a", keys)
	}
	if obj, _, _ := indexer.GetByKey("storage/a"); obj.(*corev1.ConfigMap).Labels["seen"] != "yes" {
		t.Errorf("cached %+v, not transformed", obj)
	}
}

func TestEventsDrainsTheRecorder(t *testing.T) {
	rec := record.NewFakeRecorder(10)
	rec.Event(&corev1.ConfigMap{}, corev1.EventTypeNormal, "Created", "one")
	rec.Event(&corev1.ConfigMap{}, corev1.EventTypeWarning, "Failed", "two")
	if got := Events(rec); len(got) != 2 || got[0] != "Normal Created one" || got[1] != "Warning Failed two" {
		t.Errorf("events = %q", got)
	}
	if got := Events(rec); len(got) != 0 {
		t.Errorf("second drain = %q, want none", got)
	}
}
