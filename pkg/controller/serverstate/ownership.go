package serverstate

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Ownership. A DittoShare or DittoUser acts only on the server object it
// created itself, recorded in its status (status.createdOnServer) by the id
// the server gave that object. The record is written in two steps: before
// the create request, with no id (the intent), and with the id the server
// returns. A user or share of the same name that this object did not create
// (made by an admin, left by another DittoShare, made before this object) is
// never changed or deleted: the object reports NameConflict instead. The id
// is the proof, never the name: a share deleted and made again by hand gets
// a new id and is someone else's.

// claim is what one object may do with the server object of its name.
type claim int

const (
	// claimCreate: nothing of that name exists on the server.
	claimCreate claim = iota
	// claimOwned: the server object is the one this object created.
	claimOwned
	// claimInterrupted: this object recorded its intent to create the server
	// object but never learned its id (the operator stopped between the
	// request and the status write); the object found is taken as its own.
	claimInterrupted
	// claimForeign: the server object was not created by this object.
	claimForeign
)

// claimOn decides the claim of an object whose status holds rec on a server
// object that exists (with the server's id) or not.
func claimOn(rec *dittov1alpha1.ServerObjectRecord, exists bool, id string) claim {
	switch {
	case !exists:
		return claimCreate
	case rec == nil:
		return claimForeign
	case rec.ID == "":
		return claimInterrupted
	case rec.ID == id:
		return claimOwned
	default:
		return claimForeign
	}
}

// mayChange tells whether a claim lets the object change the server object.
func (c claim) mayChange() bool { return c == claimOwned || c == claimInterrupted }

// recordOf is the record an object keeps after a pass that found (or
// created) the server object with id under claim c.
func recordOf(c claim, id string) *dittov1alpha1.ServerObjectRecord {
	if c.mayChange() || c == claimCreate {
		return &dittov1alpha1.ServerObjectRecord{ID: id}
	}
	return nil
}

func foreignUser(name string) string {
	return fmt.Sprintf("user %q exists on the server but was not created by this DittoUser: "+
		"the operator changes nothing of it (neither its password nor its groups) and will never delete it; "+
		"choose another spec.username, or have the server's administrator remove that user", name)
}

func foreignShare(export string) string {
	return fmt.Sprintf("share %s exists on the server but was not created by this DittoShare "+
		"(made by hand, or kept by another DittoShare with deletionPolicy Retain): the operator changes nothing of it and will never delete it; "+
		"choose another spec.exportName, or have the server's administrator remove that share", export)
}

// recordShareIntent writes the intent to create a share into the DittoShare's
// status before the create request, unless it is there already; the pass's
// copy of the object is replaced by the written one.
func (c *Controller) recordShareIntent(ctx context.Context, p *pass, s *dittov1alpha1.DittoShare) (*dittov1alpha1.DittoShare, error) {
	if rec := s.Status.CreatedOnServer; rec != nil && rec.ID == "" {
		return s, nil
	}
	obj := s.DeepCopy()
	obj.Status.CreatedOnServer = &dittov1alpha1.ServerObjectRecord{}
	updated, err := c.ditto.DittofsV1alpha1().DittoShares(s.Namespace).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent})
	if err != nil {
		return nil, fmt.Errorf("record the creation of share %s in DittoShare %s/%s: %w", ExportName(s), s.Namespace, s.Name, err)
	}
	c.ownStatus.Record(statusOwner(s), statusKey("DittoShare", s), s.ResourceVersion)
	p.replaceShare(updated)
	return updated, nil
}

// recordUserIntent is recordShareIntent for a DittoUser.
func (c *Controller) recordUserIntent(ctx context.Context, p *pass, u *dittov1alpha1.DittoUser) (*dittov1alpha1.DittoUser, error) {
	if rec := u.Status.CreatedOnServer; rec != nil && rec.ID == "" {
		return u, nil
	}
	obj := u.DeepCopy()
	obj.Status.CreatedOnServer = &dittov1alpha1.ServerObjectRecord{}
	updated, err := c.ditto.DittofsV1alpha1().DittoUsers(u.Namespace).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: EventComponent})
	if err != nil {
		return nil, fmt.Errorf("record the creation of user %q in DittoUser %s/%s: %w", Username(u), u.Namespace, u.Name, err)
	}
	c.ownStatus.Record(statusOwner(u), statusKey("DittoUser", u), u.ResourceVersion)
	p.replaceUser(updated)
	return updated, nil
}

// serverObjects are the users and shares the server has, by name, read once
// per pass.
type serverObjects struct {
	users  map[string]dfsapi.User
	shares map[string]dfsapi.Share
}

// observe lists the server's users and shares, each only when an object of
// that kind references the server.
func observe(ctx context.Context, api dfsapi.API, p *pass) (serverObjects, error) {
	var o serverObjects
	if len(p.users) > 0 {
		list, err := api.ListUsers(ctx)
		if err != nil {
			return o, classify(err)
		}
		o.users = make(map[string]dfsapi.User, len(list))
		for _, u := range list {
			o.users[u.Username] = u
		}
	}
	if len(p.shares) > 0 {
		list, err := api.ListShares(ctx)
		if err != nil {
			return o, classify(err)
		}
		o.shares = make(map[string]dfsapi.Share, len(list))
		for _, s := range list {
			o.shares[normalizeExport(s.Name)] = s
		}
	}
	return o, nil
}

func (o serverObjects) userClaim(u *dittov1alpha1.DittoUser) (claim, dfsapi.User) {
	got, exists := o.users[Username(u)]
	return claimOn(u.Status.CreatedOnServer, exists, got.ID), got
}

func (o serverObjects) shareClaim(s *dittov1alpha1.DittoShare) (claim, dfsapi.Share) {
	got, exists := o.shares[normalizeExport(ExportName(s))]
	return claimOn(s.Status.CreatedOnServer, exists, got.ID), got
}
