// Package controller reconciles DittoServers into running DittoFS servers:
// Secrets, a ConfigMap, Services, a StatefulSet and, optionally, a Percona
// PostgreSQL cluster. It is a plain informer/workqueue controller.
package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/volumes"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
)

// Controller reconciles DittoServers.
type Controller struct {
	kube  kubernetes.Interface
	ditto clientset.Interface
	// dyn writes the optional kinds (PerconaPGClusters, ServiceMonitors).
	dyn dynamic.Interface
	// snap creates the VolumeSnapshots of a restore from another
	// namespace; nil: no restore (restore.go).
	snap snapshotClient

	dsLister   dittolisters.DittoServerLister
	dsIndexer  cache.Indexer
	stsLister  appslisters.StatefulSetLister
	svcLister  corelisters.ServiceLister
	cmLister   corelisters.ConfigMapLister
	secretMeta cache.GenericLister
	scLister   storagelisters.StorageClassLister
	podIndexer cache.Indexer // pods by controller (podControllerIndex)
	pvcLister  corelisters.PersistentVolumeClaimLister
	npLister   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced
	// volumeReader plans volume growth from the claim and StorageClass caches.
	volumeReader volumes.Reader

	// memory is what the controller keeps between passes (memory.go).
	memory

	queue       workqueue.TypedRateLimitingInterface[cache.ObjectName]
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	metrics     *Metrics

	// now is the clock, replaced in tests.
	now func() time.Time
	// renderStatefulSet is resources.StatefulSet; tests replace it to play
	// an operator upgrade that renders differently.
	renderStatefulSet func(*dittov1alpha1.DittoServer, resources.Inputs, string) (*appsv1.StatefulSet, error)
}

// Options tune the controller.
type Options struct {
	// Namespace limits the Percona watch to one namespace ("" = all).
	Namespace string
	// ResyncPeriod of the Percona informer.
	ResyncPeriod time.Duration
	// Metrics records reconcile outcomes; nil disables them.
	Metrics *Metrics
	// Snapshots is the VolumeSnapshot API a restore
	// (spec.bootstrap.fromBackup) uses; nil refuses restores.
	Snapshots snapshotClient
}

// New builds a controller and registers its event handlers on the informers.
func New(ctx context.Context, kube kubernetes.Interface, ditto clientset.Interface, dyn dynamic.Interface,
	inf caches.Informers, opts Options) (*Controller, error) {
	logger := klog.FromContext(ctx)
	utilruntime.Must(dittoscheme.AddToScheme(kubescheme.Scheme))

	// The broadcaster outlives ctx: events of syncs that drain after a stop
	// signal are still sent; Run shuts it down when the workers are done.
	broadcaster := record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)))
	c := &Controller{
		kube:       kube,
		ditto:      ditto,
		dyn:        dyn,
		snap:       opts.Snapshots,
		dsLister:   inf.DittoServers.Lister(),
		dsIndexer:  inf.DittoServers.Informer().GetIndexer(),
		stsLister:  inf.StatefulSets.Lister(),
		svcLister:  inf.Services.Lister(),
		cmLister:   inf.ConfigMaps.Lister(),
		secretMeta: inf.Secrets.Lister(),
		scLister:   inf.StorageClasses.Lister(),
		pvcLister:  inf.PersistentVolumeClaims.Lister(),
		npLister:   inf.NetworkPolicies.Lister(),
		memory: memory{
			secretKeys:  newSecretKeyCache(),
			ownWrites:   kit.NewOwnWrites(kit.DefaultOwnWritesTTL),
			conflicts:   newConflictStreaks(),
			podWarnings: newPodWarnings(),
			smNotices:   newServiceMonitorNotices(),
		},
		broadcaster: broadcaster,
		recorder:    broadcaster.NewRecorder(kubescheme.Scheme, corev1.EventSource{Component: EventComponent}),
		metrics:     opts.Metrics,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: ControllerName},
		),
		now:               time.Now,
		renderStatefulSet: resources.StatefulSet,
	}
	c.metrics.watchConditions(c.dsLister)
	c.volumeReader = volumes.Reader{Claims: c.pvcLister, Classes: c.scLister}
	c.percona = crdwatch.New(dyn, inf.PerconaCRD, resources.PerconaCRDName, resources.PerconaGVR, nil,
		opts.Namespace, opts.ResyncPeriod, c.enqueuePerconaUsers, c.handlePerconaCluster)
	c.serviceMonitors = newServiceMonitorWatch(dyn, inf.ServiceMonitorCRD, opts.Namespace, opts.ResyncPeriod, c.enqueueServiceMonitorUsers, c.handleOwnedObject)

	if err := inf.DittoServers.Informer().AddIndexers(cache.Indexers{secretIndex: indexBySecret}); err != nil {
		return nil, fmt.Errorf("add DittoServer secret index: %w", err)
	}
	if err := c.registerHandlers(inf); err != nil {
		return nil, err
	}
	if err := c.registerPodHandler(inf.Pods.Informer()); err != nil {
		return nil, err
	}
	c.synced = []cache.InformerSynced{
		inf.DittoServers.Informer().HasSynced,
		inf.StatefulSets.Informer().HasSynced,
		inf.Services.Informer().HasSynced,
		inf.ConfigMaps.Informer().HasSynced,
		inf.Secrets.Informer().HasSynced,
		inf.StorageClasses.Informer().HasSynced,
		inf.Pods.Informer().HasSynced,
		inf.PersistentVolumeClaims.Informer().HasSynced,
		inf.NetworkPolicies.Informer().HasSynced,
		c.percona.HasSynced,
		c.serviceMonitors.HasSynced,
	}
	logger.V(4).Info("Controller constructed")
	return c, nil
}

