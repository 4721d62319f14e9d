package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// stsSeen is a StatefulSet generation observed on the watch, and when.
type stsSeen struct {
	generation int64
	at         time.Time
}

// measureEditLatency edits spec.shutdownTimeout of one DittoServer edits
// times and, for each, measures the time from the edit's response to the
// watch event that shows its StatefulSet with a new generation (the operator
// rewrote the pod template: the config hash annotation changed).
func measureEditLatency(ctx context.Context, e *env, name string, edits int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen, generation, err := watchGenerations(ctx, e.kube, name)
	if err != nil {
		return nil, err
	}

	dsClient := e.ditto.DittofsV1alpha1().DittoServers(benchNamespace)
	var out []time.Duration
	for i := range edits {
		// 31s, 32s, …: each edit changes config.yaml, hence the template.
		patch := fmt.Sprintf(`{"spec":{"shutdownTimeout":"%ds"}}`, 31+i)
		if _, err := dsClient.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return out, fmt.Errorf("edit %d: %w", i+1, err)
		}
		responded := time.Now()
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case s := <-seen:
				if s.generation > generation {
					generation = s.generation
					// The event can beat our own response by a hair.
					out = append(out, max(s.at.Sub(responded), 0))
					break wait
				}
			case <-timeout:
				return out, fmt.Errorf("edit %d: StatefulSet %s not updated within 30s", i+1, name)
			case <-ctx.Done():
				return out, ctx.Err()
			}
		}
		// Let the rollout the edit started move on before the next one.
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	return out, nil
}

// watchGenerations reports each generation of StatefulSet name after the
// current one, with when it was seen, and returns the current generation.
// It is an informer over that one StatefulSet: when the API server closes
// its watch (it does, under load, after a timeout), the reflector watches
// again from the last resourceVersion, or lists again if that is too old,
// and an update it missed comes as an update on the re-list.
func watchGenerations(ctx context.Context, kube kubernetes.Interface, name string) (<-chan stsSeen, int64, error) {
	inf := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithNamespace(benchNamespace),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		})).Apps().V1().StatefulSets()
	seen := make(chan stsSeen, 64)
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			now := time.Now()
			o, ok1 := old.(*appsv1.StatefulSet)
			s, ok2 := obj.(*appsv1.StatefulSet)
			if ok1 && ok2 && s.Generation != o.Generation {
				select {
				case seen <- stsSeen{s.Generation, now}:
				case <-ctx.Done():
				}
			}
		},
	}); err != nil {
		return nil, 0, err
	}
	go inf.Informer().RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return nil, 0, fmt.Errorf("watch StatefulSet %s: %w", name, ctx.Err())
	}
	sts, err := inf.Lister().StatefulSets(benchNamespace).Get(name)
	if err != nil {
		return nil, 0, fmt.Errorf("StatefulSet %s: %w", name, err)
	}
	return seen, sts.Generation, nil
}

// sortedCopy returns ds sorted.
func sortedCopy(ds []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
