package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
)

// convergence watches the DittoServers and StatefulSets of the bench
// namespace (two watches, no polling) and records when each DittoServer
// first has its StatefulSet and a status with observedGeneration equal to
// its generation and phase Running. On the way it records two milestones
// that split the time between the operator and the rest of the control
// plane: when the StatefulSet appeared (the operator's first pass is done)
// and when it was first available (the StatefulSet controller, the PV
// binder, the scheduler and kwok are done; the operator's status write
// follows). It also records when each DittoServer first showed a status
// (what `kubectl get ditto` shows once the operator has acted).
type convergence struct {
	want      int
	dsLister  dittolisters.DittoServerLister
	stsLister appslisters.StatefulSetLister
	synced    []cache.InformerSynced

	trace *statusTracer

	mu    sync.Mutex
	start time.Time
	at    map[string]time.Time
	done  chan struct{}
	// stsCreated and stsAvailable are the milestones, by DittoServer name;
	// firstStatus is when each first had a phase.
	stsCreated, stsAvailable, firstStatus map[string]time.Time
}

func newConvergence(ctx context.Context, kube kubernetes.Interface, ditto clientset.Interface, want int, trace string) (*convergence, error) {
	df := dittoinformers.NewSharedInformerFactoryWithOptions(ditto, 0, dittoinformers.WithNamespace(benchNamespace))
	kf := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithNamespace(benchNamespace))
	dsInf := df.Dittofs().V1alpha1().DittoServers()
	stsInf := kf.Apps().V1().StatefulSets()
	c := &convergence{
		want: want, dsLister: dsInf.Lister(), stsLister: stsInf.Lister(),
		synced: []cache.InformerSynced{dsInf.Informer().HasSynced, stsInf.Informer().HasSynced},
		at:     map[string]time.Time{}, done: make(chan struct{}),
		stsCreated: map[string]time.Time{}, stsAvailable: map[string]time.Time{}, firstStatus: map[string]time.Time{},
	}
	if trace != "" {
		c.trace = &statusTracer{name: trace, start: c.startTime}
	}
	if _, err := dsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.checkServer(obj) },
		UpdateFunc: func(old, obj any) { c.trace.observe(old, obj); c.checkServer(obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := stsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.checkStatefulSet(obj) },
		UpdateFunc: func(_, obj any) { c.checkStatefulSet(obj) },
	}); err != nil {
		return nil, err
	}
	df.Start(ctx.Done())
	kf.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil, fmt.Errorf("benchmark caches did not sync: %w", ctx.Err())
	}
	return c, nil
}

func (c *convergence) checkServer(obj any) {
	ds, ok := obj.(*dittov1alpha1.DittoServer)
	if !ok {
		return
	}
	now := time.Now()
	if ds.Status.Phase != "" {
		c.mu.Lock()
		if _, seen := c.firstStatus[ds.Name]; !seen {
			c.firstStatus[ds.Name] = now
		}
		c.mu.Unlock()
	}
	if ds.Status.ObservedGeneration != ds.Generation || ds.Status.Phase != dittov1alpha1.PhaseRunning {
		return
	}
	sts, err := c.stsLister.StatefulSets(ds.Namespace).Get(ds.Name)
	if err != nil || !ownedBy(sts, ds) {
		return
	}
	c.record(ds.Name, now)
}

func (c *convergence) checkStatefulSet(obj any) {
	sts, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(sts)
	if ref == nil || ref.Kind != "DittoServer" {
		return
	}
	now := time.Now()
	c.mu.Lock()
	if _, seen := c.stsCreated[ref.Name]; !seen {
		c.stsCreated[ref.Name] = now
	}
	if _, seen := c.stsAvailable[ref.Name]; !seen && sts.Status.ObservedGeneration == sts.Generation && sts.Status.AvailableReplicas >= 1 {
		c.stsAvailable[ref.Name] = now
	}
	c.mu.Unlock()
	if ds, err := c.dsLister.DittoServers(sts.Namespace).Get(ref.Name); err == nil {
		c.checkServer(ds)
	}
}

func ownedBy(sts *appsv1.StatefulSet, ds *dittov1alpha1.DittoServer) bool {
	ref := metav1.GetControllerOf(sts)
	return ref != nil && ref.UID == ds.UID
}

func (c *convergence) record(name string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.at[name]; seen {
		return
	}
	c.at[name] = t
	if len(c.at) == c.want {
		close(c.done)
	}
}

// setStart marks the first create, from which traces are timed.
func (c *convergence) setStart(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start = t
}

func (c *convergence) startTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start
}

func (c *convergence) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.at)
}

// wait blocks until every DittoServer converged, logging progress.
func (c *convergence) wait(ctx context.Context, since time.Time) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%d/%d DittoServers converged: %w", c.count(), c.want, ctx.Err())
		case <-tick.C:
			logf("%d/%d DittoServers converged after %s", c.count(), c.want, time.Since(since).Round(time.Second))
		}
	}
}

// durations returns, sorted, how long after start each DittoServer converged.
func (c *convergence) durations(start time.Time) []time.Duration { return c.since(c.at, start) }

// since returns, sorted, how long after start each time in m came.
func (c *convergence) since(m map[string]time.Time, start time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(m))
	for _, t := range m {
		out = append(out, t.Sub(start))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// median of sorted durations.
func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	default:
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
}
