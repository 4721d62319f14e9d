package serverstate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Tenancy. A DittoServer says in spec.tenants which namespaces may attach
// DittoShares and DittoUsers to it (the Gateway API's allowedRoutes is the
// model): its own namespace only by default, every namespace, or those whose
// labels a selector matches. An object from a namespace that is not allowed
// is not realised on the server, gets Ready=False (NotAllowedByServer) and
// one Warning on itself, and is not counted in the server's status, so that
// another team cannot disturb the server's owner with objects of its own.

// serverKeyOf is the DittoServer a DittoShare or DittoUser references.
func serverKeyOf(namespace string, ref dittov1alpha1.ServerReference) cache.ObjectName {
	if ref.Namespace != "" {
		namespace = ref.Namespace
	}
	return cache.ObjectName{Namespace: namespace, Name: ref.Name}
}

// namespaceLabels returns the labels of a namespace, and whether it is known.
type namespaceLabels func(namespace string) (labels.Set, bool)

// admits tells whether ds accepts DittoShares and DittoUsers from namespace
// ns, and if not, why.
func admits(ds *dittov1alpha1.DittoServer, ns string, nsLabels namespaceLabels) (bool, string) {
	if ns == ds.Namespace {
		return true, ""
	}
	from := dittov1alpha1.TenantsSame
	if t := ds.Spec.Tenants; t != nil && t.From != "" {
		from = t.From
	}
	switch from {
	case dittov1alpha1.TenantsAll:
		return true, ""
	case dittov1alpha1.TenantsSelector:
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Tenants.Selector)
		if err != nil {
			return false, fmt.Sprintf("DittoServer %s/%s has an invalid spec.tenants.selector: %v", ds.Namespace, ds.Name, err)
		}
		set, known := labels.Set(nil), false
		if nsLabels != nil {
			set, known = nsLabels(ns)
		}
		if known && sel.Matches(set) {
			return true, ""
		}
		return false, fmt.Sprintf("DittoServer %s/%s accepts DittoShares and DittoUsers only from its own namespace and the namespaces its spec.tenants.selector matches; namespace %q does not match",
			ds.Namespace, ds.Name, ns)
	}
	return false, fmt.Sprintf("DittoServer %s/%s accepts DittoShares and DittoUsers only from its own namespace (spec.tenants); ask its owner to allow namespace %q",
		ds.Namespace, ds.Name, ns)
}

// refused are the objects a server does not accept, with why.
type refused struct {
	shares []*dittov1alpha1.DittoShare
	users  []*dittov1alpha1.DittoUser
	why    map[string]string // by namespace
}

// admitted splits a server's referrers into those it accepts and those it
// refuses.
func (c *Controller) admitted(ds *dittov1alpha1.DittoServer, shares []*dittov1alpha1.DittoShare, users []*dittov1alpha1.DittoUser) ([]*dittov1alpha1.DittoShare, []*dittov1alpha1.DittoUser, refused) {
	r := refused{why: map[string]string{}}
	ok := func(ns string) bool {
		if _, seen := r.why[ns]; seen {
			return false
		}
		allowed, why := admits(ds, ns, c.namespaceLabelsOf)
		if !allowed {
			r.why[ns] = why
		}
		return allowed
	}
	var keptShares []*dittov1alpha1.DittoShare
	for _, s := range shares {
		if ok(s.Namespace) {
			keptShares = append(keptShares, s)
		} else {
			r.shares = append(r.shares, s)
		}
	}
	var keptUsers []*dittov1alpha1.DittoUser
	for _, u := range users {
		if ok(u.Namespace) {
			keptUsers = append(keptUsers, u)
		} else {
			r.users = append(r.users, u)
		}
	}
	return keptShares, keptUsers, r
}

// settleRefused releases refused objects being deleted (nothing on the
// server is touched: the server never accepted them) and reports the others
// NotAllowedByServer, with one Warning each on the transition.
func (c *Controller) settleRefused(ctx context.Context, r refused) error {
	now := metav1.NewTime(c.now())
	for _, s := range r.shares {
		why := r.why[s.Namespace]
		var err error
		if deleting(s) {
			err = c.releaseShare(ctx, s, corev1.EventTypeNormal, ReasonReleased, why+": nothing deleted on the server")
		} else if s.DeletionTimestamp == nil {
			err = c.writeShareStatus(ctx, s, notReady(ReasonNotAllowedByServer, why), now, shareSeen{})
		}
		if err != nil {
			return err
		}
	}
	for _, u := range r.users {
		why := r.why[u.Namespace]
		var err error
		if deleting(u) {
			err = c.releaseUser(ctx, u, corev1.EventTypeNormal, ReasonReleased, why+": nothing deleted on the server")
		} else if u.DeletionTimestamp == nil {
			err = c.writeUserStatus(ctx, u, notReady(ReasonNotAllowedByServer, why), now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// namespaceLabelsOf reads a namespace's labels from the cache; nil when the
// controller watches one namespace (no other namespace can attach then).
func (c *Controller) namespaceLabelsOf(ns string) (labels.Set, bool) {
	if c.namespaces == nil {
		return nil, false
	}
	obj, err := c.namespaces.Get(ns)
	if err != nil {
		return nil, false
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, false
	}
	return labels.Set(m.GetLabels()), true
}

// handleNamespace enqueues the servers referenced from a namespace whose
// labels changed: whether it may attach to them can have changed.
func (c *Controller) handleNamespace(oldObj, newObj interface{}) {
	o, ok1 := oldObj.(metav1.Object)
	n, ok2 := newObj.(metav1.Object)
	if !ok1 || !ok2 || labels.Equals(o.GetLabels(), n.GetLabels()) {
		return
	}
	ns := n.GetName()
	shares, err := c.shareLister.DittoShares(ns).List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
	}
	for _, s := range shares {
		c.enqueue(serverKeyOf(s.Namespace, s.Spec.ServerRef))
	}
	users, err := c.userLister.DittoUsers(ns).List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(err)
	}
	for _, u := range users {
		c.enqueue(serverKeyOf(u.Namespace, u.Spec.ServerRef))
	}
}
