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
	"k8s.io/apimachinery/pkg/watch"
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
	stsClient := e.kube.AppsV1().StatefulSets(benchNamespace)
	sts, err := stsClient.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	w, err := stsClient.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: sts.ResourceVersion,
	})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	seen := make(chan stsSeen, 64)
	go func() {
		defer close(seen)
		for ev := range w.ResultChan() {
			now := time.Now()
			if ev.Type != watch.Modified {
				continue
			}
			if s, ok := ev.Object.(*appsv1.StatefulSet); ok {
				seen <- stsSeen{s.Generation, now}
			}
		}
	}()

	dsClient := e.ditto.DittofsV1alpha1().DittoServers(benchNamespace)
	generation := sts.Generation
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
			case s, ok := <-seen:
				if !ok {
					return out, fmt.Errorf("edit %d: StatefulSet watch closed", i+1)
				}
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

// sortedCopy returns ds sorted.
func sortedCopy(ds []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
