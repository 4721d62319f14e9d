package serverstate

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
)

// Index names. DittoShares and DittoUsers are indexed by the server they
// reference; DittoUsers also by their password Secret, DittoServers by their
// S3 credentials Secret, so that a Secret change reaches the server's queue key.
const (
	serverIndex = "serverstate.byServer"
	secretIndex = "serverstate.bySecret"
)

func indexByServer(obj interface{}) ([]string, error) {
	switch o := obj.(type) {
	case *dittov1alpha1.DittoShare:
		return []string{serverKeyOf(o.Namespace, o.Spec.ServerRef).String()}, nil
	case *dittov1alpha1.DittoUser:
		return []string{serverKeyOf(o.Namespace, o.Spec.ServerRef).String()}, nil
	}
	return nil, nil
}

func indexBySecret(obj interface{}) ([]string, error) {
	switch o := obj.(type) {
	case *dittov1alpha1.DittoUser:
		if n := o.Spec.PasswordSecretRef.Name; n != "" {
			return []string{o.Namespace + "/" + n}, nil
		}
	case *dittov1alpha1.DittoServer:
		if n := s3SecretName(o); n != "" {
			return []string{o.Namespace + "/" + n}, nil
		}
	}
	return nil, nil
}

func (c *Controller) registerHandlers(inf Informers) error {
	for name, idx := range map[string]cache.SharedIndexInformer{
		"DittoShare": inf.DittoShares.Informer(),
		"DittoUser":  inf.DittoUsers.Informer(),
	} {
		if err := idx.AddIndexers(cache.Indexers{serverIndex: indexByServer}); err != nil {
			return fmt.Errorf("add %s server index: %w", name, err)
		}
	}
	for name, idx := range map[string]cache.SharedIndexInformer{
		"DittoUser":   inf.DittoUsers.Informer(),
		"DittoServer": inf.DittoServers.Informer(),
	} {
		if err := idx.AddIndexers(cache.Indexers{secretIndex: indexBySecret}); err != nil {
			return fmt.Errorf("add %s secret index: %w", name, err)
		}
	}
	if _, err := inf.DittoServers.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueServer,
		UpdateFunc: c.handleServerUpdate,
		DeleteFunc: c.enqueueServer,
	}); err != nil {
		return fmt.Errorf("add DittoServer handler: %w", err)
	}
	referrers := cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueReferencedServer,
		UpdateFunc: c.handleReferrerUpdate,
		DeleteFunc: c.enqueueReferencedServer,
	}
	for name, informer := range map[string]cache.SharedIndexInformer{
		"DittoShare": inf.DittoShares.Informer(),
		"DittoUser":  inf.DittoUsers.Informer(),
	} {
		if _, err := informer.AddEventHandler(referrers); err != nil {
			return fmt.Errorf("add %s handler: %w", name, err)
		}
	}
	if inf.Namespaces != nil {
		if _, err := inf.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: c.handleNamespace}); err != nil {
			return fmt.Errorf("add Namespace handler: %w", err)
		}
	}
	if _, err := inf.Secrets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.handleSecret,
		UpdateFunc: func(oldObj, newObj interface{}) {
			if !caches.Unchanged(oldObj, newObj) {
				c.handleSecret(newObj)
			}
		},
		DeleteFunc: c.handleSecret,
	}); err != nil {
		return fmt.Errorf("add Secret handler: %w", err)
	}
	return nil
}

// handleServerUpdate enqueues a DittoServer on a resync (the periodic look
// that repairs what was changed behind the operator's back on the server)
// and on the changes this controller acts on; not on every status write of
// a rollout, each of which would cost a round of REST reads.
func (c *Controller) handleServerUpdate(oldObj, newObj interface{}) {
	o, ok1 := oldObj.(*dittov1alpha1.DittoServer)
	n, ok2 := newObj.(*dittov1alpha1.DittoServer)
	if !ok1 || !ok2 {
		return
	}
	if o.ResourceVersion == n.ResourceVersion || o.Generation != n.Generation ||
		(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
		serverAvailable(o) != serverAvailable(n) {
		c.enqueueServer(newObj)
	}
}

func (c *Controller) enqueueServer(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	key, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.enqueue(key)
}

// handleReferrerUpdate enqueues the server of a DittoShare or DittoUser
// whose spec or lifecycle changed.
func (c *Controller) handleReferrerUpdate(oldObj, newObj interface{}) {
	if specOrLifecycleChanged(oldObj, newObj) {
		c.enqueueReferencedServer(newObj)
	}
}

// enqueueReferencedServer enqueues the server a DittoShare or DittoUser names.
func (c *Controller) enqueueReferencedServer(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	switch o := obj.(type) {
	case *dittov1alpha1.DittoShare:
		c.enqueue(serverKeyOf(o.Namespace, o.Spec.ServerRef))
	case *dittov1alpha1.DittoUser:
		c.enqueue(serverKeyOf(o.Namespace, o.Spec.ServerRef))
	}
}

// handleSecret enqueues the servers whose users or S3 store read the Secret.
func (c *Controller) handleSecret(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	key := m.GetNamespace() + "/" + m.GetName()
	for _, indexer := range []cache.Indexer{c.userIndexer, c.dsIndexer} {
		objs, err := indexer.ByIndex(secretIndex, key)
		if err != nil {
			utilruntime.HandleError(err)
			continue
		}
		for _, o := range objs {
			if u, ok := o.(*dittov1alpha1.DittoUser); ok {
				c.enqueueReferencedServer(u)
			} else {
				c.enqueueServer(o)
			}
		}
	}
}

// specOrLifecycleChanged tells whether a DittoShare or DittoUser update
// matters to its server: a new spec, a deletion, a finalizer change. Status
// writes (this controller's own) and resyncs do not: the DittoServer's
// resync already brings the periodic look.
func specOrLifecycleChanged(oldObj, newObj interface{}) bool {
	o, err1 := meta.Accessor(oldObj)
	n, err2 := meta.Accessor(newObj)
	if err1 != nil || err2 != nil {
		return true
	}
	return o.GetGeneration() != n.GetGeneration() ||
		(o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil) ||
		!slices.Equal(o.GetFinalizers(), n.GetFinalizers())
}

// serverAvailable tells whether the server runs and answers: the main
// controller's Available condition is True with a replica available (True
// also describes a server scaled to zero, which answers nothing).
func serverAvailable(ds *dittov1alpha1.DittoServer) bool {
	return meta.IsStatusConditionTrue(ds.Status.Conditions, dittov1alpha1.ConditionAvailable) && ds.Status.AvailableReplicas > 0
}

// sharesOf and usersOf list the objects that reference the server.
func (c *Controller) sharesOf(key cache.ObjectName) []*dittov1alpha1.DittoShare {
	objs, _ := c.shareIndexer.ByIndex(serverIndex, key.String())
	out := make([]*dittov1alpha1.DittoShare, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*dittov1alpha1.DittoShare); ok {
			out = append(out, s)
		}
	}
	return out
}

func (c *Controller) usersOf(key cache.ObjectName) []*dittov1alpha1.DittoUser {
	objs, _ := c.userIndexer.ByIndex(serverIndex, key.String())
	out := make([]*dittov1alpha1.DittoUser, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*dittov1alpha1.DittoUser); ok {
			out = append(out, u)
		}
	}
	return out
}
