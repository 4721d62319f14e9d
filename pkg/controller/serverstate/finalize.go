package serverstate

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Deletion. A finalizer on every DittoShare and DittoUser lets the operator
// decide, before the object goes, what its deletion does on the server:
//   - a DittoShare with deletionPolicy Retain (the default): nothing; the
//     share and its data stay on the server;
//   - a DittoShare with deletionPolicy Delete, and a DittoUser: removed from
//     the server; when the server cannot be asked (not running, unreachable,
//     failing) the finalizer stays, the object reports DeletionBlocked with
//     one Warning, and the operator retries with backoff;
//   - whatever the policy, when the DittoServer is gone or being deleted:
//     nothing is deleted (there is no server to ask, and the server's
//     volumes are kept), and a Normal event says so.

func hasFinalizer(m metav1.Object) bool { return slices.Contains(m.GetFinalizers(), Finalizer) }

// addFinalizers puts the finalizer on every live share and user of the
// server (one write per object, once), and keeps the written objects in the
// pass's lists.
func (c *Controller) addFinalizers(ctx context.Context, shares []*dittov1alpha1.DittoShare, users []*dittov1alpha1.DittoUser) error {
	for i, s := range shares {
		if s.DeletionTimestamp != nil || hasFinalizer(s) {
			continue
		}
		obj := s.DeepCopy()
		obj.Finalizers = append(obj.Finalizers, Finalizer)
		updated, err := c.ditto.DittofsV1alpha1().DittoShares(s.Namespace).Update(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent})
		if err != nil {
			return fmt.Errorf("add finalizer to DittoShare %s/%s: %w", s.Namespace, s.Name, err)
		}
		shares[i] = updated
	}
	for i, u := range users {
		if u.DeletionTimestamp != nil || hasFinalizer(u) {
			continue
		}
		obj := u.DeepCopy()
		obj.Finalizers = append(obj.Finalizers, Finalizer)
		updated, err := c.ditto.DittofsV1alpha1().DittoUsers(u.Namespace).Update(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent})
		if err != nil {
			return fmt.Errorf("add finalizer to DittoUser %s/%s: %w", u.Namespace, u.Name, err)
		}
		users[i] = updated
	}
	return nil
}

// releaseShare and releaseUser remove the finalizer; the object then goes.
func (c *Controller) releaseShare(ctx context.Context, s *dittov1alpha1.DittoShare, eventType, reason, msg string) error {
	if err := c.releaseShareVolume(ctx, s); err != nil {
		return err
	}
	obj := s.DeepCopy()
	obj.Finalizers = slices.DeleteFunc(obj.Finalizers, func(f string) bool { return f == Finalizer })
	if _, err := c.ditto.DittofsV1alpha1().DittoShares(s.Namespace).Update(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of DittoShare %s/%s: %w", s.Namespace, s.Name, err)
	}
	c.ownStatus.Forget(statusOwner(s))
	c.recorder.Event(s, eventType, reason, msg)
	klog.FromContext(ctx).V(2).Info("Released", "dittoshare", klog.KObj(s), "reason", reason)
	return nil
}

func (c *Controller) releaseUser(ctx context.Context, u *dittov1alpha1.DittoUser, eventType, reason, msg string) error {
	obj := u.DeepCopy()
	obj.Finalizers = slices.DeleteFunc(obj.Finalizers, func(f string) bool { return f == Finalizer })
	if _, err := c.ditto.DittofsV1alpha1().DittoUsers(u.Namespace).Update(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of DittoUser %s/%s: %w", u.Namespace, u.Name, err)
	}
	c.ownStatus.Forget(statusOwner(u))
	c.recorder.Event(u, eventType, reason, msg)
	klog.FromContext(ctx).V(2).Info("Released", "dittouser", klog.KObj(u), "reason", reason)
	return nil
}

func deleting(m metav1.Object) bool { return m.GetDeletionTimestamp() != nil && hasFinalizer(m) }

func deletePolicy(s *dittov1alpha1.DittoShare) dittov1alpha1.DeletionPolicy {
	if s.Spec.DeletionPolicy == "" {
		return dittov1alpha1.DeletionRetain
	}
	return s.Spec.DeletionPolicy
}

// serverGone releases every deleting share and user of a DittoServer that
// is gone or being deleted, deleting nothing, and reports the others.
func (c *Controller) serverGone(ctx context.Context, key cache.ObjectName, ds *dittov1alpha1.DittoServer, shares []*dittov1alpha1.DittoShare, users []*dittov1alpha1.DittoUser) error {
	state, reason := "does not exist", ReasonServerNotFound
	if ds != nil {
		state, reason = "is being deleted", ReasonServerDeleting
	}
	p := newPass(ds, shares, users)
	for _, s := range shares {
		if !deleting(s) {
			continue
		}
		msg := fmt.Sprintf("DittoServer %q %s: released without deleting anything on the server", key.Name, state)
		if err := c.releaseShare(ctx, s, corev1.EventTypeNormal, ReasonReleased, msg); err != nil {
			return err
		}
		p.shareResults[s.UID] = result{reason: reasonReleasedMark}
	}
	for _, u := range users {
		if !deleting(u) {
			continue
		}
		msg := fmt.Sprintf("DittoServer %q %s: released without deleting anything on the server", key.Name, state)
		if err := c.releaseUser(ctx, u, corev1.EventTypeNormal, ReasonReleased, msg); err != nil {
			return err
		}
		p.userResults[u.UID] = result{reason: reasonReleasedMark}
	}
	p.everyone(notReady(reason, fmt.Sprintf("DittoServer %q %s in namespace %q", key.Name, state, key.Namespace)))
	return c.writeObjectStatuses(ctx, p)
}

