// Package serverstate converges the state kept inside a running DittoFS
// server — its stores, the operator's own account, users, groups, shares and
// share permissions — through the server's REST API, from the DittoServer,
// DittoShare and DittoUser objects. It is a plain informer/workqueue
// controller keyed by DittoServer, beside the one that runs the server.
package serverstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions/dittofs/v1alpha1"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
)

// PassTimeout bounds the REST calls of one pass over a server (each call
// is bounded too, by dfsapi.DefaultTimeout): a server that answers slowly
// cannot hold one of the workers, which every server shares, for longer.
// A pass cut short is retried with backoff and carries on from where the
// server is; a converged pass takes a few requests.
var PassTimeout = 2 * time.Minute

// Informers are the shared informers the controller reads. StatefulSets
// and Secrets (metadata only) are shared with the DittoServer controller.
type Informers struct {
	DittoServers dittoinformers.DittoServerInformer
	DittoShares  dittoinformers.DittoShareInformer
	DittoUsers   dittoinformers.DittoUserInformer
	StatefulSets appsinformers.StatefulSetInformer
	Secrets      informers.GenericInformer
	// Namespaces (metadata only) tell which namespaces a DittoServer's
	// spec.tenants.selector matches; nil when the operator watches one
	// namespace, where no other namespace can attach.
	Namespaces informers.GenericInformer
}

// Options tune the controller.
type Options struct {
	// Endpoints resolves each server's API URL.
	Endpoints *Endpoints
	// NewAPI builds a client of one server's API.
	NewAPI APIFactory
	// Metrics records passes and REST requests; nil disables them.
	Metrics *Metrics
	// UsageInterval is the least time between two writes of a share's
	// status.usage; DefaultUsageInterval when 0.
	UsageInterval time.Duration
}

// Controller converges the state inside DittoFS servers.
type Controller struct {
	kube  kubernetes.Interface
	ditto clientset.Interface

	dsLister     dittolisters.DittoServerLister
	shareLister  dittolisters.DittoShareLister
	userLister   dittolisters.DittoUserLister
	shareIndexer cache.Indexer
	userIndexer  cache.Indexer
	dsIndexer    cache.Indexer
	stsLister    appslisters.StatefulSetLister
	secretMeta   cache.GenericLister
	namespaces   cache.GenericLister
	synced       []cache.InformerSynced

	endpoints *Endpoints
	newAPI    APIFactory
	sessions  *sessions
	// transports verify the servers that serve their API over TLS.
	transports *transports
	ownStatus  *kit.OwnWrites
	metrics    *Metrics
	// usageInterval: see Options.UsageInterval.
	usageInterval time.Duration

	queue       workqueue.TypedRateLimitingInterface[cache.ObjectName]
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder

	// now is the clock, replaced in tests.
	now func() time.Time
}

// New builds the controller and registers its handlers and indexes on the
// informers; call it before the informers start.
func New(ctx context.Context, kube kubernetes.Interface, ditto clientset.Interface, inf Informers, opts Options) (*Controller, error) {
	if opts.NewAPI == nil || opts.Endpoints == nil {
		return nil, errors.New("serverstate: Options.NewAPI and Options.Endpoints are required")
	}
	utilruntime.Must(dittoscheme.AddToScheme(kubescheme.Scheme))
	// The broadcaster outlives ctx: events of passes that drain after a
	// stop signal are still sent; Run shuts it down when the workers are done.
	broadcaster := record.NewBroadcaster(record.WithContext(context.WithoutCancel(ctx)))
	c := &Controller{
		kube:          kube,
		ditto:         ditto,
		dsLister:      inf.DittoServers.Lister(),
		shareLister:   inf.DittoShares.Lister(),
		userLister:    inf.DittoUsers.Lister(),
		shareIndexer:  inf.DittoShares.Informer().GetIndexer(),
		userIndexer:   inf.DittoUsers.Informer().GetIndexer(),
		dsIndexer:     inf.DittoServers.Informer().GetIndexer(),
		stsLister:     inf.StatefulSets.Lister(),
		secretMeta:    inf.Secrets.Lister(),
		endpoints:     opts.Endpoints,
		newAPI:        opts.NewAPI,
		sessions:      newSessions(),
		transports:    newTransports(),
		ownStatus:     kit.NewOwnWrites(kit.DefaultOwnWritesTTL),
		metrics:       opts.Metrics,
		usageInterval: opts.UsageInterval,
		broadcaster:   broadcaster,
		recorder:      broadcaster.NewRecorder(kubescheme.Scheme, corev1.EventSource{Component: EventComponent}),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: ControllerName},
		),
		now: time.Now,
	}
	if c.usageInterval <= 0 {
		c.usageInterval = DefaultUsageInterval
	}
	opts.Metrics.watchShares(c.shareLister)
	if err := c.registerHandlers(inf); err != nil {
		return nil, err
	}
	c.synced = []cache.InformerSynced{
		inf.DittoServers.Informer().HasSynced,
		inf.DittoShares.Informer().HasSynced,
		inf.DittoUsers.Informer().HasSynced,
		inf.StatefulSets.Informer().HasSynced,
		inf.Secrets.Informer().HasSynced,
	}
	if inf.Namespaces != nil {
		c.namespaces = inf.Namespaces.Lister()
		c.synced = append(c.synced, inf.Namespaces.Informer().HasSynced)
	}
	return c, nil
}

// WaitForCacheSync waits for every informer the controller reads. The
// DittoShare and DittoUser informers start only once their CRDs are
// installed (the operator's crdwatch.Gate), so Run waits here until then.
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

// Run starts the event sink and the workers and blocks until ctx is done;
// then it stops taking work and lets in-flight passes finish for at most
// drainTimeout, on a context that ctx's cancellation does not reach
// (kit.RunWorkers).
func (c *Controller) Run(ctx context.Context, workers int, drainTimeout time.Duration) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithName("serverstate")
	ctx = klog.NewContext(ctx, logger)

	c.broadcaster.StartStructuredLogging(4)
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()

	if !c.WaitForCacheSync(ctx) {
		if ctx.Err() != nil {
			return nil // stopped while the caches synced: not a failure
		}
		return kit.StoppedOr(ctx, errors.New("serverstate: caches did not sync"))
	}
	logger.Info("Starting workers", "count", workers, "access", c.endpoints.Mode())
	kit.RunWorkers(ctx, c.queue, workers, drainTimeout, c.processItem)
	return nil
}

// errRequeue marks a pass that reported its problem in conditions and must
// look again with backoff: an unreachable or failing server, a deletion
// that waits for the server.
var errRequeue = errors.New("requeue with backoff")

// processItem runs one pass for a DittoServer. Errors requeue with per-item
// exponential backoff; success forgets the item's backoff.
func (c *Controller) processItem(ctx context.Context, key cache.ObjectName) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "dittoserver", key)
	ctx = klog.NewContext(ctx, logger)
	start := time.Now()
	err := c.sync(ctx, key)
	c.metrics.observePass(start, err)
	switch {
	case err == nil:
		c.queue.Forget(key)
	case errors.Is(err, errRequeue):
		logger.V(4).Info("Waiting on the server; requeued with backoff", "reason", err)
		c.queue.AddRateLimited(key)
	default:
		logger.Error(err, "Server state pass failed; requeued with backoff")
		c.queue.AddRateLimited(key)
	}
}

func (c *Controller) enqueue(key cache.ObjectName) { c.queue.Add(key) }

// requeueError wraps the reason of a backoff requeue.
func requeueError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRequeue, fmt.Sprintf(format, args...))
}
