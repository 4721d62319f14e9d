package main

import (
	"context"
	"sort"
	"time"
)

// memorySamples is how many times memory is read, a second apart, for one
// figure: a single reading depends on where the garbage collector and the
// informers' resync passes happen to be.
const memorySamples = 10

// measureMemory reads the operator's memory converged (and takes its heap
// profile, with --profile-dir), creates the unrelated
// ConfigMaps and Secrets, waits, and reads it again.
func measureMemory(ctx context.Context, cfg config, e *env, res *Result, prof *profiler) error {
	var err error
	if res.Memory.ConvergedRSSMiB, res.Memory.ConvergedHeapMiB, res.Memory.ConvergedLiveHeapMiB, err = memory(ctx, e); err != nil {
		return err
	}
	prof.heap(ctx, "heap.pprof")
	n := float64(cfg.n)
	res.Memory.HeapPerDSKiB = round((res.Memory.ConvergedHeapMiB-res.Memory.IdleHeapMiB)*1024/n, 1)
	if res.Memory.ConvergedLiveHeapMiB > 0 && res.Memory.IdleLiveHeapMiB > 0 {
		res.Memory.LiveHeapPerDSKiB = round((res.Memory.ConvergedLiveHeapMiB-res.Memory.IdleLiveHeapMiB)*1024/n, 1)
	}
	logf("Go heap per DittoServer: %.1f KiB in use (lowest reading), %.1f KiB live", res.Memory.HeapPerDSKiB, res.Memory.LiveHeapPerDSKiB)
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
	if res.Memory.AfterUnrelatedRSSMiB, res.Memory.AfterUnrelatedHeap, res.Memory.AfterUnrelatedLiveHeapMiB, err = memory(ctx, e); err != nil {
		return err
	}
	res.Memory.DeltaMiB = round(res.Memory.AfterUnrelatedRSSMiB-res.Memory.ConvergedRSSMiB, 1)
	if err := e.audit.poll(); err != nil {
		return err
	}
	res.Memory.RequestsDuring = countByKey(e.audit.requests(start, time.Now()))
	logf("RSS after the unrelated objects: %.1f MiB (%+.1f MiB)", res.Memory.AfterUnrelatedRSSMiB, res.Memory.DeltaMiB)
	return nil
}

// memory reads the operator's RSS and Go heap memorySamples times, a second
// apart, and returns in MiB the median RSS, the lowest heap in use (right
// after a collection, when a reading falls there) and the median live heap
// (go_gc_heap_live_bytes: what the live objects occupied at the last
// collection; 0 from an operator that does not serve it).
func memory(ctx context.Context, e *env) (rss, heap, live float64, err error) {
	var rssSamples, liveSamples []float64
	heap = -1
	for i := range memorySamples {
		if i > 0 {
			if err := sleepUntil(ctx, time.Now().Add(time.Second)); err != nil {
				return 0, 0, 0, err
			}
		}
		r, err := e.op.RSS()
		if err != nil {
			return 0, 0, 0, err
		}
		h, err := e.op.Metric("go_memstats_heap_inuse_bytes")
		if err != nil {
			return 0, 0, 0, err
		}
		l, err := e.op.Metric("go_gc_heap_live_bytes")
		if err != nil {
			return 0, 0, 0, err
		}
		rssSamples, liveSamples = append(rssSamples, mib(r)), append(liveSamples, mib(int64(l)))
		if hm := mib(int64(h)); heap < 0 || hm < heap {
			heap = hm
		}
	}
	sort.Float64s(rssSamples)
	sort.Float64s(liveSamples)
	return rssSamples[len(rssSamples)/2], heap, liveSamples[len(liveSamples)/2], nil
}
