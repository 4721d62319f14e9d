package kit

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// After the stop signal the item in flight keeps a live context until it
// returns, the items still queued are not processed, and RunWorkers reports
// a complete drain.
func TestRunWorkersDrainsInFlightItemOnly(t *testing.T) {
	queue := workqueue.NewTyped[string]()
	queue.Add("first")
	ctx, stop := context.WithCancel(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	seen := make(chan string, 2)
	liveAfterStop := make(chan bool, 1)
	result := make(chan bool, 1)
	go func() {
		result <- RunWorkers(ctx, queue, 1, time.Minute, func(workCtx context.Context, item string) {
			seen <- item
			if item == "first" {
				close(started)
				<-release
				liveAfterStop <- workCtx.Err() == nil
			}
		})
	}()
	<-started
	queue.Add("second")
	stop()
	close(release)
	select {
	case drained := <-result:
		if !drained {
			t.Error("RunWorkers reported a drain cut short, want complete")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorkers did not return")
	}
	if !<-liveAfterStop {
		t.Error("the in-flight item's context was cancelled by the stop signal")
	}
	close(seen)
	var items []string
	for item := range seen {
		items = append(items, item)
	}
	if len(items) != 1 || items[0] != "first" {
		t.Errorf("processed %q, want only the item in flight at the stop signal", items)
	}
}

// An item that outlasts the drain timeout has its context cancelled, and
// RunWorkers returns at the timeout without waiting for it.
func TestRunWorkersDrainIsBounded(t *testing.T) {
	queue := workqueue.NewTyped[string]()
	queue.Add("stuck")
	ctx, stop := context.WithCancel(context.Background())
	started := make(chan struct{})
	cancelled := make(chan struct{})
	result := make(chan bool, 1)
	const drainTimeout = 100 * time.Millisecond
	go func() {
		result <- RunWorkers(ctx, queue, 1, drainTimeout, func(workCtx context.Context, _ string) {
			close(started)
			<-workCtx.Done()
			close(cancelled)
		})
	}()
	<-started
	stop()
	begin := time.Now()
	select {
	case drained := <-result:
		if drained {
			t.Error("RunWorkers reported a complete drain, want cut short")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorkers did not return at the drain timeout")
	}
	if took := time.Since(begin); took < drainTimeout {
		t.Errorf("RunWorkers returned %v after the stop signal, before the drain timeout", took)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck item's context was never cancelled")
	}
}
