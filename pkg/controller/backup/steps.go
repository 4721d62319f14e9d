package backup

import (
	"context"
	"fmt"
	"slices"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// resolveClass picks the VolumeSnapshotClass: the backup's, the server's
// spec.backup default, or the default class of the claims' CSI driver.
func (c *Controller) resolveClass(b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer, sts *appsv1.StatefulSet) (class, reason, msg string) {
	name, field := b.Spec.VolumeSnapshotClassName, "spec.volumeSnapshotClassName"
	if name == "" && ds.Spec.Backup != nil {
		name, field = ds.Spec.Backup.VolumeSnapshotClassName, "spec.backup.volumeSnapshotClassName of DittoServer "+ds.Name
	}
	if name != "" {
		if _, err := c.snapCls.Get(name); err != nil {
			return "", ReasonClassNotFound, fmt.Sprintf("VolumeSnapshotClass %s (%s) not found", name, field)
		}
		return name, "", ""
	}
	driver := c.claimDriver(layoutOf(sts))
	if driver == "" {
		return "", ReasonClassNotFound, "no spec.volumeSnapshotClassName and the CSI driver of the server's claims is unknown (no StorageClass)"
	}
	list, _ := c.snapCls.List(everything)
	for _, cls := range list {
		if cls.Driver == driver && cls.Annotations[defaultClassAnnotation] == "true" {
			return cls.Name, "", ""
		}
	}
	return "", ReasonClassNotFound, fmt.Sprintf("no spec.volumeSnapshotClassName and no default VolumeSnapshotClass for CSI driver %s", driver)
}

// claimDriver is the provisioner of the claims' StorageClass (or of the
// cluster's default one).
func (c *Controller) claimDriver(l *dittov1alpha1.BackupLayout) string {
	if l.StorageClassName != nil {
		if sc, err := c.classes.Get(*l.StorageClassName); err == nil {
			return sc.Provisioner
		}
		return ""
	}
	list, _ := c.classes.List(everything)
	for _, sc := range list {
		if sc.Annotations[defaultStorageClassAnnotation] == "true" {
			return sc.Provisioner
		}
	}
	return ""
}

// ensureCredentials copies the server's credentials Secrets into the
// backup's own Secret, once.
func (c *Controller) ensureCredentials(ctx context.Context, b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer) error {
	found := map[string]*corev1.Secret{}
	for role, name := range credentialSources(ds) {
		s, err := c.kube.CoreV1().Secrets(b.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read Secret %s: %w", name, err)
		}
		found[role] = s
	}
	_, err := c.kube.CoreV1().Secrets(b.Namespace).Create(ctx, newCredentialsSecret(b, found), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Secret %s: %w", credentialsSecretName(b), err)
	}
	return nil
}

// cut holds the server stopped, snapshots every claim once the pod is gone,
// and records the cut once every snapshot has its creationTime.
func (c *Controller) cut(ctx context.Context, b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer, next *dittov1alpha1.DittoBackupStatus) error {
	if c.now().Sub(next.StartedAt.Time) > HoldTimeout {
		c.fail(next, ReasonHoldTimeout, fmt.Sprintf("the snapshots were not cut within %s of the start; the server is started again", HoldTimeout))
		return nil
	}
	if err := c.hold(ctx, b, ds); err != nil {
		return err
	}
	if next.Consistency.ServerStoppedAt == nil {
		if n := c.serverPods(ds); n > 0 {
			return kit.Waitf("waiting for the %d pod(s) of DittoServer %s to stop", n, ds.Name)
		}
		now := metav1.NewTime(c.now())
		next.Consistency.ServerStoppedAt = &now
	}
	// Every snapshot is asked for at once: the server is down until the last is cut.
	made := make([]*snapv1.VolumeSnapshot, len(next.Snapshots))
	for i := range next.Snapshots {
		vs, err := c.ensureSnapshot(ctx, b, &next.Snapshots[i], next.VolumeSnapshotClassName)
		if err != nil {
			return err
		}
		made[i] = vs
	}
	var last *metav1.Time
	for i, vs := range made {
		s := &next.Snapshots[i]
		if msg := snapshotError(vs); msg != "" {
			c.fail(next, ReasonSnapshotFailed, fmt.Sprintf("VolumeSnapshot %s: %s", vs.Name, msg))
			return nil
		}
		if vs == nil || vs.Status == nil || vs.Status.CreationTime == nil {
			return kit.Waitf("waiting for VolumeSnapshot %s to be cut", s.VolumeSnapshotName)
		}
		if last == nil || vs.Status.CreationTime.After(last.Time) {
			last = vs.Status.CreationTime
		}
	}
	next.Consistency.CutAt = last.DeepCopy()
	next.Consistency.Consistent = true
	return nil
}

// addFinalizer puts on a running backup the finalizer that guarantees its
// hold is released; the pass ends, the update requeues the backup.
func (c *Controller) addFinalizer(ctx context.Context, b *dittov1alpha1.DittoBackup) error {
	nb := b.DeepCopy()
	nb.Finalizers = append(nb.Finalizers, dittov1alpha1.BackupHoldFinalizer)
	if _, err := c.ditto.DittofsV1alpha1().DittoBackups(b.Namespace).Update(ctx, nb, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	c.wrote(b)
	return kit.ErrCacheBehind
}

// hold asks the DittoServer controller to stop the server (the backup
// carries its finalizer already).
func (c *Controller) hold(ctx context.Context, b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer) error {
	if ds.Annotations[dittov1alpha1.BackupHoldAnnotation] == b.Name {
		return nil
	}
	if err := c.patchHold(ctx, ds, b.Name); err != nil {
		return err
	}
	c.recorder.Eventf(b, corev1.EventTypeNormal, ReasonServerHeld, "Stopping DittoServer %s to cut consistent snapshots", ds.Name)
	return nil
}

// releaseServer removes the hold annotation this backup set; it writes
// nothing when there is no hold.
func (c *Controller) releaseServer(ctx context.Context, b *dittov1alpha1.DittoBackup) error {
	ds, err := c.servers.DittoServers(b.Namespace).Get(b.Spec.Server.Name)
	if err != nil || ds.Annotations[dittov1alpha1.BackupHoldAnnotation] != b.Name {
		return nil
	}
	if err := c.patchHold(ctx, ds, ""); err != nil {
		return err
	}
	c.recorder.Eventf(b, corev1.EventTypeNormal, ReasonServerReleased, "Starting DittoServer %s again", ds.Name)
	return nil
}

// releaseHold starts the server again (releaseServer), then removes the
// backup's finalizer: only for a finished or deleted backup, so that a
// running one never loses the guarantee while it may hold the server.
func (c *Controller) releaseHold(ctx context.Context, b *dittov1alpha1.DittoBackup) error {
	if err := c.releaseServer(ctx, b); err != nil {
		return err
	}
	i := slices.Index(b.Finalizers, dittov1alpha1.BackupHoldFinalizer)
	if i < 0 {
		return nil
	}
	nb := b.DeepCopy()
	nb.Finalizers = slices.Delete(nb.Finalizers, i, i+1)
	if _, err := c.ditto.DittofsV1alpha1().DittoBackups(b.Namespace).Update(ctx, nb, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	c.wrote(b)
	return nil
}

// finalize: a deleted backup starts its server again; its snapshots and
// Secret go with it (owner references).
func (c *Controller) finalize(ctx context.Context, b *dittov1alpha1.DittoBackup) error {
	return c.releaseHold(ctx, b)
}

// patchHold sets (holder non-empty) or removes the hold annotation.
func (c *Controller) patchHold(ctx context.Context, ds *dittov1alpha1.DittoServer, holder string) error {
	value := "null"
	if holder != "" {
		value = fmt.Sprintf("%q", holder)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, dittov1alpha1.BackupHoldAnnotation, value)
	if _, err := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace).Patch(ctx, ds.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch DittoServer %s hold: %w", ds.Name, err)
	}
	return nil
}

// serverPods counts the pods of the server, terminating ones included.
func (c *Controller) serverPods(ds *dittov1alpha1.DittoServer) int {
	pods, _ := c.pods.Pods(ds.Namespace).List(labels.SelectorFromSet(resources.SelectorLabels(ds)))
	return len(pods)
}

// ensureSnapshot creates the claim's VolumeSnapshot when it does not exist.
func (c *Controller) ensureSnapshot(ctx context.Context, b *dittov1alpha1.DittoBackup, s *dittov1alpha1.BackupSnapshot, class string) (*snapv1.VolumeSnapshot, error) {
	vs, err := c.snaps.VolumeSnapshots(b.Namespace).Get(s.VolumeSnapshotName)
	if err == nil {
		if !metav1.IsControlledBy(vs, b) {
			return nil, kit.NotOwnedError("VolumeSnapshot", b.Namespace, vs.Name, "DittoBackup")
		}
		return vs, nil
	}
	created, err := c.snap.SnapshotV1().VolumeSnapshots(b.Namespace).Create(ctx,
		newVolumeSnapshot(b, s.Claim, s.PersistentVolumeClaimName, class), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create VolumeSnapshot %s: %w", s.VolumeSnapshotName, err)
	}
	return created, nil
}

func snapshotError(vs *snapv1.VolumeSnapshot) string {
	if vs == nil || vs.Status == nil || vs.Status.Error == nil {
		return ""
	}
	if vs.Status.Error.Message != nil {
		return *vs.Status.Error.Message
	}
	return "snapshot failed"
}

// waitResumed measures the pause: the server's pod Ready again.
func (c *Controller) waitResumed(b *dittov1alpha1.DittoBackup, ds *dittov1alpha1.DittoServer, next *dittov1alpha1.DittoBackupStatus) error {
	cons := next.Consistency
	if cons.ServerResumedAt != nil {
		return nil
	}
	if ds.Annotations[dittov1alpha1.BackupHoldAnnotation] == b.Name {
		return kit.Waitf("waiting for DittoServer %s to start again", ds.Name)
	}
	if resources.Replicas(ds) == 0 {
		return nil // stopped by its spec: nothing to wait for
	}
	sts, err := c.sts.StatefulSets(ds.Namespace).Get(resources.StatefulSetName(ds))
	if err != nil || sts.Status.ReadyReplicas < 1 {
		return kit.Waitf("waiting for DittoServer %s to be Ready again", ds.Name)
	}
	now := metav1.NewTime(c.now())
	cons.ServerResumedAt = &now
	cons.Pause = &metav1.Duration{Duration: now.Sub(cons.ServerStoppedAt.Time).Round(time.Second)}
	c.recorder.Eventf(b, corev1.EventTypeNormal, ReasonServerResumed, "DittoServer %s is Ready again; writes paused for %s", ds.Name, cons.Pause.Duration)
	return nil
}

// waitReady completes the backup once every snapshot is ready to use.
func (c *Controller) waitReady(b *dittov1alpha1.DittoBackup, next *dittov1alpha1.DittoBackupStatus) error {
	total := resource.Quantity{}
	for i := range next.Snapshots {
		s := &next.Snapshots[i]
		vs, err := c.snaps.VolumeSnapshots(b.Namespace).Get(s.VolumeSnapshotName)
		if err != nil {
			c.fail(next, ReasonSnapshotFailed, fmt.Sprintf("VolumeSnapshot %s is gone", s.VolumeSnapshotName))
			return nil
		}
		if msg := snapshotError(vs); msg != "" {
			c.fail(next, ReasonSnapshotFailed, fmt.Sprintf("VolumeSnapshot %s: %s", vs.Name, msg))
			return nil
		}
		if vs.Status != nil && vs.Status.RestoreSize != nil {
			size := vs.Status.RestoreSize.DeepCopy()
			s.Size = &size
			total.Add(size)
		}
		s.ReadyToUse = vs.Status != nil && vs.Status.ReadyToUse != nil && *vs.Status.ReadyToUse
	}
	for _, s := range next.Snapshots {
		if !s.ReadyToUse {
			return kit.Waitf("waiting for VolumeSnapshot %s to be ready to use", s.VolumeSnapshotName)
		}
	}
	now := metav1.NewTime(c.now())
	next.Phase, next.CompletedAt, next.Size = dittov1alpha1.BackupCompleted, &now, total.String()
	setReady(next, next.ObservedGeneration, ReasonSucceeded, "every snapshot is ready to use", now)
	setCompleted(next, next.ObservedGeneration, ReasonSucceeded, "every snapshot is ready to use", now)
	return nil
}
