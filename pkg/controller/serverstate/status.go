package serverstate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	dittoac "github.com/dittofs/dittofs-operator/pkg/generated/applyconfiguration/dittofs/v1alpha1"
)

// Status. Every object's status is computed from the pass's results and
// written only when it differs from the current one: a DittoShare's or a
// DittoUser's whole status on the latest object (retry.RetryOnConflict), this
// controller's part of a DittoServer's by server-side apply. Events mark transitions: a Ready condition that
// turns False with a new reason gives one Warning; reasons every object
// shares (the server is down or unreachable) are reported once, on the
// DittoServer.

// readyReasons keep their reason while the condition stays True, so that a
// share created in one pass does not cost a status write in the next.
var readyReasons = map[string]bool{ReasonCreated: true, ReasonInSync: true, ReasonUpdated: true}

// readyCondition is the Ready condition for r, given the current conditions.
func readyCondition(conds []metav1.Condition, r result, readyMsg string, generation int64, now metav1.Time) metav1.Condition {
	c := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: r.reason, Message: r.message,
		ObservedGeneration: generation, LastTransitionTime: now}
	if r.ready {
		c.Status, c.Message = metav1.ConditionTrue, readyMsg
		if prev := meta.FindStatusCondition(conds, ConditionReady); prev != nil && prev.Status == metav1.ConditionTrue && readyReasons[prev.Reason] {
			c.Reason = prev.Reason
		}
	}
	return c
}

// transitionWarning tells whether a new Ready condition deserves a Warning.
func transitionWarning(prev []metav1.Condition, next metav1.Condition, r result) bool {
	if next.Status != metav1.ConditionFalse || r.serverWide {
		return false
	}
	old := meta.FindStatusCondition(prev, next.Type)
	return old == nil || old.Status != metav1.ConditionFalse || old.Reason != next.Reason
}

// computeShareStatus is the status a share's result gives it.
func computeShareStatus(s *dittov1alpha1.DittoShare, r result, server string, now metav1.Time, seen shareSeen) dittov1alpha1.DittoShareStatus {
	st := *s.Status.DeepCopy()
	st.ObservedGeneration = s.Generation
	st.Usage = nextUsage(st.Usage, seen.usage, now, seen.usageInterval)
	applyVolumeOutcome(&st, seen.volume, s.Generation, now)
	if r.name != "" {
		st.ExportName = r.name
	}
	st.CreatedOnServer = keptRecord(st.CreatedOnServer, r)
	if r.snapshotPolicyApplied != nil {
		st.SnapshotPolicyApplied = *r.snapshotPolicyApplied
	}
	meta.SetStatusCondition(&st.Conditions, readyCondition(st.Conditions, r,
		fmt.Sprintf("Exported as %s by DittoServer %q", r.name, server), s.Generation, now))
	return st
}

func computeUserStatus(u *dittov1alpha1.DittoUser, r result, server string, now metav1.Time) dittov1alpha1.DittoUserStatus {
	st := *u.Status.DeepCopy()
	st.ObservedGeneration = u.Generation
	if r.name != "" {
		st.Username = r.name
	}
	st.CreatedOnServer = keptRecord(st.CreatedOnServer, r)
	if r.passwordVersion != "" {
		st.PasswordSecretVersion = r.passwordVersion
	}
	meta.SetStatusCondition(&st.Conditions, readyCondition(st.Conditions, r,
		fmt.Sprintf("User %q exists on DittoServer %q with the password from its Secret", r.name, server), u.Generation, now))
	return st
}

// keptRecord is the ownership record a status keeps after a result.
func keptRecord(cur *dittov1alpha1.ServerObjectRecord, r result) *dittov1alpha1.ServerObjectRecord {
	switch {
	case r.forgetCreated:
		return nil
	case r.created != nil:
		return r.created
	}
	return cur
}

func (c *Controller) writeStatuses(ctx context.Context, p *pass) error {
	if err := c.writeObjectStatuses(ctx, p); err != nil {
		return err
	}
	return c.writeServerStatus(ctx, p)
}

