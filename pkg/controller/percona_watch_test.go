package controller

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Workers start only once the PerconaPGCluster cache is usable: right away
// without the CRD, after the cluster informer synced with it.
func TestWaitForClusterCache(t *testing.T) {
	w := &perconaWatch{}
	if !w.clusterCacheSynced() {
		t.Error("without the CRD there is no cache to wait for")
	}
	synced := false
	w.present, w.lister, w.synced = true, cache.NewGenericLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, nil), resources.PerconaGVR.GroupResource()),
		func() bool { return synced }
	if w.clusterCacheSynced() {
		t.Error("the CRD is there and its cache has not synced: not ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if w.WaitForClusterCache(ctx) {
		t.Error("WaitForClusterCache returned before the cache synced")
	}
	synced = true
	if !w.WaitForClusterCache(context.Background()) {
		t.Error("WaitForClusterCache did not return once the cache synced")
	}
}
