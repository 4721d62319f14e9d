package controller

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// PerconaCRDName is the CRD whose presence turns the Percona watch on.
const PerconaCRDName = "perconapgclusters.pgv2.percona.com"

// CRDGVR is the resource of CustomResourceDefinitions, watched as metadata
// with a field selector on PerconaCRDName.
var CRDGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDWatch is an informer over the metadata of one CRD alone, the
// PerconaPGCluster or the ServiceMonitor CRD (nil when the operator should
// never watch objects of that kind).
type CRDWatch cache.SharedIndexInformer

// crdGatedWatch runs a dynamic informer over the objects of an optional
// CRD (PerconaPGClusters, ServiceMonitors) while that CRD is installed: it
// starts when the CRD appears, stops when it goes away, and requeues the
// DittoServers that use the kind at each change.
type crdGatedWatch struct {
	dyn         dynamic.Interface
	crd         CRDWatch
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

func newPerconaWatch(dyn dynamic.Interface, crd CRDWatch, namespace string, resync time.Duration,
	onCRDChange func(), onCluster func(interface{})) *crdGatedWatch {
	return newCRDGatedWatch(dyn, crd, PerconaCRDName, resources.PerconaGVR, nil, namespace, resync, onCRDChange, onCluster)
}

func newCRDGatedWatch(dyn dynamic.Interface, crd CRDWatch, crdName string, gvr schema.GroupVersionResource,
	tweak dynamicinformer.TweakListOptionsFunc, namespace string, resync time.Duration,
	onCRDChange func(), onCluster func(interface{})) *crdGatedWatch {
	w := &crdGatedWatch{dyn: dyn, crd: crd, crdName: crdName, gvr: gvr, tweak: tweak, namespace: namespace, resync: resync,
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
func (w *crdGatedWatch) HasSynced() bool { return w.crd == nil || w.crdHandled() }

// clusterCacheSynced reports whether the object cache is usable:
// the CRD is absent, or its informer has synced.
func (w *crdGatedWatch) clusterCacheSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.present || (w.synced != nil && w.synced())
}

// WaitForClusterCache waits until clusterCacheSynced, so that workers never
// see a cache still syncing after a restart or a leader change (for
// Percona: a PerconaNotReady status for a cluster that is ready).
func (w *crdGatedWatch) WaitForClusterCache(ctx context.Context) bool {
	return cache.WaitForNamedCacheSyncWithContext(ctx, w.clusterCacheSynced)
}

// Start lets the watch run informers under ctx.
func (w *crdGatedWatch) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.reconcileInformer()
}

func (w *crdGatedWatch) setPresent(present bool) {
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
func (w *crdGatedWatch) reconcileInformer() {
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
		if err := inf.Informer().SetTransform(dropManagedFields); err != nil {
			klog.FromContext(ctx).Error(err, "Could not set the cache transform", "resource", w.gvr.String())
		}
		_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: w.onCluster,
			UpdateFunc: func(oldObj, newObj interface{}) {
				if !unchanged(oldObj, newObj) {
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

// crdState is what the sync knows about an optional CRD's support in
// the cluster.
type crdState int

const (
	crdNotInstalled crdState = iota
	crdSyncing
	crdReady
)

// Lister returns the cluster lister when the CRD is installed and the cache synced.
func (w *crdGatedWatch) Lister() (cache.GenericLister, crdState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.present:
		return nil, crdNotInstalled
	case w.lister == nil || !w.synced():
		return nil, crdSyncing
	default:
		return w.lister, crdReady
	}
}

// setListerForTest installs a fixed lister, as if the CRD were present.
func (w *crdGatedWatch) setListerForTest(l cache.GenericLister) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.present, w.lister, w.synced = true, l, func() bool { return true }
}

// crdFieldSelector restricts the CRD watch to the PerconaPGCluster CRD.
func crdFieldSelector(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + PerconaCRDName }

// serviceMonitorCRDSelector restricts a CRD watch to the ServiceMonitor CRD.
func serviceMonitorCRDSelector(o *metav1.ListOptions) {
	o.FieldSelector = "metadata.name=" + resources.ServiceMonitorCRDName
}
