package crdwatch

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Workers start only once the PerconaPGCluster cache is usable: right away
// without the CRD, after the cluster informer synced with it.
func TestWaitForObjectCache(t *testing.T) {
	w := &Watch{}
	if !w.objectCacheSynced() {
		t.Error("without the CRD there is no cache to wait for")
	}
	synced := false
	w.present, w.lister, w.synced = true, cache.NewGenericLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, nil), resources.PerconaGVR.GroupResource()),
		func() bool { return synced }
	if w.objectCacheSynced() {
		t.Error("the CRD is there and its cache has not synced: not ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if w.WaitForObjectCache(ctx) {
		t.Error("WaitForObjectCache returned before the cache synced")
	}
	synced = true
	if !w.WaitForObjectCache(context.Background()) {
		t.Error("WaitForObjectCache did not return once the cache synced")
	}
}

// The CRD informer has listed the CRD (its own HasSynced is true) before its
// handler has recorded it: the watch is not synced until the handler ran, so
// a worker never takes a present CRD for a missing one.
func TestWatchSyncedOnlyOnceTheCRDHandlerRan(t *testing.T) {
	crd := &listedNotHandled{}
	w := New(nil, crd, resources.PerconaCRDName, resources.PerconaGVR, nil, "", 0, func() {}, func(interface{}) {})
	if w.HasSynced() {
		t.Fatal("synced while the CRD handler has not seen the initial list")
	}
	crd.handler.OnAdd(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: resources.PerconaCRDName}}, true)
	crd.delivered = true
	if !w.HasSynced() {
		t.Fatal("not synced after the CRD handler ran")
	}
	if _, state := w.Lister(); state == NotInstalled {
		t.Error("the CRD is installed but the watch says it is not")
	}
}

// listedNotHandled is a CRD informer whose store has synced while its handler
// has not been called yet (the informer delivers events asynchronously).
// Only the methods the watch calls are implemented.
type listedNotHandled struct {
	cache.SharedIndexInformer
	handler   cache.ResourceEventHandler
	delivered bool
}

func (l *listedNotHandled) HasSynced() bool { return true }

func (l *listedNotHandled) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	l.handler = h
	return handledRegistration{l}, nil
}

type handledRegistration struct{ l *listedNotHandled }

func (r handledRegistration) HasSynced() bool                     { return r.l.delivered }
func (r handledRegistration) HasSyncedChecker() cache.DoneChecker { return nil }
