package backup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// sync reads like a backup's life:
//
//	deleted -> release the hold, drop the finalizer
//	finished (Completed/Failed) -> nothing (a leftover hold is released)
//	Pending -> snapshot CRDs, server, StatefulSet, class, no other backup holding the server
//	Running -> layout and credentials recorded -> hold (server stopped) ->
//	           snapshots created -> every snapshot cut -> hold released ->
//	           server Ready again (pause measured) -> every snapshot ready -> Completed
//
// Any snapshot error, a lost server or a hold longer than HoldTimeout ends
// in Failed with the hold released. Every step is read back from the status
// and the objects, so a restarted operator resumes where it stopped.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	b, err := c.backups.DittoBackups(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.own.Behind(key, backupKey(b), b.ResourceVersion) {
		return kit.ErrCacheBehind
	}
	if b.DeletionTimestamp != nil {
		return c.finalize(ctx, b)
	}
	if finished(b) {
		c.metrics.seen(b.Namespace, b.Spec.Server.Name, &b.Status)
		return c.releaseHold(ctx, b)
	}
	if b.Status.Phase == dittov1alpha1.BackupRunning && !slices.Contains(b.Finalizers, dittov1alpha1.BackupHoldFinalizer) {
		// Before the server is held: whatever happens to the backup
		// then, its finalizer starts the server again.
		return c.addFinalizer(ctx, b)
	}
	next := b.Status.DeepCopy()
	next.ObservedGeneration = b.Generation
	step := c.run(ctx, b, next)
	written, err := c.writeStatus(ctx, b, next)
	if err != nil {
		return err
	}
	if finishedPhase(next.Phase) {
		c.metrics.observe(b, next)
		return c.releaseHold(ctx, written)
	}
	return step
}

// run advances the backup by as many steps as the cluster allows and
// returns what it waits for.
func (c *Controller) run(ctx context.Context, b *dittov1alpha1.DittoBackup, next *dittov1alpha1.DittoBackupStatus) error {
	if next.Phase == "" || next.Phase == dittov1alpha1.BackupPending {
		// Started or not, the pass ends here: the status says Running
		// before the backup touches the server.
		return c.start(ctx, b, next)
	}
	if !c.snapSynced() {
		return kit.Waitf("the VolumeSnapshot caches are syncing")
	}
	ds, err := c.servers.DittoServers(b.Namespace).Get(b.Spec.Server.Name)
	if err != nil {
		c.fail(next, ReasonServerNotFound, fmt.Sprintf("DittoServer %s was deleted during the backup", b.Spec.Server.Name))
		return nil
	}
	if next.CredentialsSecretName == "" {
		if err := c.ensureCredentials(ctx, b, ds); err != nil {
			return err
		}
		next.CredentialsSecretName = credentialsSecretName(b)
	}
	if next.Consistency.CutAt == nil {
		// The cut is recorded before the server starts again (the next
		// pass): a pass that lost it would stop the server once more.
		return c.cut(ctx, b, ds, next)
	}
	if err := c.releaseServer(ctx, b); err != nil {
		return err
	}
	if err := c.waitResumed(b, ds, next); err != nil {
		return err
	}
	return c.waitReady(b, next)
}

// start leaves Pending once everything the backup needs is there.
func (c *Controller) start(ctx context.Context, b *dittov1alpha1.DittoBackup, next *dittov1alpha1.DittoBackupStatus) error {
	next.Phase = dittov1alpha1.BackupPending
	if missing := c.crdsGone(); len(missing) > 0 {
		return c.pending(next, ReasonSnapshotCRDsNotInstalled, fmt.Sprintf(
			"the snapshot CRDs %s are not installed: install the CSI snapshot CRDs and snapshot-controller (external-snapshotter)", strings.Join(missing, ", ")))
	}
	if !c.snapSynced() {
		return kit.Waitf("the VolumeSnapshot caches are syncing")
	}
	ds, err := c.servers.DittoServers(b.Namespace).Get(b.Spec.Server.Name)
	if err != nil {
		return c.pending(next, ReasonServerNotFound, fmt.Sprintf("DittoServer %s not found in namespace %s (spec.server.name)", b.Spec.Server.Name, b.Namespace))
	}
	sts, err := c.sts.StatefulSets(b.Namespace).Get(resources.StatefulSetName(ds))
	if err != nil {
		return c.pending(next, ReasonServerNotReady, fmt.Sprintf("DittoServer %s has no StatefulSet yet", ds.Name))
	}
	class, reason, msg := c.resolveClass(b, ds, sts)
	if class == "" {
		return c.pending(next, reason, msg)
	}
	if holder := ds.Annotations[dittov1alpha1.BackupHoldAnnotation]; holder != "" && holder != b.Name {
		return c.pending(next, ReasonServerBusy, fmt.Sprintf("DittoBackup %s is backing up DittoServer %s", holder, ds.Name))
	}
	now := metav1.NewTime(c.now())
	next.Phase, next.StartedAt, next.VolumeSnapshotClassName = dittov1alpha1.BackupRunning, &now, class
	next.Image = resources.Image(ds)
	next.ServerVersion = imageVersion(next.Image)
	next.Layout = layoutOf(sts)
	next.Consistency = &dittov1alpha1.BackupConsistency{Method: dittov1alpha1.BackupMethodOffline}
	for _, t := range next.Layout.Claims {
		next.Snapshots = append(next.Snapshots, dittov1alpha1.BackupSnapshot{
			Claim: t.Name, PersistentVolumeClaimName: claimName(t.Name, sts), VolumeSnapshotName: snapshotName(b, t.Name)})
	}
	setReady(next, b.Generation, ReasonBackupRunning, "the server is being stopped and its volumes snapshotted", now)
	return nil
}

// pending keeps the backup Pending with a reason and waits.
func (c *Controller) pending(next *dittov1alpha1.DittoBackupStatus, reason, msg string) error {
	setReady(next, next.ObservedGeneration, reason, msg, metav1.NewTime(c.now()))
	return kit.Waitf("%s", msg)
}

// fail ends the backup: Failed, with the reason and message.
func (c *Controller) fail(next *dittov1alpha1.DittoBackupStatus, reason, msg string) {
	now := metav1.NewTime(c.now())
	next.Phase, next.CompletedAt = dittov1alpha1.BackupFailed, &now
	if next.Consistency != nil {
		next.Consistency.Consistent = false
	}
	setReady(next, next.ObservedGeneration, reason, msg, now)
	setCompleted(next, next.ObservedGeneration, ReasonFailed, msg, now)
}

func finished(b *dittov1alpha1.DittoBackup) bool { return finishedPhase(b.Status.Phase) }

func finishedPhase(p dittov1alpha1.BackupPhase) bool {
	return p == dittov1alpha1.BackupCompleted || p == dittov1alpha1.BackupFailed
}
