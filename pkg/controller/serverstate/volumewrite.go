package serverstate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The write path of share volumes (builders in volume.go). Each pass reads
// the file Service, the PersistentVolume and the claim of every share with
// spec.volume and writes only what is missing or differs. Only objects that
// carry the share's UID label, or whose UIDs the share's status records, are
// changed or deleted: a claim of the same name made by someone else is
// reported (VolumeConflict) and left alone.

// volumeOutcome is what the volume step found for one share: its
// VolumeReady condition and status.volume.
type volumeOutcome struct {
	// remove: spec.volume is unset and nothing of it is left: the condition
	// and status.volume go.
	remove          bool
	status          *dittov1alpha1.ShareVolumeStatus // nil keeps status.volume
	ready           bool
	reason, message string
}

// convergeVolumes runs the volume step for every live share of the pass.
func (c *Controller) convergeVolumes(ctx context.Context, p *pass) {
	for _, s := range p.shares {
		if s.DeletionTimestamp != nil {
			continue
		}
		r, decided := p.shareResults[s.UID]
		if decided && r.reason == reasonReleasedMark {
			continue
		}
		var out volumeOutcome
		var err error
		switch {
		case s.Spec.Volume == nil && s.Status.Volume == nil:
			if meta.FindStatusCondition(s.Status.Conditions, ConditionVolumeReady) == nil {
				continue
			}
			out = volumeOutcome{remove: true}
		case s.Spec.Volume == nil:
			if err = c.deleteShareVolume(ctx, s); err == nil {
				out = volumeOutcome{remove: true}
			}
		case !r.ready && s.Status.Volume == nil:
			// The export is not (yet) this share's on the server: no volume
			// that points at it. The pass that exports it makes the volume.
			p.volumes[s.UID] = &volumeOutcome{reason: ReasonVolumePending,
				message: "Waiting for the share to be exported (see the Ready condition) before making its PersistentVolume"}
			continue
		default:
			out, err = c.ensureShareVolume(ctx, p.ds, s)
		}
		if err != nil {
			out = volumeOutcome{reason: ReasonReconcileFailed, message: err.Error()}
		}
		if err != nil || out.reason == ReasonVolumePending {
			// Binding takes the PersistentVolume controller a moment, and
			// nothing the operator watches tells when: look again with backoff.
			p.requeue = "share volume: " + out.message
		}
		p.volumes[s.UID] = &out
	}
}

