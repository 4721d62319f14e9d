// Package backup runs DittoBackups: CSI VolumeSnapshots of every claim of a
// DittoServer, cut while the server is held stopped (method Offline), with a
// copy of the credentials a restored server needs.
package backup

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"time"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	snapinformers "github.com/kubernetes-csi/external-snapshotter/client/v8/informers/externalversions/volumesnapshot/v1"
	snaplisters "github.com/kubernetes-csi/external-snapshotter/client/v8/listers/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions/dittofs/v1alpha1"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// ControllerName names the controller in logs and /readyz.
const ControllerName = "dittobackup-controller"

// EventComponent is the source of the controller's events, as the other controllers'.
const EventComponent = "dittofs-operator"

// HoldTimeout bounds how long a backup may hold its server stopped before
// every snapshot is cut: past it the backup fails and the server starts.
const HoldTimeout = 10 * time.Minute

// Informers are what the controller reads. The snapshot informers start only
// once the snapshot CRDs are installed (SnapshotsReady says so).
type Informers struct {
	DittoBackups   dittoinformers.DittoBackupInformer
	DittoServers   dittoinformers.DittoServerInformer
	StatefulSets   appsinformers.StatefulSetInformer
	Pods           coreinformers.PodInformer
	StorageClasses storageinformers.StorageClassInformer
	Snapshots      snapinformers.VolumeSnapshotInformer
	SnapshotClass  snapinformers.VolumeSnapshotClassInformer
}

// Options are the controller's dependencies beyond its clients.
type Options struct {
	// SnapshotCRDsMissing reports the snapshot CRDs known not to be
	// installed; while any is, backups wait with SnapshotCRDsNotInstalled.
	SnapshotCRDsMissing func() []string
	Recorder            record.EventRecorder
	Metrics             *Metrics
	Now                 func() time.Time
}

// Controller reconciles DittoBackups.
type Controller struct {
	kube  kubernetes.Interface
	ditto clientset.Interface
	snap  snapclient.Interface

	backups  dittolisters.DittoBackupLister
	servers  dittolisters.DittoServerLister
	sts      appslisters.StatefulSetLister
	pods     corelisters.PodLister
	classes  storagelisters.StorageClassLister
	snaps    snaplisters.VolumeSnapshotLister
	snapCls  snaplisters.VolumeSnapshotClassLister
	synced   []cache.InformerSynced
	crdsGone func() []string

	// broadcaster sends the recorder's events; nil when Options gave a recorder.
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	metrics     *Metrics
	snapSynced  cache.InformerSynced
	now         func() time.Time
	queue       workqueue.TypedRateLimitingInterface[cache.ObjectName]
	// own is read-your-writes on the DittoBackup cache: a pass never acts
	// on a backup its own last write replaced.
	own *kit.OwnWrites
}

