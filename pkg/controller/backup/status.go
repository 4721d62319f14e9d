package backup

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// setReady sets Ready: True only with reason Succeeded.
func setReady(st *dittov1alpha1.DittoBackupStatus, gen int64, reason, msg string, now metav1.Time) {
	status := metav1.ConditionFalse
	if reason == ReasonSucceeded {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: dittov1alpha1.ConditionReady, Status: status,
		Reason: reason, Message: msg, ObservedGeneration: gen, LastTransitionTime: now})
}

// setCompleted marks the end of the backup.
func setCompleted(st *dittov1alpha1.DittoBackupStatus, gen int64, reason, msg string, now metav1.Time) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionCompleted, Status: metav1.ConditionTrue,
		Reason: reason, Message: msg, ObservedGeneration: gen, LastTransitionTime: now})
}

// writeStatus writes the status when it changed, and marks the change of
// the Ready reason with one event: a Warning for a problem, Normal otherwise.
// It returns the backup as written (b when nothing changed).
func (c *Controller) writeStatus(ctx context.Context, b *dittov1alpha1.DittoBackup, next *dittov1alpha1.DittoBackupStatus) (*dittov1alpha1.DittoBackup, error) {
	if equality.Semantic.DeepEqual(&b.Status, next) {
		return b, nil
	}
	nb := b.DeepCopy()
	nb.Status = *next
	written, err := c.ditto.DittofsV1alpha1().DittoBackups(b.Namespace).UpdateStatus(ctx, nb, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update DittoBackup status: %w", err)
	}
	c.wrote(b)
	before := meta.FindStatusCondition(b.Status.Conditions, dittov1alpha1.ConditionReady)
	after := meta.FindStatusCondition(next.Conditions, dittov1alpha1.ConditionReady)
	if after != nil && (before == nil || before.Reason != after.Reason) {
		kind := corev1.EventTypeNormal
		if warningReasons[after.Reason] {
			kind = corev1.EventTypeWarning
		}
		c.recorder.Event(b, kind, after.Reason, after.Message)
	}
	return written, nil
}

// backupKey names a DittoBackup in the controller's read-your-writes memory.
func backupKey(b *dittov1alpha1.DittoBackup) kit.ObjectKey {
	return kit.ObjectKey{Kind: "DittoBackup", Namespace: b.Namespace, Name: b.Name}
}

// wrote records that a write replaced b's cached version: until the cache
// shows another, a pass would act on a stale backup (Behind).
func (c *Controller) wrote(b *dittov1alpha1.DittoBackup) {
	c.own.Record(cache.ObjectName{Namespace: b.Namespace, Name: b.Name}, backupKey(b), b.ResourceVersion)
}