// WaitForCacheSync waits for every informer the controller reads.
func (c *Controller) WaitForCacheSync(ctx context.Context) bool {
	return cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...)
}

// HasSynced reports whether every informer the controller reads has synced.
func (c *Controller) HasSynced() bool {
	for _, synced := range c.synced {
		if !synced() {
			return false
		}
	}
	return true
}

// Run starts the event sink, the Percona watch and the workers, and blocks
// until ctx is done. It then stops taking work and lets in-flight syncs
// finish for at most drainTimeout, on a context that ctx's cancellation does
// not reach (kit.RunWorkers), and returns.
func (c *Controller) Run(ctx context.Context, workers int, drainTimeout time.Duration) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx)

	c.broadcaster.StartStructuredLogging(4)
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()

	// A shutdown that arrives while the caches sync is not a failure: the
	// replica stops before it has done anything.
	if !c.WaitForCacheSync(ctx) {
		return kit.StoppedOr(ctx, errors.New("caches did not sync"))
	}
	c.percona.Start(ctx)
	c.serviceMonitors.Start(ctx)
	if !c.percona.WaitForObjectCache(ctx) {
		return kit.StoppedOr(ctx, errors.New("the PerconaPGCluster cache did not sync"))
	}
	if !c.serviceMonitors.WaitForObjectCache(ctx) {
		return kit.StoppedOr(ctx, errors.New("the ServiceMonitor cache did not sync"))
	}

	logger.Info("Starting workers", "count", workers)
	kit.RunWorkers(ctx, c.queue, workers, drainTimeout, c.processItem)
	return nil
}

// processItem syncs one DittoServer. Errors requeue with per-item
// exponential backoff; success forgets the item's backoff.
func (c *Controller) processItem(ctx context.Context, key cache.ObjectName) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "dittoserver", klog.KRef(key.Namespace, key.Name))
	ctx = klog.NewContext(ctx, logger)
	start := time.Now()
	err := c.sync(ctx, key)
	c.metrics.observeSync(start, err)
	switch kit.KindOf(err) {
	case kit.Succeeded:
		c.queue.Forget(key)
	case kit.Waiting, kit.NotOwned:
		// Waiting on something outside the operator (a Secret, the database):
		// not an error, but look again with backoff in case no event arrives.
		logger.V(4).Info("Waiting; requeued with backoff", "reason", err)
		c.queue.AddRateLimited(key)
	default:
		logger.Error(err, "Sync failed; requeued with backoff")
		c.queue.AddRateLimited(key)
	}
}

func (c *Controller) enqueue(ds cache.ObjectName) { c.queue.Add(ds) }