// writeObjectStatuses writes the shares' and users' statuses.
func (c *Controller) writeObjectStatuses(ctx context.Context, p *pass) error {
	now := metav1.NewTime(c.now())
	for _, s := range p.shares {
		r, ok := p.shareResults[s.UID]
		if !ok || r.reason == reasonReleasedMark {
			continue
		}
		seen := shareSeen{usage: p.shareUsage[s.UID], usageInterval: c.usageInterval, volume: p.volumes[s.UID]}
		if err := c.writeShareStatus(ctx, s, r, now, seen); err != nil {
			return err
		}
	}
	for _, u := range p.users {
		r, ok := p.userResults[u.UID]
		if !ok || r.reason == reasonReleasedMark {
			continue
		}
		if err := c.writeUserStatus(ctx, u, r, now); err != nil {
			return err
		}
	}
	return nil
}

// shareSeen is what a pass observed of a share besides its Ready result.
type shareSeen struct {
	usage         *dittov1alpha1.ShareUsage
	usageInterval time.Duration
	volume        *volumeOutcome
}

func (c *Controller) writeShareStatus(ctx context.Context, s *dittov1alpha1.DittoShare, r result, now metav1.Time, seen shareSeen) error {
	return writeReadyStatus(ctx, c, statusWriter[*dittov1alpha1.DittoShare]{
		kind: "DittoShare",
		get: func(ctx context.Context, ns, name string) (*dittov1alpha1.DittoShare, error) {
			return c.ditto.DittofsV1alpha1().DittoShares(ns).Get(ctx, name, metav1.GetOptions{})
		},
		update: func(ctx context.Context, o *dittov1alpha1.DittoShare) error {
			_, err := c.ditto.DittofsV1alpha1().DittoShares(o.Namespace).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: EventComponent})
			return err
		},
		next: func(base *dittov1alpha1.DittoShare) (*dittov1alpha1.DittoShare, []metav1.Condition) {
			next := computeShareStatus(base, r, base.Spec.ServerRef.Name, now, seen)
			if equality.Semantic.DeepEqual(base.Status, next) {
				return nil, nil
			}
			obj := base.DeepCopy()
			obj.Status = next
			return obj, base.Status.Conditions
		},
		conditions: func(o *dittov1alpha1.DittoShare) []metav1.Condition { return o.Status.Conditions },
	}, s, r)
}

func (c *Controller) writeUserStatus(ctx context.Context, u *dittov1alpha1.DittoUser, r result, now metav1.Time) error {
	return writeReadyStatus(ctx, c, statusWriter[*dittov1alpha1.DittoUser]{
		kind: "DittoUser",
		get: func(ctx context.Context, ns, name string) (*dittov1alpha1.DittoUser, error) {
			return c.ditto.DittofsV1alpha1().DittoUsers(ns).Get(ctx, name, metav1.GetOptions{})
		},
		update: func(ctx context.Context, o *dittov1alpha1.DittoUser) error {
			_, err := c.ditto.DittofsV1alpha1().DittoUsers(o.Namespace).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: EventComponent})
			return err
		},
		next: func(base *dittov1alpha1.DittoUser) (*dittov1alpha1.DittoUser, []metav1.Condition) {
			next := computeUserStatus(base, r, base.Spec.ServerRef.Name, now)
			if equality.Semantic.DeepEqual(base.Status, next) {
				return nil, nil
			}
			obj := base.DeepCopy()
			obj.Status = next
			return obj, base.Status.Conditions
		},
		conditions: func(o *dittov1alpha1.DittoUser) []metav1.Condition { return o.Status.Conditions },
	}, u, r)
}

// statusObject is a DittoShare or a DittoUser.
type statusObject interface {
	comparable
	metav1.Object
	runtime.Object
}

// statusWriter is the status write path of one kind with a Ready condition.
type statusWriter[O statusObject] struct {
	kind   string
	get    func(ctx context.Context, namespace, name string) (O, error)
	update func(ctx context.Context, obj O) error
	// next returns a copy of base carrying the computed status, and the
	// conditions it replaces; the zero O when nothing changes.
	next       func(base O) (O, []metav1.Condition)
	conditions func(O) []metav1.Condition
}

