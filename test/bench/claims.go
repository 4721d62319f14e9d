package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClaimsResult is what the servers' volumes cost the control plane: every
// claim is bound by the PV binder before the scheduler can place the pod,
// and the scheduler records a FailedScheduling Warning (then backs the pod
// off) each time it finds one of a pod's claims still unbound.
type ClaimsResult struct {
	// Claims are the PersistentVolumeClaims of the bench namespace.
	Claims          int     `json:"claims"`
	ClaimsPerServer float64 `json:"claimsPerServer"`
	// FailedScheduling counts the scheduler's FailedScheduling events over
	// the whole run (an event's repeats included).
	FailedScheduling int `json:"failedScheduling"`
}

// measureClaims counts the claims and the scheduler's FailedScheduling
// events in the bench namespace.
func measureClaims(ctx context.Context, e *env, n int, res *Result) error {
	pvcs, err := e.kube.CoreV1().PersistentVolumeClaims(benchNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list PersistentVolumeClaims: %w", err)
	}
	events, err := e.kube.CoreV1().Events(benchNamespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedScheduling"})
	if err != nil {
		return fmt.Errorf("list FailedScheduling events: %w", err)
	}
	r := &res.Claims
	r.Claims = len(pvcs.Items)
	r.ClaimsPerServer = round(float64(r.Claims)/float64(n), 2)
	for _, ev := range events.Items {
		r.FailedScheduling += eventCount(ev)
	}
	logf("claims: %d (%.2f per DittoServer); %d FailedScheduling events", r.Claims, r.ClaimsPerServer, r.FailedScheduling)
	return nil
}

// eventCount is how often an event happened: the scheduler writes
// events.k8s.io events, whose repeats are in the series count, while
// core/v1 recorders use count.
func eventCount(ev corev1.Event) int {
	c := int(ev.Count)
	if ev.Series != nil {
		c = max(c, int(ev.Series.Count))
	}
	return max(c, 1)
}
