// Package crdwatch follows CRDs that may be missing from the cluster: Watch
// runs an informer over an optional kind (PerconaPGClusters,
// ServiceMonitors) while its CRD is installed, and Gate holds a controller
// back until the CRDs it reads are installed. Both watch the metadata of
// each CRD alone (caches.CRDInformer) and know whether one exists only once
// the handler that records it has seen the initial list.
package crdwatch

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
)

// Watch runs a dynamic informer over the objects of an optional
// CRD (PerconaPGClusters, ServiceMonitors) while that CRD is installed: it
// starts when the CRD appears, stops when it goes away, and requeues the
// DittoServers that use the kind at each change.
type Watch struct {
	dyn         dynamic.Interface
	crd         cache.SharedIndexInformer
	crdName     string
	gvr         schema.GroupVersionResource
	namespace   string
	resync      time.Duration
	tweak       dynamicinformer.TweakListOptionsFunc // nil: every object of the kind
	onCRDChange func()
	onCluster   func(obj interface{})
	// crdHandled reports that the CRD watch's handler has seen the initial
	// list: only then does present say whether the CRD exists.
	crdHandled cache.InformerSynced

	mu      sync.Mutex
	ctx     context.Context // set by Start
	present bool
	cancel  context.CancelFunc
	lister  cache.GenericLister
	synced  cache.InformerSynced
}

// New builds the watch of the objects of gvr (in namespace, "" for all,
// filtered by tweak) while the CRD named crdName is installed, as crd (an
// informer over that CRD alone; nil never watches) sees it. onCRDChange runs
// when the CRD appears or goes; onCluster on each change of an object.
func New(dyn dynamic.Interface, crd cache.SharedIndexInformer, crdName string, gvr schema.GroupVersionResource,
	tweak dynamicinformer.TweakListOptionsFunc, namespace string, resync time.Duration,
	onCRDChange func(), onCluster func(interface{})) *Watch {
	w := &Watch{dyn: dyn, crd: crd, crdName: crdName, gvr: gvr, tweak: tweak, namespace: namespace, resync: resync,
		onCRDChange: onCRDChange, onCluster: onCluster}
	if crd != nil {
		w.crdHandled = crd.HasSynced
		reg, err := crd.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(interface{}) { w.setPresent(true) },
			DeleteFunc: func(interface{}) { w.setPresent(false) },
		})
		if err == nil {
			w.crdHandled = reg.HasSynced
		}
	}
	return w
}

// HasSynced reports whether the watch knows whether the CRD exists: not when
// the CRD informer has listed it (its HasSynced), but when the handler that
// records it has run. Between the two, a worker would find no CRD and report
// it missing (PerconaNotInstalled, ServiceMonitorUnavailable) while it is
// installed: a false alarm on every restart or leader change.
func (w *Watch) HasSynced() bool { return w.crd == nil || w.crdHandled() }

// objectCacheSynced reports whether the object cache is usable:
// the CRD is absent, or its informer has synced.
func (w *Watch) objectCacheSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.present || (w.synced != nil && w.synced())
}

// WaitForObjectCache waits until objectCacheSynced, so that workers never
// see a cache still syncing after a restart or a leader change (for
// Percona: a PerconaNotReady status for a cluster that is ready).
func (w *Watch) WaitForObjectCache(ctx context.Context) bool {
	return cache.WaitForNamedCacheSyncWithContext(ctx, w.objectCacheSynced)
}

// Start lets the watch run informers under ctx.
func (w *Watch) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.reconcileInformer()
}

func (w *Watch) setPresent(present bool) {
	w.mu.Lock()
	changed := w.present != present
	w.present = present
	w.mu.Unlock()
	if changed {
		w.reconcileInformer()
		w.onCRDChange()
	}
}

// reconcileInformer starts or stops the cluster informer to match the CRD.
func (w *Watch) reconcileInformer() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.dyn == nil {
		return
	}
	switch {
	case w.present && w.cancel == nil:
		ctx, cancel := context.WithCancel(w.ctx)
		factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.dyn, w.resync, w.namespace, w.tweak)
		inf := factory.ForResource(w.gvr)
		// Managed fields are never read; dropping them bounds what each
		// cached object costs (see memory).
		if err := inf.Informer().SetTransform(caches.DropManagedFields); err != nil {
			klog.FromContext(ctx).Error(err, "Could not set the cache transform", "resource", w.gvr.String())
		}
		_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: w.onCluster,
			UpdateFunc: func(oldObj, newObj interface{}) {
				if !caches.Unchanged(oldObj, newObj) {
					w.onCluster(newObj)
				}
			},
			DeleteFunc: w.onCluster,
		})
		factory.Start(ctx.Done())
		w.cancel, w.lister, w.synced = cancel, inf.Lister(), inf.Informer().HasSynced
		klog.FromContext(ctx).Info("CRD found; watching its objects", "crd", klog.KRef("", w.crdName), "namespace", w.namespace)
	case !w.present && w.cancel != nil:
		w.cancel()
		w.cancel, w.lister, w.synced = nil, nil, nil
		klog.FromContext(w.ctx).Info("CRD removed; stopped watching its objects", "crd", klog.KRef("", w.crdName))
	}
}

// State is what a watch knows about an optional CRD in the cluster.
type State int

const (
	// NotInstalled: the CRD is not installed.
	NotInstalled State = iota
	// Syncing: the CRD is installed (or not known yet) and the object cache
	// has not synced.
	Syncing
	// Ready: the CRD is installed and the object cache synced.
	Ready
)

// Lister returns the cluster lister when the CRD is installed and the cache synced.
func (w *Watch) Lister() (cache.GenericLister, State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.present:
		return nil, NotInstalled
	case w.lister == nil || !w.synced():
		return nil, Syncing
	default:
		return w.lister, Ready
	}
}

// SetListerForTest installs a fixed lister, as if the CRD were present and
// its cache synced, or, with nil, as if the CRD were not installed: the
// controllers' tests fill it from a fake cluster.
func (w *Watch) SetListerForTest(l cache.GenericLister) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.present, w.lister, w.synced = l != nil, l, func() bool { return true }
}

// SetSyncedForTest makes the object cache of a watch that SetListerForTest
// filled look synced or still syncing.
func (w *Watch) SetSyncedForTest(synced bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.synced = func() bool { return synced }
}
