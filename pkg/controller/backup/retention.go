package backup

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// toPrune are the backups retention removes: beyond the newest keep, or
// older than maxAge. Never the newest Completed backup, never an unfinished one.
func toPrune(r *dittov1alpha1.BackupRetention, backups []*dittov1alpha1.DittoBackup, now time.Time) []*dittov1alpha1.DittoBackup {
	if r == nil {
		return nil
	}
	sorted := slices.Clone(backups)
	slices.SortFunc(sorted, func(a, b *dittov1alpha1.DittoBackup) int {
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	newestCompleted := slices.IndexFunc(sorted, func(b *dittov1alpha1.DittoBackup) bool {
		return b.Status.Phase == dittov1alpha1.BackupCompleted
	})
	var out []*dittov1alpha1.DittoBackup
	for i, b := range sorted {
		if i == newestCompleted || !finished(b) || b.DeletionTimestamp != nil {
			continue
		}
		beyondKeep := r.Keep != nil && i >= int(*r.Keep)
		tooOld := r.MaxAge != nil && now.Sub(b.CreationTimestamp.Time) > r.MaxAge.Duration
		if beyondKeep || tooOld {
			out = append(out, b)
		}
	}
	return out
}

// prune deletes what retention removes, with one event each.
func (s *Scheduler) prune(ctx context.Context, sb *dittov1alpha1.DittoScheduledBackup, backups []*dittov1alpha1.DittoBackup, now time.Time) error {
	for _, b := range toPrune(sb.Spec.Retention, backups, now) {
		err := s.ditto.DittofsV1alpha1().DittoBackups(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &b.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("prune DittoBackup %s: %w", b.Name, err)
		}
		s.recorder.Eventf(sb, corev1.EventTypeNormal, ReasonBackupPruned, "Deleted DittoBackup %s (spec.retention)", b.Name)
	}
	return nil
}

// lastSuccess is when the newest Completed backup completed.
func lastSuccess(backups []*dittov1alpha1.DittoBackup) *metav1.Time {
	var last *metav1.Time
	for _, b := range backups {
		if b.Status.Phase == dittov1alpha1.BackupCompleted && b.Status.CompletedAt != nil &&
			(last == nil || b.Status.CompletedAt.After(last.Time)) {
			last = b.Status.CompletedAt.DeepCopy()
		}
	}
	return last
}
