package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// maxWarnings is how many recent Warning events status shows.
const maxWarnings = 10

// involved names an object events may be about.
type involved struct{ kind, namespace, name string }

// warnings are the most recent Warning events about the objects, newest
// first. Events are listed per namespace, with the type filtered by the API
// server and again here (fake clients ignore field selectors).
func warnings(ctx context.Context, e *env, objs []involved) ([]corev1.Event, error) {
	want := map[involved]bool{}
	var namespaces []string
	for _, o := range objs {
		want[o] = true
		if !slices.Contains(namespaces, o.namespace) {
			namespaces = append(namespaces, o.namespace)
		}
	}
	sel := fields.OneTermEqualSelector("type", corev1.EventTypeWarning).String()
	var out []corev1.Event
	for _, ns := range namespaces {
		list, err := e.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list events in %s: %w", ns, err)
		}
		for _, ev := range list.Items {
			ref := ev.InvolvedObject
			if ev.Type == corev1.EventTypeWarning && want[involved{ref.Kind, ref.Namespace, ref.Name}] {
				out = append(out, ev)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return lastSeen(b).Compare(lastSeen(a)) })
	if len(out) > maxWarnings {
		out = out[:maxWarnings]
	}
	return out, nil
}

// lastSeen is when an event last happened, from whichever field its
// recorder set.
func lastSeen(ev corev1.Event) time.Time {
	switch {
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		return ev.Series.LastObservedTime.Time
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