// ensureShareVolume makes share s's PersistentVolume and claim as the
// builders say, and reports whether they are bound.
func (c *Controller) ensureShareVolume(ctx context.Context, ds *dittov1alpha1.DittoServer, s *dittov1alpha1.DittoShare) (volumeOutcome, error) {
	svc, err := c.kube.CoreV1().Services(ds.Namespace).Get(ctx, resources.FileServiceName(ds), metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err == nil && (svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone) {
		return volumeOutcome{reason: ReasonVolumePending, message: fmt.Sprintf("Waiting for Service %s/%s to have a cluster IP", ds.Namespace, resources.FileServiceName(ds))}, nil
	}
	if err != nil {
		return volumeOutcome{}, fmt.Errorf("get Service %s/%s: %w", ds.Namespace, resources.FileServiceName(ds), err)
	}
	pv, out, err := c.ensurePersistentVolume(ctx, s, newSharePersistentVolume(s, ds, svc.Spec.ClusterIP))
	if pv == nil || err != nil {
		return out, err
	}
	pvc, out, err := c.ensureClaim(ctx, s, newShareClaim(s))
	if pvc == nil || err != nil {
		return out, err
	}
	st := &dittov1alpha1.ShareVolumeStatus{PersistentVolumeName: pv.Name, PersistentVolumeUID: pv.UID,
		ClaimName: pvc.Name, ClaimUID: pvc.UID, Phase: string(pvc.Status.Phase)}
	where := fmt.Sprintf("%s:%s (%s)", pv.Spec.NFS.Server, pv.Spec.NFS.Path, joinOptions(pv.Spec.MountOptions))
	switch pvc.Status.Phase {
	case corev1.ClaimBound:
		return volumeOutcome{status: st, ready: true, reason: ReasonVolumeBound, message: fmt.Sprintf(
			"Pods mount the share with claim %q, bound to PersistentVolume %s: NFS %s", pvc.Name, pv.Name, where)}, nil
	case corev1.ClaimLost:
		return volumeOutcome{status: st, reason: ReasonVolumeLost, message: fmt.Sprintf(
			"Claim %q lost its PersistentVolume %s: delete the claim and the operator makes both again", pvc.Name, pv.Name)}, nil
	}
	return volumeOutcome{status: st, reason: ReasonVolumePending, message: fmt.Sprintf(
		"Claim %q waits for the PersistentVolume controller to bind it to %s", pvc.Name, pv.Name)}, nil
}

func joinOptions(o []string) string {
	out := ""
	for i, s := range o {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// ensurePersistentVolume creates want, or brings the share's own PV to it:
// its NFS source cannot change in place (a re-created file Service has a new
// cluster IP), so such a PV is deleted and made again on a later pass; its
// mount options, capacity and access modes are updated. A nil PV comes with
// the outcome to report.
func (c *Controller) ensurePersistentVolume(ctx context.Context, s *dittov1alpha1.DittoShare, want *corev1.PersistentVolume) (*corev1.PersistentVolume, volumeOutcome, error) {
	pvs := c.kube.CoreV1().PersistentVolumes()
	got, err := pvs.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err):
		return nil, notPermitted(err), nil
	case apierrors.IsNotFound(err):
		created, err := pvs.Create(ctx, want, metav1.CreateOptions{FieldManager: EventComponent})
		if apierrors.IsForbidden(err) {
			return nil, notPermitted(err), nil
		}
		if err != nil {
			return nil, volumeOutcome{}, fmt.Errorf("create PersistentVolume %s: %w", want.Name, err)
		}
		c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonVolumeCreated, "Created PersistentVolume %s (NFS %s:%s)", want.Name, want.Spec.NFS.Server, want.Spec.NFS.Path)
		return created, volumeOutcome{}, nil
	case err != nil:
		return nil, volumeOutcome{}, fmt.Errorf("get PersistentVolume %s: %w", want.Name, err)
	}
	if !ownVolume(got, s, recordedUID(s, true)) {
		return nil, volumeOutcome{reason: ReasonVolumeConflict, message: fmt.Sprintf(
			"PersistentVolume %s exists and was not made for this DittoShare: nothing changed", got.Name)}, nil
	}
	if got.DeletionTimestamp != nil {
		return nil, volumeOutcome{reason: ReasonVolumePending, message: fmt.Sprintf("PersistentVolume %s is being deleted (still in use by a pod?); it is made again once it is gone", got.Name)}, nil
	}
	if !equality.Semantic.DeepEqual(got.Spec.NFS, want.Spec.NFS) {
		uid := got.UID
		if err := pvs.Delete(ctx, got.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			return nil, volumeOutcome{}, fmt.Errorf("delete outdated PersistentVolume %s: %w", got.Name, err)
		}
		c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonVolumeReplaced, "PersistentVolume %s pointed at NFS %s:%s: deleted, to be made again for %s:%s",
			got.Name, got.Spec.NFS.Server, got.Spec.NFS.Path, want.Spec.NFS.Server, want.Spec.NFS.Path)
		return nil, volumeOutcome{reason: ReasonVolumePending, message: fmt.Sprintf("PersistentVolume %s is made again for the file Service's new address", got.Name)}, nil
	}
	if equality.Semantic.DeepEqual(got.Spec.MountOptions, want.Spec.MountOptions) &&
		equality.Semantic.DeepEqual(got.Spec.Capacity, want.Spec.Capacity) &&
		equality.Semantic.DeepEqual(got.Spec.AccessModes, want.Spec.AccessModes) {
		return got, volumeOutcome{}, nil
	}
	upd := got.DeepCopy()
	upd.Spec.MountOptions, upd.Spec.Capacity, upd.Spec.AccessModes = want.Spec.MountOptions, want.Spec.Capacity, want.Spec.AccessModes
	updated, err := pvs.Update(ctx, upd, metav1.UpdateOptions{FieldManager: EventComponent})
	if err != nil {
		return nil, volumeOutcome{}, fmt.Errorf("update PersistentVolume %s: %w", got.Name, err)
	}
	c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonVolumeUpdated, "Updated PersistentVolume %s (mount options %s, capacity %s)",
		got.Name, joinOptions(want.Spec.MountOptions), ptrQuantity(want.Spec.Capacity))
	return updated, volumeOutcome{}, nil
}

func ptrQuantity(l corev1.ResourceList) string {
	q := l[corev1.ResourceStorage]
	return q.String()
}

// ensureClaim creates the share's claim, or finds it. A claim's storage
// request cannot shrink and its volumeName cannot change, so an existing
// claim of the share's is left as it is.
func (c *Controller) ensureClaim(ctx context.Context, s *dittov1alpha1.DittoShare, want *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, volumeOutcome, error) {
	claims := c.kube.CoreV1().PersistentVolumeClaims(s.Namespace)
	got, err := claims.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		created, err := claims.Create(ctx, want, metav1.CreateOptions{FieldManager: EventComponent})
		if apierrors.IsForbidden(err) {
			return nil, notPermitted(err), nil
		}
		if err != nil {
			return nil, volumeOutcome{}, fmt.Errorf("create PersistentVolumeClaim %s/%s: %w", want.Namespace, want.Name, err)
		}
		c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonVolumeCreated, "Created PersistentVolumeClaim %s bound to PersistentVolume %s", want.Name, want.Spec.VolumeName)
		return created, volumeOutcome{}, nil
	case apierrors.IsForbidden(err):
		return nil, notPermitted(err), nil
	case err != nil:
		return nil, volumeOutcome{}, fmt.Errorf("get PersistentVolumeClaim %s/%s: %w", want.Namespace, want.Name, err)
	}
	if !ownVolume(got, s, recordedUID(s, false)) || got.Spec.VolumeName != want.Spec.VolumeName {
		return nil, volumeOutcome{reason: ReasonVolumeConflict, message: fmt.Sprintf(
			"PersistentVolumeClaim %q exists and was not made for this DittoShare: nothing changed; choose another spec.volume.claimName or delete that claim", got.Name)}, nil
	}
	return got, volumeOutcome{}, nil
}

