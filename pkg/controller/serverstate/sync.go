package serverstate

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// pass collects what one sync found for every object it reports on; the
// status writers turn it into conditions at the end.
type pass struct {
	ds     *dittov1alpha1.DittoServer
	shares []*dittov1alpha1.DittoShare
	users  []*dittov1alpha1.DittoUser

	shareResults map[types.UID]result
	userResults  map[types.UID]result
	// shareUsage is each share's usage as the server reported it in this
	// pass (absent: not read, the status keeps its figure).
	shareUsage map[types.UID]*dittov1alpha1.ShareUsage
	// volumes is each share's volume outcome (absent: status kept).
	volumes map[types.UID]*volumeOutcome

	// Server-level outcome.
	stores      []dittov1alpha1.ServerStore
	storesReady result
	s3Version   string
	// requeue is why the pass must look again with backoff ("" for no need).
	requeue string
}

// result is the outcome for one object: its Ready condition and what to
// record in its status.
type result struct {
	ready           bool
	reason, message string
	// exportName or username as it exists on the server.
	name string
	// passwordVersion is the password Secret version the server was given.
	passwordVersion string
	// serverWide marks a result every object shares (the server is down,
	// unreachable, refuses the login): reported with one Warning on the
	// DittoServer, not one per object.
	serverWide bool
	// created is the record of the server object this object created, to
	// keep in its status (nil: the status keeps what it has);
	// forgetCreated drops a record of a creation that never happened.
	created       *dittov1alpha1.ServerObjectRecord
	forgetCreated bool
	// snapshotPolicyApplied (shares) is whether the operator's snapshot
	// policy is set on the server after this pass; nil (a pass that never
	// reached the share) keeps the status's previous value.
	snapshotPolicyApplied *bool
}

func notReady(reason, message string) result { return result{reason: reason, message: message} }

func newPass(ds *dittov1alpha1.DittoServer, shares []*dittov1alpha1.DittoShare, users []*dittov1alpha1.DittoUser) *pass {
	return &pass{ds: ds, shares: shares, users: users,
		shareResults: map[types.UID]result{}, userResults: map[types.UID]result{},
		shareUsage: map[types.UID]*dittov1alpha1.ShareUsage{}, volumes: map[types.UID]*volumeOutcome{}}
}

// everyone sets the same result on every share and user not decided yet,
// except objects already going without this controller's finalizer.
func (p *pass) everyone(r result) {
	for _, s := range p.shares {
		if _, ok := p.shareResults[s.UID]; !ok && !goingWithoutUs(s) {
			p.shareResults[s.UID] = r
		}
	}
	for _, u := range p.users {
		if _, ok := p.userResults[u.UID]; !ok && !goingWithoutUs(u) {
			p.userResults[u.UID] = r
		}
	}
}

// replaceShare and replaceUser put an object this pass wrote in place of
// the copy the pass started with.
func (p *pass) replaceShare(s *dittov1alpha1.DittoShare) {
	for i := range p.shares {
		if p.shares[i].UID == s.UID {
			p.shares[i] = s
		}
	}
}

func (p *pass) replaceUser(u *dittov1alpha1.DittoUser) {
	for i := range p.users {
		if p.users[i].UID == u.UID {
			p.users[i] = u
		}
	}
}

func goingWithoutUs(m metav1.Object) bool { return m.GetDeletionTimestamp() != nil && !hasFinalizer(m) }

