package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// serverBackups are the DittoBackups of ds (they live in its namespace),
// newest first.
func serverBackups(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) ([]dittov1alpha1.DittoBackup, error) {
	list, err := e.ditto.DittofsV1alpha1().DittoBackups(ds.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list DittoBackups: %w", err)
	}
	var out []dittov1alpha1.DittoBackup
	for _, b := range list.Items {
		if b.Spec.Server.Name == ds.Name {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b dittov1alpha1.DittoBackup) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// serverSchedules are the DittoScheduledBackups of ds, by name.
func serverSchedules(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) ([]dittov1alpha1.DittoScheduledBackup, error) {
	list, err := e.ditto.DittofsV1alpha1().DittoScheduledBackups(ds.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list DittoScheduledBackups: %w", err)
	}
	var out []dittov1alpha1.DittoScheduledBackup
	for _, s := range list.Items {
		if s.Spec.Server.Name == ds.Name {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b dittov1alpha1.DittoScheduledBackup) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// gatherBackups fills in the server's backups and schedules. A user who may
// not list them, or a cluster without the backup CRDs, still gets the rest of
// status: the reason is returned instead.
func gatherBackups(ctx context.Context, e *env, v *serverView) (string, error) {
	var err error
	if v.backups, err = serverBackups(ctx, e, v.server); err == nil {
		v.schedules, err = serverSchedules(ctx, e, v.server)
	}
	switch {
	case apierrors.IsForbidden(err):
		return "you may not list DittoBackups or DittoScheduledBackups here", nil
	case apierrors.IsNotFound(err):
		return "the backup CRDs are not installed", nil
	}
	return "", err
}

// pauseOf is how long the backup held the clients' I/O, "-" before it is known.
func pauseOf(b *dittov1alpha1.DittoBackup) string {
	if b.Status.Consistency == nil || b.Status.Consistency.Pause == nil {
		return "-"
	}
	return b.Status.Consistency.Pause.Duration.String()
}

// usageOf is the share's used size against its quota, as the server last
// reported it: "used/quota", "used" without a quota, "-" before a report.
func usageOf(s *dittov1alpha1.DittoShare) string {
	u := s.Status.Usage
	if u == nil {
		return "-"
	}
	used := resource.NewQuantity(u.UsedBytes, resource.BinarySI).String()
	if u.QuotaBytes == 0 {
		return used
	}
	return used + "/" + resource.NewQuantity(u.QuotaBytes, resource.BinarySI).String()
}

// claimOf is the claim pods mount the share by: the one the operator made
// (with its phase), else the one spec.volume asks for, "-" without spec.volume.
func claimOf(s *dittov1alpha1.DittoShare) string {
	if v := s.Status.Volume; v != nil && v.ClaimName != "" {
		return v.ClaimName + " (" + orDash(v.Phase) + ")"
	}
	if s.Spec.Volume != nil {
		return s.Spec.Volume.ClaimName + " (not made yet)"
	}
	return "-"
}
