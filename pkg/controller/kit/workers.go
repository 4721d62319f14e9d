package kit

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// RunWorkers runs a controller's workers until ctx is done, then drains them.
//
// The workers do not run on ctx: they run on a context detached from it, so
// that a sync in flight when the operator is told to stop (SIGTERM) can
// still make its API calls and finish. When ctx is done the queue shuts
// down, so no new item starts; the workers then have drainTimeout to finish
// what they are doing. Only when that time runs out is their context
// cancelled, which makes their remaining calls fail at once; RunWorkers then
// returns without waiting for them. It reports whether the workers drained
// within drainTimeout.
func RunWorkers[T comparable](ctx context.Context, queue workqueue.TypedInterface[T], workers int,
	drainTimeout time.Duration, process func(context.Context, T)) bool {
	logger := klog.FromContext(ctx)
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ProcessNext(workCtx, ctx.Done(), queue, process) {
			}
		})
	}
	<-ctx.Done()

	logger.Info("Shutting down workers", "drainTimeout", drainTimeout)
	drained := make(chan struct{})
	go func() { queue.ShutDownWithDrain(); wg.Wait(); close(drained) }()
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
		logger.Info("Workers stopped")
		return true
	case <-timer.C:
		cancelWork()
		queue.ShutDown()
		logger.Info("Drain timeout reached; in-flight syncs cancelled")
		return false
	}
}

// ProcessNext takes the next item off queue and processes it on ctx. It
// returns false once the queue has shut down and is empty. An item taken
// after stop is closed is marked done without being processed: the queue
// keeps handing out what it held when it shut down, and after a stop signal
// no new sync starts (another replica, or this one restarted, lists every
// object again). A nil stop never stops.
func ProcessNext[T comparable](ctx context.Context, stop <-chan struct{}, queue workqueue.TypedInterface[T],
	process func(context.Context, T)) bool {
	item, shutdown := queue.Get()
	if shutdown {
		return false
	}
	defer queue.Done(item)
	select {
	case <-stop:
		return true
	default:
	}
	process(ctx, item)
	return true
}

// StoppedOr is err unless ctx is done: caches that had not synced when the
// operator was asked to stop (a CRD still missing) are a clean stop.
func StoppedOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