// ownVolume tells whether obj is share s's: it carries s's UID label, or it
// is the object whose UID s's status records.
func ownVolume(obj metav1.Object, s *dittov1alpha1.DittoShare, recorded types.UID) bool {
	return madeFor(obj, s) || recorded != "" && obj.GetUID() == recorded
}

func recordedUID(s *dittov1alpha1.DittoShare, pv bool) types.UID {
	if s.Status.Volume == nil {
		return ""
	}
	if pv {
		return s.Status.Volume.PersistentVolumeUID
	}
	return s.Status.Volume.ClaimUID
}

func notPermitted(err error) volumeOutcome {
	return volumeOutcome{reason: ReasonVolumeNotPermitted, message: "The operator may not make PersistentVolumes or PersistentVolumeClaims here " +
		"(the namespaced install cannot make cluster-scoped PersistentVolumes; docs/shares.md): " + err.Error()}
}

// deleteShareVolume deletes the claim and the PersistentVolume the operator
// made for share s, each only if it is the share's own (UID precondition).
// Neither holds data. A claim a pod still uses stays until the pod goes (the
// claim's protection finalizer), then its PV. Forbidden (the namespaced
// install, which never made one) counts as nothing to delete.
func (c *Controller) deleteShareVolume(ctx context.Context, s *dittov1alpha1.DittoShare) error {
	claimName := ""
	if s.Status.Volume != nil {
		claimName = s.Status.Volume.ClaimName
	}
	if claimName == "" && s.Spec.Volume != nil {
		claimName = s.Spec.Volume.ClaimName
	}
	var deleted []string
	if claimName != "" {
		claims := c.kube.CoreV1().PersistentVolumeClaims(s.Namespace)
		got, err := claims.Get(ctx, claimName, metav1.GetOptions{})
		if err == nil && ownVolume(got, s, recordedUID(s, false)) && got.DeletionTimestamp == nil {
			uid := got.UID
			err = claims.Delete(ctx, claimName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			deleted = append(deleted, "PersistentVolumeClaim "+claimName)
		}
		if err := ignoreGone(err); err != nil {
			return fmt.Errorf("delete PersistentVolumeClaim %s/%s: %w", s.Namespace, claimName, err)
		}
	}
	pvs := c.kube.CoreV1().PersistentVolumes()
	got, err := pvs.Get(ctx, ShareVolumeName(s), metav1.GetOptions{})
	if err == nil && ownVolume(got, s, recordedUID(s, true)) && got.DeletionTimestamp == nil {
		uid := got.UID
		err = pvs.Delete(ctx, got.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		deleted = append(deleted, "PersistentVolume "+got.Name)
	}
	if err := ignoreGone(err); err != nil {
		return fmt.Errorf("delete PersistentVolume %s: %w", ShareVolumeName(s), err)
	}
	if len(deleted) > 0 {
		c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonVolumeDeleted, "Deleted %s (the share's files stay on the server)", joinOptions(deleted))
		klog.FromContext(ctx).V(2).Info("Deleted share volume", "dittoshare", klog.KObj(s), "objects", deleted)
	}
	return nil
}

// ignoreGone: NotFound, a changed UID (Conflict on the precondition) and
// Forbidden leave nothing of the share's to delete.
func ignoreGone(err error) error {
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsForbidden(err) {
		return nil
	}
	return err
}

// releaseShareVolume is the volume part of a share's deletion: deletionPolicy
// Delete deletes the claim and the PV, Retain keeps them (pods keep
// mounting a share that stays on the server).
func (c *Controller) releaseShareVolume(ctx context.Context, s *dittov1alpha1.DittoShare) error {
	if deletePolicy(s) != dittov1alpha1.DeletionDelete || s.Spec.Volume == nil && s.Status.Volume == nil {
		return nil
	}
	return c.deleteShareVolume(ctx, s)
}

// applyVolumeOutcome puts out into a share status.
func applyVolumeOutcome(st *dittov1alpha1.DittoShareStatus, out *volumeOutcome, generation int64, now metav1.Time) {
	if out == nil {
		return
	}
	if out.remove {
		st.Volume = nil
		meta.RemoveStatusCondition(&st.Conditions, ConditionVolumeReady)
		return
	}
	if out.status != nil {
		st.Volume = out.status
	}
	cond := metav1.Condition{Type: ConditionVolumeReady, Status: metav1.ConditionFalse, Reason: out.reason, Message: out.message,
		ObservedGeneration: generation, LastTransitionTime: now}
	if out.ready {
		cond.Status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, cond)
}

// volumeWarning tells whether a VolumeReady condition deserves a Warning:
// turning False with a new reason, except while binding is merely pending.
func volumeWarning(prev []metav1.Condition, next *metav1.Condition) bool {
	if next == nil || next.Reason == ReasonVolumePending {
		return false
	}
	return transitionWarning(prev, *next, result{})
}