// writeReadyStatus writes the status computed from r when it differs from
// the current one, on the latest object when the cache misses this
// controller's own last write, re-reading it on a Conflict; a Warning marks
// a transition of Ready to False (once, see transitionWarning).
func writeReadyStatus[O statusObject](ctx context.Context, c *Controller, w statusWriter[O], o O, r result) error {
	var zero O
	base := o
	if c.ownStatus.Behind(statusOwner(o), statusKey(w.kind, o), o.GetResourceVersion()) {
		latest, err := w.get(ctx, o.GetNamespace(), o.GetName())
		if err != nil {
			return ignoreNotFound(err)
		}
		base = latest
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, before := w.next(base)
		if obj == zero {
			return nil
		}
		if err := w.update(ctx, obj); err != nil {
			if apierrors.IsConflict(err) {
				if latest, gerr := w.get(ctx, o.GetNamespace(), o.GetName()); gerr == nil && latest.GetUID() == o.GetUID() {
					base = latest
				}
			}
			return err
		}
		c.ownStatus.Record(statusOwner(o), statusKey(w.kind, o), base.GetResourceVersion())
		cond := meta.FindStatusCondition(w.conditions(obj), ConditionReady)
		if cond != nil && transitionWarning(before, *cond, r) {
			c.recorder.Event(o, corev1.EventTypeWarning, cond.Reason, cond.Message)
		}
		if vol := meta.FindStatusCondition(w.conditions(obj), ConditionVolumeReady); volumeWarning(before, vol) {
			c.recorder.Event(o, corev1.EventTypeWarning, vol.Reason, vol.Message)
		}
		return nil
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update status of %s %s/%s: %w", w.kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

// computeServerStatus applies this controller's part of the DittoServer
// status — stores, share counts, the S3 credentials version, StoresReady
// and SharesReady — to the current status, leaving the rest as it is: the
// DittoServer controller owns it.
func computeServerStatus(cur dittov1alpha1.DittoServerStatus, p *pass, generation int64, now metav1.Time) dittov1alpha1.DittoServerStatus {
	st := *cur.DeepCopy()
	if !p.storesReady.serverWide {
		st.Stores = p.stores
		st.S3CredentialsVersion = p.s3Version
	}
	var total, ready int32
	var waiting []string
	for _, s := range p.shares {
		if s.DeletionTimestamp != nil {
			continue
		}
		total++
		if r := p.shareResults[s.UID]; r.ready {
			ready++
		} else {
			waiting = append(waiting, fmt.Sprintf("%s (%s)", s.Name, r.reason))
		}
	}
	st.Shares, st.SharesReady = total, ready
	set := func(t string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg,
			ObservedGeneration: generation, LastTransitionTime: now})
	}
	sr := p.storesReady
	set(ConditionStoresReady, sr.ready, sr.reason, sr.message)
	sort.Strings(waiting)
	if len(waiting) > maxListed {
		waiting = append(waiting[:maxListed], fmt.Sprintf("and %d more", len(waiting)-maxListed))
	}
	switch {
	case sr.serverWide:
		set(ConditionSharesReady, false, sr.reason, sr.message)
	case total == 0:
		set(ConditionSharesReady, true, ReasonNoShares, "No DittoShare references this server")
	case ready == total:
		set(ConditionSharesReady, true, ReasonAllSharesReady, fmt.Sprintf("%d/%d shares ready", ready, total))
	default:
		set(ConditionSharesReady, false, ReasonSharesNotReady, fmt.Sprintf("%d/%d shares ready; waiting: %s", ready, total, strings.Join(waiting, ", ")))
	}
	return st
}

// maxListed bounds the shares a SharesReady message names.
const maxListed = 10

// StatusFieldManager is the field manager of this controller's part of the
// DittoServer status, applied with server-side apply: the DittoServer
// controller applies the rest under its own (dittov1alpha1.ServerStateOwns).
const StatusFieldManager = "dittofs-operator-server-state"

