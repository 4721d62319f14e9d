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

// CRDWatch is an informer over the metadata of the PerconaPGCluster CRD alone
// (nil when the operator should never watch Percona clusters).
type CRDWatch cache.SharedIndexInformer

// perconaWatch runs a dynamic informer over PerconaPGClusters while their CRD
// is installed: it starts when the CRD appears, stops when it goes away, and
// requeues the DittoServers that use Percona at each change.
type perconaWatch struct {
	dyn         dynamic.Interface
	crd         CRDWatch
	namespace   string
	resync      time.Duration
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
	onCRDChange func(), onCluster func(interface{})) *perconaWatch {
	w := &perconaWatch{dyn: dyn, crd: crd, namespace: namespace, resync: resync, onCRDChange: onCRDChange, onCluster: onCluster}
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
// PerconaNotInstalled for a server whose cluster is ready: a false alarm on
// every restart or leader change.
func (w *perconaWatch) HasSynced() bool { return w.crd == nil || w.crdHandled() }

// clusterCacheSynced reports whether the PerconaPGCluster cache is usable:
// the CRD is absent, or its informer has synced.
func (w *perconaWatch) clusterCacheSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.present || (w.synced != nil && w.synced())
}

// WaitForClusterCache waits until clusterCacheSynced, so that workers never
// see a Percona cache still syncing after a restart or a leader change (a
// PerconaNotReady status for a cluster that is ready).
func (w *perconaWatch) WaitForClusterCache(ctx context.Context) bool {
	return cache.WaitForNamedCacheSyncWithContext(ctx, w.clusterCacheSynced)
}

// Start lets the watch run informers under ctx.
func (w *perconaWatch) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.reconcileInformer()
}

func (w *perconaWatch) setPresent(present bool) {
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
func (w *perconaWatch) reconcileInformer() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.dyn == nil {
		return
	}
	switch {
	case w.present && w.cancel == nil:
		ctx, cancel := context.WithCancel(w.ctx)
		factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.dyn, w.resync, w.namespace, nil)
		inf := factory.ForResource(resources.PerconaGVR)
		// Managed fields are never read; dropping them bounds what each
		// cached cluster costs (see memory).
		if err := inf.Informer().SetTransform(dropManagedFields); err != nil {
			klog.FromContext(ctx).Error(err, "Could not set the PerconaPGCluster cache transform")
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
		klog.FromContext(ctx).Info("PerconaPGCluster CRD found; watching Percona clusters", "crd", klog.KRef("", PerconaCRDName), "namespace", w.namespace)
	case !w.present && w.cancel != nil:
		w.cancel()
		w.cancel, w.lister, w.synced = nil, nil, nil
		klog.FromContext(w.ctx).Info("PerconaPGCluster CRD removed; stopped watching Percona clusters", "crd", klog.KRef("", PerconaCRDName))
	}
}

// perconaState is what the sync knows about Percona support in the cluster.
type perconaState int

const (
	perconaNotInstalled perconaState = iota
	perconaSyncing
	perconaReady
)

// Lister returns the cluster lister when the CRD is installed and the cache synced.
func (w *perconaWatch) Lister() (cache.GenericLister, perconaState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.present:
		return nil, perconaNotInstalled
	case w.lister == nil || !w.synced():
		return nil, perconaSyncing
	default:
		return w.lister, perconaReady
	}
}

// setListerForTest installs a fixed lister, as if the CRD were present.
func (w *perconaWatch) setListerForTest(l cache.GenericLister) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.present, w.lister, w.synced = true, l, func() bool { return true }
}

// crdFieldSelector restricts the CRD watch to the PerconaPGCluster CRD.
func crdFieldSelector(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + PerconaCRDName }