// sync is one pass over a DittoServer and the DittoShares and DittoUsers
// that reference it: gone or deleting server → release; finalizers;
// server not available → wait; else converge the server's state.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	ds, err := c.dsLister.DittoServers(key.Namespace).Get(key.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	shares, users := c.sharesOf(key), c.usersOf(key)
	if err != nil || ds.DeletionTimestamp != nil {
		c.sessions.forget(key)
		c.transports.forget(key)
		c.endpoints.Forget(key)
		if ds != nil {
			c.ownStatus.Forget(statusOwner(ds))
		}
		return c.serverGone(ctx, key, ds, shares, users)
	}
	shares, users, refusedObjs := c.admitted(ds, shares, users)
	if err := c.settleRefused(ctx, refusedObjs); err != nil {
		return err
	}
	if err := c.addFinalizers(ctx, shares, users); err != nil {
		return err
	}
	p := newPass(ds, shares, users)
	if ds.Spec.Paused {
		// spec.paused holds the server's own state too: no request to its
		// REST API, and the statuses stay as the last pass left them.
		c.holdPaused(p)
		return c.writeObjectStatuses(ctx, p)
	}
	if !serverAvailable(ds) {
		c.sessions.forget(key)
		msg := fmt.Sprintf("DittoServer %q is not available yet", ds.Name)
		if ds.Status.AvailableReplicas == 0 && ds.Spec.Replicas != nil && *ds.Spec.Replicas == 0 {
			msg = fmt.Sprintf("DittoServer %q is scaled to zero", ds.Name)
		}
		c.serverDown(ctx, p, notReady(ReasonServerNotReady, msg))
	} else {
		c.converge(ctx, p)
	}
	c.convergeVolumes(ctx, p)
	if err := c.writeStatuses(ctx, p); err != nil {
		return err
	}
	if p.requeue != "" {
		return requeueError("%s", p.requeue)
	}
	return nil
}

// holdPaused reports on a paused server: shares and users it has already
// reported on keep their status (their state on the server is what the last
// pass left, and the operator does not look); one it has never reported on
// (created while paused) says it waits. Deleting one waits too (its
// finalizer stays until the server resumes); deleting the DittoServer does not.
func (c *Controller) holdPaused(p *pass) {
	msg := fmt.Sprintf("DittoServer %q is paused (spec.paused): the operator changes nothing on the server until it resumes", p.ds.Name)
	r := notReady(ReasonServerPaused, msg)
	r.serverWide = true // the user's choice, not a problem: no Warning per object
	for _, s := range p.shares {
		if meta.FindStatusCondition(s.Status.Conditions, ConditionReady) == nil && !goingWithoutUs(s) {
			p.shareResults[s.UID] = r
		}
	}
	for _, u := range p.users {
		if meta.FindStatusCondition(u.Status.Conditions, ConditionReady) == nil && !goingWithoutUs(u) {
			p.userResults[u.UID] = r
		}
	}
}

// serverDown reports a server that cannot be worked on: every share and user
// gets r, Retain deletions are released (they need nothing of the server),
// the others wait.
func (c *Controller) serverDown(ctx context.Context, p *pass, r result) {
	r.serverWide = true
	p.everyone(r)
	p.storesReady = r
	c.releaseWithoutServer(ctx, p, r)
	if r.reason != ReasonServerNotReady {
		p.requeue = r.message
	}
}

// failure turns an error of a pass into the result every object not decided
// yet reports, and decides the requeue.
func (c *Controller) failure(ctx context.Context, p *pass, err error) {
	var prob *problemError
	var unreachable *unreachableError
	switch {
	case errors.As(err, &prob):
		c.serverDown(ctx, p, notReady(prob.Reason, prob.Message))
		p.requeue = prob.Message
	case errors.As(err, &unreachable):
		c.sessions.forget(cache.MetaObjectToName(p.ds))
		c.serverDown(ctx, p, notReady(ReasonServerUnreachable, fmt.Sprintf("The server's API does not answer: %v", unreachable.err)))
	case errors.As(err, new(*dfsapi.Error)):
		// A refused token or another answer about the whole pass: log in
		// again next time.
		c.sessions.forget(cache.MetaObjectToName(p.ds))
		c.serverDown(ctx, p, notReady(ReasonServerError, fmt.Sprintf("The server's API failed: %v", err)))
	default:
		// The Kubernetes API failed (reading a Secret, writing the operator's).
		c.serverDown(ctx, p, notReady(ReasonReconcileFailed, err.Error()))
	}
}
