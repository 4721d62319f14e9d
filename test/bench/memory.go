package main

import (
	"context"
	"sort"
	"time"

	"github.com/dittofs/dittofs-operator/test/operator"
)

// memorySamples is how many times memory is read, a second apart, for one
// figure: a single reading depends on where the garbage collector and the
// informers' resync passes happen to be.
const memorySamples = 10

// measureMemory reads the operator's memory converged (and takes its heap
// profile, with --profile-dir), creates the unrelated
// ConfigMaps and Secrets, waits, and reads it again.
func measureMemory(ctx context.Context, cfg config, e *env, res *Result, prof *profiler) error {
	m, err := memory(ctx, e, cfg.gcWait)
	if err != nil {
		return err
	}
	res.Memory.ConvergedRSSMiB, res.Memory.ConvergedHeapMiB, res.Memory.ConvergedLiveHeapMiB, res.Memory.ConvergedHeapAfterGCMiB =
		m.rss, m.heap, m.live, m.heapAfterGC
	prof.heap(ctx, "heap.pprof")
	n := float64(cfg.n)
	perDS := func(converged, idle float64) float64 {
		if converged <= 0 || idle <= 0 {
			return 0
		}
		return round((converged-idle)*1024/n, 1)
	}
	res.Memory.HeapPerDSKiB = perDS(res.Memory.ConvergedHeapMiB, res.Memory.IdleHeapMiB)
	res.Memory.LiveHeapPerDSKiB = perDS(res.Memory.ConvergedLiveHeapMiB, res.Memory.IdleLiveHeapMiB)
	res.Memory.HeapAfterGCPerDSKiB = perDS(res.Memory.ConvergedHeapAfterGCMiB, res.Memory.IdleHeapAfterGCMiB)
	logf("Go heap per DittoServer: %.1f KiB in use right after a collection, %.1f KiB in use (lowest reading), %.1f KiB live",
		res.Memory.HeapAfterGCPerDSKiB, res.Memory.HeapPerDSKiB, res.Memory.LiveHeapPerDSKiB)
	res.Memory.UnrelatedObjects, res.Memory.UnrelatedBytes = 2*cfg.unrelated, cfg.unrelatedSize
	logf("RSS converged: %.1f MiB; creating %d ConfigMaps and %d Secrets of %d bytes", res.Memory.ConvergedRSSMiB,
		cfg.unrelated, cfg.unrelated, cfg.unrelatedSize)

	start := time.Now()
	if err := createUnrelated(ctx, e.kube, cfg.unrelated, cfg.unrelatedSize); err != nil {
		return err
	}
	logf("created them in %s; waiting %s", time.Since(start).Round(time.Millisecond), cfg.unrelatedWait)
	// The samples take the last seconds of the wait.
	if err := sleepUntil(ctx, time.Now().Add(cfg.unrelatedWait-(memorySamples-1)*time.Second)); err != nil {
		return err
	}
	if m, err = memory(ctx, e, cfg.gcWait); err != nil {
		return err
	}
	res.Memory.AfterUnrelatedRSSMiB, res.Memory.AfterUnrelatedHeap, res.Memory.AfterUnrelatedLiveHeapMiB, res.Memory.AfterUnrelatedHeapAfterGCMiB =
		m.rss, m.heap, m.live, m.heapAfterGC
	res.Memory.DeltaMiB = round(res.Memory.AfterUnrelatedRSSMiB-res.Memory.ConvergedRSSMiB, 1)
	if err := e.audit.poll(); err != nil {
		return err
	}
	res.Memory.RequestsDuring = countByKey(e.audit.requests(start, time.Now()))
	logf("RSS after the unrelated objects: %.1f MiB (%+.1f MiB)", res.Memory.AfterUnrelatedRSSMiB, res.Memory.DeltaMiB)
	return nil
}

// memory reads the operator's RSS and Go heap memorySamples times, a second
// apart, and returns in MiB the median RSS, the lowest heap in use, and the
// median live heap (go_gc_heap_live_bytes: what the live objects occupied at
// the last collection; 0 from an operator that does not serve it). Then it
// waits, up to gcWait, for the next collection and returns the heap in use
// right after it (heapAfterGC; -1 when none came).
func memory(ctx context.Context, e *env, gcWait time.Duration) (m memoryReading, err error) {
	var rssSamples, liveSamples []float64
	m.heap = -1
	for i := range memorySamples {
		if i > 0 {
			if err := sleepUntil(ctx, time.Now().Add(time.Second)); err != nil {
				return m, err
			}
		}
		r, err := e.op.RSS()
		if err != nil {
			return m, err
		}
		body, err := e.op.Scrape()
		if err != nil {
			return m, err
		}
		h, l := operator.MetricValue(body, "go_memstats_heap_inuse_bytes"), operator.MetricValue(body, "go_gc_heap_live_bytes")
		rssSamples, liveSamples = append(rssSamples, mib(r)), append(liveSamples, mib(int64(l)))
		if hm := mib(int64(h)); m.heap < 0 || hm < m.heap {
			m.heap = hm
		}
	}
	sort.Float64s(rssSamples)
	sort.Float64s(liveSamples)
	m.rss, m.live = rssSamples[len(rssSamples)/2], liveSamples[len(liveSamples)/2]
	m.heapAfterGC, err = heapAfterGC(ctx, e, gcWait)
	return m, err
}

type memoryReading struct {
	rss, heap, live, heapAfterGC float64
}

// gcPoll is how often heapAfterGC reads the metrics: the heap it reports is
// at most this much older than the collection.
const gcPoll = 100 * time.Millisecond

// heapAfterGC waits up to wait for the operator's next garbage collection
// and returns, in MiB, the heap in use the first scrape after it shows: the
// objects the operator holds, without the garbage of its latest passes, and
// without depending on where in the collector's cycle a reading falls. An
// idle Go program collects at least every two minutes. -1 when no
// collection came within wait.
func heapAfterGC(ctx context.Context, e *env, wait time.Duration) (float64, error) {
	body, err := e.op.Scrape()
	if err != nil {
		return 0, err
	}
	cycles := operator.MetricValue(body, "go_gc_duration_seconds_count")
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if err := sleepUntil(ctx, time.Now().Add(gcPoll)); err != nil {
			return 0, err
		}
		if body, err = e.op.Scrape(); err != nil {
			return 0, err
		}
		if operator.MetricValue(body, "go_gc_duration_seconds_count") > cycles {
			return mib(int64(operator.MetricValue(body, "go_memstats_heap_inuse_bytes"))), nil
		}
	}
	return -1, nil
}
