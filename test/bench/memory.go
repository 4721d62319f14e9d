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
	if res.Memory.ConvergedRSSMiB, res.Memory.ConvergedHeapMiB, err = memory(ctx, e); err != nil {
		return err
	}
	res.Memory.ConvergedLiveHeapMiB = prof.liveHeap(ctx, e, "heap.pprof")
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
	if res.Memory.AfterUnrelatedRSSMiB, res.Memory.AfterUnrelatedHeap, err = memory(ctx, e); err != nil {
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

// memory reads the operator's RSS and Go heap in use memorySamples times, a
// second apart, and returns the median RSS and the lowest heap in use (the
// closest to the live heap: right after a collection), in MiB.
func memory(ctx context.Context, e *env) (rss, heap float64, err error) {
	var rssSamples []float64
	heap = -1
	for i := range memorySamples {
		if i > 0 {
			if err := sleepUntil(ctx, time.Now().Add(time.Second)); err != nil {
				return 0, 0, err
			}
		}
		r, err := e.op.RSS()
		if err != nil {
			return 0, 0, err
		}
		h, err := e.op.Metric("go_memstats_heap_inuse_bytes")
		if err != nil {
			return 0, 0, err
		}
		rssSamples = append(rssSamples, mib(r))
		if hm := mib(int64(h)); heap < 0 || hm < heap {
			heap = hm
		}
	}
	sort.Float64s(rssSamples)
	return rssSamples[len(rssSamples)/2], heap, nil
}