// reasonReleasedMark marks an object whose finalizer this pass removed: it
// gets no status write (it is gone or going).
const reasonReleasedMark = "-released"

// releaseWithoutServer handles deletions while the server cannot be asked:
// Retain shares are released; the others wait, reporting why.
func (c *Controller) releaseWithoutServer(ctx context.Context, p *pass, why result) {
	for _, s := range p.shares {
		if !deleting(s) || p.shareResults[s.UID].reason == reasonReleasedMark {
			continue
		}
		if deletePolicy(s) == dittov1alpha1.DeletionRetain {
			msg := fmt.Sprintf("deletionPolicy Retain: share %s and its data stay on the server", ExportName(s))
			if err := c.releaseShare(ctx, s, corev1.EventTypeNormal, ReasonRetained, msg); err != nil {
				p.requeue = err.Error()
				continue
			}
			p.shareResults[s.UID] = result{reason: reasonReleasedMark}
			continue
		}
		p.shareResults[s.UID] = notReady(ReasonDeletionBlocked, fmt.Sprintf(
			"deletionPolicy Delete: share %s stays on the server until the server can delete it (%s: %s)", ExportName(s), why.reason, why.message))
		p.requeue = "deletion waits for the server"
	}
	for _, u := range p.users {
		if !deleting(u) || p.userResults[u.UID].reason == reasonReleasedMark {
			continue
		}
		p.userResults[u.UID] = notReady(ReasonDeletionBlocked, fmt.Sprintf(
			"user %q stays on the server until the server can delete it (%s: %s)", Username(u), why.reason, why.message))
		p.requeue = "deletion waits for the server"
	}
}

// deleteReleased carries out deletions on a reachable server. Only what the
// deleting object created itself is deleted (see ownership.go): a share or
// user it did not create, or whose creation it never confirmed, stays.
func (c *Controller) deleteReleased(ctx context.Context, p *pass, api dfsapi.API, want Desired, observed serverObjects) error {
	for _, s := range p.shares {
		if !deleting(s) {
			continue
		}
		export := ExportName(s)
		reason, msg := ReasonRetained, fmt.Sprintf("deletionPolicy Retain: share %s and its data stay on the server", export)
		cl, _ := observed.shareClaim(s)
		_, rejected := want.Rejected[s.UID]
		switch {
		case deletePolicy(s) != dittov1alpha1.DeletionDelete:
		case rejected:
			reason, msg = ReasonReleased, fmt.Sprintf("share %s was declared by another DittoShare: nothing deleted on the server", export)
		case cl == claimCreate:
			reason, msg = ReasonDeleted, fmt.Sprintf("deletionPolicy Delete: share %s is not on the server", export)
		case cl != claimOwned:
			reason, msg = ReasonReleased, fmt.Sprintf("share %s on the server was not created by this DittoShare (or its creation was never confirmed): nothing deleted", export)
		default:
			if err := api.DeleteShare(ctx, export); err != nil && !dfsapi.IsNotFound(err) {
				if m, ok := serverErr(err); ok {
					p.shareResults[s.UID] = notReady(ReasonDeletionBlocked, fmt.Sprintf("the server refused to delete share %s: %s", export, m))
					p.requeue = m
					continue
				}
				return classify(err)
			}
			reason, msg = ReasonDeleted, fmt.Sprintf("deletionPolicy Delete: removed share %s from the server", export)
		}
		if err := c.releaseShare(ctx, s, corev1.EventTypeNormal, reason, msg); err != nil {
			return err
		}
		p.shareResults[s.UID] = result{reason: reasonReleasedMark}
	}
	for _, u := range p.users {
		if !deleting(u) {
			continue
		}
		name := Username(u)
		reason, msg := ReasonDeleted, fmt.Sprintf("removed user %q from the server", name)
		cl, _ := observed.userClaim(u)
		_, rejected := want.Rejected[u.UID]
		switch {
		case rejected:
			reason, msg = ReasonReleased, fmt.Sprintf("user %q was declared by another DittoUser or is reserved: nothing deleted on the server", name)
		case cl == claimCreate:
			msg = fmt.Sprintf("user %q is not on the server", name)
		case cl != claimOwned:
			reason, msg = ReasonReleased, fmt.Sprintf("user %q on the server was not created by this DittoUser (or its creation was never confirmed): nothing deleted", name)
		default:
			if err := api.DeleteUser(ctx, name); err != nil && !dfsapi.IsNotFound(err) {
				if m, ok := serverErr(err); ok {
					p.userResults[u.UID] = notReady(ReasonDeletionBlocked, fmt.Sprintf("the server refused to delete user %q: %s", name, m))
					p.requeue = m
					continue
				}
				return classify(err)
			}
		}
		if err := c.releaseUser(ctx, u, corev1.EventTypeNormal, reason, msg); err != nil {
			return err
		}
		p.userResults[u.UID] = result{reason: reasonReleasedMark}
	}
	return nil
}