// New builds the controller and registers its event handlers.
func New(ctx context.Context, kube kubernetes.Interface, ditto clientset.Interface, snap snapclient.Interface, inf Informers, opts Options) (*Controller, error) {
	c := &Controller{
		kube: kube, ditto: ditto, snap: snap, own: kit.NewOwnWrites(kit.DefaultOwnWritesTTL),
		backups: inf.DittoBackups.Lister(), servers: inf.DittoServers.Lister(), sts: inf.StatefulSets.Lister(),
		pods: inf.Pods.Lister(), classes: inf.StorageClasses.Lister(),
		snaps: inf.Snapshots.Lister(), snapCls: inf.SnapshotClass.Lister(),
		crdsGone: opts.SnapshotCRDsMissing, recorder: opts.Recorder, metrics: opts.Metrics, now: opts.Now,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: ControllerName}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.recorder == nil {
		utilruntime.Must(dittoscheme.AddToScheme(kubescheme.Scheme))
		// The broadcaster outlives ctx: events of passes that drain after
		// a stop signal are still sent; Run shuts it down.
		c.broadcaster = record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)))
		c.recorder = c.broadcaster.NewRecorder(kubescheme.Scheme, corev1.EventSource{Component: EventComponent})
	}
	c.snapSynced = func() bool { return inf.Snapshots.Informer().HasSynced() && inf.SnapshotClass.Informer().HasSynced() }
	if c.crdsGone == nil {
		c.crdsGone = func() []string { return nil }
	}
	c.synced = []cache.InformerSynced{inf.DittoBackups.Informer().HasSynced, inf.DittoServers.Informer().HasSynced,
		inf.StatefulSets.Informer().HasSynced, inf.Pods.Informer().HasSynced, inf.StorageClasses.Informer().HasSynced}
	if _, err := inf.DittoBackups.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue, UpdateFunc: func(_, o interface{}) { c.enqueue(o) }, DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("add DittoBackup handler: %w", err)
	}
	// A backup waits on its server's pods and on its snapshots: their
	// changes requeue the backups that wait on them.
	byServer := cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueServerBackups, UpdateFunc: func(_, o interface{}) { c.enqueueServerBackups(o) },
		DeleteFunc: c.enqueueServerBackups,
	}
	for _, i := range []cache.SharedIndexInformer{inf.DittoServers.Informer(), inf.StatefulSets.Informer(), inf.Pods.Informer()} {
		if _, err := i.AddEventHandler(byServer); err != nil {
			return nil, fmt.Errorf("add handler: %w", err)
		}
	}
	if _, err := inf.Snapshots.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueOwner, UpdateFunc: func(_, o interface{}) { c.enqueueOwner(o) }, DeleteFunc: c.enqueueOwner,
	}); err != nil {
		return nil, fmt.Errorf("add VolumeSnapshot handler: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueue(obj interface{}) {
	if key, err := cache.DeletionHandlingObjectToName(obj); err == nil {
		c.queue.Add(key)
	}
}

// enqueueServerBackups requeues the unfinished backups of the server a
// DittoServer, StatefulSet or pod belongs to (the StatefulSet is named after
// its server; pods carry the instance label).
func (c *Controller) enqueueServerBackups(obj interface{}) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	var ns, server string
	switch o := obj.(type) {
	case *corev1.Pod:
		ns, server = o.Namespace, o.Labels[instanceLabel]
	case interface {
		GetNamespace() string
		GetName() string
	}:
		ns, server = o.GetNamespace(), o.GetName()
	}
	if server == "" {
		return
	}
	list, err := c.backups.DittoBackups(ns).List(everything)
	if err != nil {
		return
	}
	for _, b := range list {
		if b.Spec.Server.Name == server && !finished(b) {
			c.queue.Add(cache.ObjectName{Namespace: b.Namespace, Name: b.Name})
		}
	}
}

// enqueueOwner requeues the DittoBackup that owns a VolumeSnapshot.
func (c *Controller) enqueueOwner(obj interface{}) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(interface {
		GetNamespace() string
		GetLabels() map[string]string
	})
	if !ok {
		return
	}
	if name := m.GetLabels()[backupLabel]; name != "" {
		c.queue.Add(cache.ObjectName{Namespace: m.GetNamespace(), Name: name})
	}
}

// EnqueueAll requeues every backup: the snapshot CRDs appeared.
func (c *Controller) EnqueueAll() {
	list, err := c.backups.List(everything)
	if err != nil {
		return
	}
	for _, b := range list {
		c.queue.Add(cache.ObjectName{Namespace: b.Namespace, Name: b.Name})
	}
}

// HasSynced reports whether the caches the controller needs have synced.
func (c *Controller) HasSynced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Run waits for the caches and runs the workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int, drainTimeout time.Duration) error {
	logger := klog.FromContext(ctx).WithValues("controller", ControllerName)
	ctx = klog.NewContext(ctx, logger)
	defer c.queue.ShutDown()
	if c.broadcaster != nil {
		c.broadcaster.StartStructuredLogging(4)
		c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
		defer c.broadcaster.Shutdown()
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return kit.StoppedOr(ctx, fmt.Errorf("%s: caches did not sync", ControllerName))
	}
	logger.Info("Starting workers", "count", workers)
	kit.RunWorkers(ctx, c.queue, workers, drainTimeout, c.process)
	return nil
}

// process runs one pass and classifies its outcome for the queue.
func (c *Controller) process(ctx context.Context, key cache.ObjectName) {
	err := c.sync(ctx, key)
	switch kit.KindOf(err) {
	case kit.Succeeded:
		c.queue.Forget(key)
	case kit.Waiting:
		c.queue.AddRateLimited(key)
	case kit.CacheBehind:
		c.queue.Forget(key)
	default:
		if apierrors.IsConflict(err) {
			// Another writer (or a cache behind one) changed the object: normal, retried quietly.
			klog.FromContext(ctx).V(2).Info("Conflict; requeued", "dittobackup", key, "err", err)
		} else {
			klog.FromContext(ctx).Error(err, "Backup pass failed", "dittobackup", key)
		}
		c.queue.AddRateLimited(key)
	}
}

// Recorder is the controller's event recorder, shared with the Scheduler.
func (c *Controller) Recorder() record.EventRecorder { return c.recorder }