// ownedServerStatus is this controller's part of a DittoServer status as an
// apply configuration: stores, share counts, the S3 credentials version and
// the StoresReady and SharesReady conditions. A field it leaves out that it
// applied before is removed by the API server.
func ownedServerStatus(st *dittov1alpha1.DittoServerStatus) *dittoac.DittoServerStatusApplyConfiguration {
	a := dittoac.DittoServerStatus().WithShares(st.Shares).WithSharesReady(st.SharesReady)
	if st.S3CredentialsVersion != "" {
		a.WithS3CredentialsVersion(st.S3CredentialsVersion)
	}
	for _, s := range st.Stores {
		store := dittoac.ServerStore().WithKind(s.Kind).WithName(s.Name)
		if s.Type != "" {
			store.WithType(s.Type)
		}
		if s.Location != "" {
			store.WithLocation(s.Location)
		}
		a.WithStores(store)
	}
	return a.WithConditions(kit.ConditionsApply(st.Conditions, dittov1alpha1.ServerStateOwns)...)
}

// writeServerStatus applies this controller's part of the DittoServer's
// status when it differs from what the object shows, and marks StoresReady
// transitions. It computes on the cached object, or on the latest one when
// the cache has not seen this controller's last write; the other
// controller's writes do not matter to it: it neither compares nor applies
// their fields.
func (c *Controller) writeServerStatus(ctx context.Context, p *pass) error {
	now := metav1.NewTime(c.now())
	client := c.ditto.DittofsV1alpha1().DittoServers(p.ds.Namespace)
	base := p.ds
	if c.ownStatus.Behind(statusOwner(base), statusKey(dittoServerKind, base), base.ResourceVersion) {
		latest, err := client.Get(ctx, base.Name, metav1.GetOptions{})
		if err != nil {
			return ignoreNotFound(err)
		}
		base = latest
	}
	next := computeServerStatus(base.Status, p, base.Generation, now)
	desired := ownedServerStatus(&next)
	if equality.Semantic.DeepEqual(desired, ownedServerStatus(&base.Status)) {
		return nil
	}
	apply := dittoac.DittoServer(p.ds.Name, p.ds.Namespace).WithUID(p.ds.UID).WithStatus(desired)
	_, err := client.ApplyStatus(ctx, apply, metav1.ApplyOptions{FieldManager: StatusFieldManager, Force: true})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone, or gone and made again (another UID).
		return nil
	case err != nil:
		return fmt.Errorf("apply status of DittoServer %s/%s: %w", p.ds.Namespace, p.ds.Name, err)
	}
	c.ownStatus.Record(statusOwner(base), statusKey(dittoServerKind, base), base.ResourceVersion)
	c.storesEvent(p.ds, base.Status.Conditions, next.Conditions)
	return nil
}

// storesEvent marks StoresReady transitions: one Warning when it turns
// False or changes reason (the server became unreachable, refused the
// login, refused a store), one Normal when it recovers.
func (c *Controller) storesEvent(ds *dittov1alpha1.DittoServer, prev, next []metav1.Condition) {
	n := meta.FindStatusCondition(next, ConditionStoresReady)
	o := meta.FindStatusCondition(prev, ConditionStoresReady)
	switch {
	case n == nil:
	case n.Status == metav1.ConditionFalse && n.Reason != ReasonServerNotReady && (o == nil || o.Status != n.Status || o.Reason != n.Reason):
		c.recorder.Event(ds, corev1.EventTypeWarning, n.Reason, n.Message)
	case n.Status == metav1.ConditionTrue && o != nil && o.Status == metav1.ConditionFalse && o.Reason != ReasonServerNotReady:
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonStoresInSync, n.Message)
	}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// The status writers are read-your-writes on the informer caches
// (kit.OwnWrites): this controller's own status writes do not requeue (the
// handlers ignore status-only updates), so a later pass may start before the
// cache has delivered one. Finding the version its last write replaced in
// the cache, a writer reads the object first instead of computing on the
// stale copy and spending a write on a Conflict. Each object is its own
// owner: a DittoShare and a DittoUser of the same name share one, which
// costs at most a Conflict retried after one of them goes.
func statusOwner(o metav1.Object) cache.ObjectName {
	return cache.ObjectName{Namespace: o.GetNamespace(), Name: o.GetName()}
}

func statusKey(kind string, o metav1.Object) kit.ObjectKey {
	return kit.ObjectKey{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

const dittoServerKind = "DittoServer"
