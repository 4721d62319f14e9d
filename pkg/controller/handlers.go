package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// secretIndex indexes DittoServers by "namespace/name" of every Secret they read.
const secretIndex = "bySecret"

func indexBySecret(obj interface{}) ([]string, error) {
	ds, ok := obj.(*dittov1alpha1.DittoServer)
	if !ok {
		return nil, nil
	}
	names := referencedSecretNames(ds)
	keys := make([]string, 0, len(names))
	for _, name := range names {
		keys = append(keys, ds.Namespace+"/"+name)
	}
	return keys, nil
}

func (c *Controller) registerHandlers(inf caches.Informers) error {
	if _, err := inf.DittoServers.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueDittoServer,
		// Resyncs are enqueued too: a converged DittoServer costs no request,
		// and the periodic look repairs children deleted behind our back.
		UpdateFunc: func(oldObj, newObj interface{}) {
			c.forgetSecretsNoLongerRead(oldObj, newObj)
			c.enqueueDittoServer(newObj)
		},
		DeleteFunc: func(obj interface{}) {
			c.forgetSecretsNoLongerRead(obj, nil)
			c.enqueueDittoServer(obj)
		},
	}); err != nil {
		return fmt.Errorf("add DittoServer handler: %w", err)
	}
	children := cache.ResourceEventHandlerFuncs{
		AddFunc:    c.handleOwnedObject,
		UpdateFunc: c.handleOwnedUpdate,
		DeleteFunc: c.handleOwnedObject,
	}
	for name, informer := range map[string]cache.SharedIndexInformer{
		"StatefulSet":   inf.StatefulSets.Informer(),
		"Service":       inf.Services.Informer(),
		"ConfigMap":     inf.ConfigMaps.Informer(),
		"NetworkPolicy": inf.NetworkPolicies.Informer(),
	} {
		if _, err := informer.AddEventHandler(children); err != nil {
			return fmt.Errorf("add %s handler: %w", name, err)
		}
	}
	if _, err := inf.Secrets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.handleSecret,
		UpdateFunc: func(oldObj, newObj interface{}) { c.handleSecretUpdate(oldObj, newObj) },
		DeleteFunc: c.handleSecretDelete,
	}); err != nil {
		return fmt.Errorf("add Secret handler: %w", err)
	}
	if _, err := inf.StorageClasses.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.handleStorageClass,
		DeleteFunc: c.handleStorageClass,
	}); err != nil {
		return fmt.Errorf("add StorageClass handler: %w", err)
	}
	return c.registerResizeHandlers(inf)
}

func (c *Controller) enqueueDittoServer(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	ref, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.enqueue(ref)
}

// forgetSecretsNoLongerRead drops the key names of the Secrets that a
// DittoServer stopped reading (all of them when it is deleted: newObj nil)
// and no other DittoServer reads. The index already reflects the change when
// the handler runs.
func (c *Controller) forgetSecretsNoLongerRead(oldObj, newObj interface{}) {
	if tomb, ok := oldObj.(cache.DeletedFinalStateUnknown); ok {
		oldObj = tomb.Obj
	}
	old, ok := oldObj.(*dittov1alpha1.DittoServer)
	if !ok {
		return
	}
	updated, _ := newObj.(*dittov1alpha1.DittoServer)
	c.forgetUnreferencedSecrets(c.dsIndexer, old.Namespace, secretsDroppedBy(old, updated))
}

// metaOf unwraps tombstones and returns the object's metadata.
func metaOf(obj interface{}) (metav1.Object, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(metav1.Object)
	return m, ok
}

func (c *Controller) handleOwnedUpdate(oldObj, newObj interface{}) {
	if caches.Unchanged(oldObj, newObj) {
		return
	}
	c.handleOwnedObject(newObj)
}

// handleOwnedObject requeues the DittoServer that controls obj. The owner
// reference must name a DittoServer whose UID matches the one in the cache,
// so that a child left by a deleted namesake does not wake the new one. An
// orphan (its owner references just removed by the garbage collector after
// an orphaning delete) wakes the DittoServer of its instance label, which
// may adopt it (adopt.go).
func (c *Controller) handleOwnedObject(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	owner := metav1.GetControllerOf(m)
	if owner == nil {
		l := m.GetLabels()
		if name := l[resources.InstanceLabel]; name != "" && l[resources.ManagedByLabel] == resources.ManagedByValue {
			if _, err := c.dsLister.DittoServers(m.GetNamespace()).Get(name); err == nil {
				c.enqueue(cache.ObjectName{Namespace: m.GetNamespace(), Name: name})
			}
		}
		return
	}
	if owner.Kind != "DittoServer" || owner.APIVersion != dittov1alpha1.SchemeGroupVersion.String() {
		return
	}
	ds, err := c.dsLister.DittoServers(m.GetNamespace()).Get(owner.Name)
	if err != nil || ds.UID != owner.UID {
		return
	}
	c.enqueue(cache.ObjectName{Namespace: ds.Namespace, Name: ds.Name})
}

func (c *Controller) handleSecretUpdate(oldObj, newObj interface{}) {
	if caches.Unchanged(oldObj, newObj) {
		return
	}
	c.handleSecret(newObj)
}

// handleSecret requeues every DittoServer that reads the Secret.
func (c *Controller) handleSecret(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	c.enqueueByIndex(secretIndex, m.GetNamespace()+"/"+m.GetName())
}

// handleSecretDelete also drops what the operator kept of the Secret's keys.
func (c *Controller) handleSecretDelete(obj interface{}) {
	if m, ok := metaOf(obj); ok {
		c.secretKeys.forget(m.GetNamespace(), m.GetName())
	}
	c.handleSecret(obj)
}

func (c *Controller) enqueueByIndex(index, value string) {
	objs, err := c.dsIndexer.ByIndex(index, value)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, obj := range objs {
		c.enqueueDittoServer(obj)
	}
}

// handleStorageClass requeues the DittoServers that name the StorageClass
// (for their volumes or their Percona cluster's), so that creating a missing
// class resumes them at once.
func (c *Controller) handleStorageClass(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	c.enqueueServersWhere(func(ds *dittov1alpha1.DittoServer) bool {
		for _, sc := range []*string{ds.Spec.Storage.StorageClassName, perconaStorageClass(ds)} {
			if sc != nil && *sc == m.GetName() {
				return true
			}
		}
		return false
	})
}

// enqueuePerconaUsers requeues every DittoServer that runs a Percona cluster;
// called when the PerconaPGCluster CRD appears or goes away.
func (c *Controller) enqueuePerconaUsers() {
	c.enqueueServersWhere(func(ds *dittov1alpha1.DittoServer) bool {
		return resources.PerconaEnabled(ds) || ds.Status.PerconaClusterName != ""
	})
}

// enqueueServersWhere enqueues every cached DittoServer that want selects:
// the one place a cluster-wide change (a StorageClass, a CRD) fans out.
func (c *Controller) enqueueServersWhere(want func(*dittov1alpha1.DittoServer) bool) {
	all, err := c.dsLister.List(everything)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	for _, ds := range all {
		if want(ds) {
			c.enqueue(cache.MetaObjectToName(ds))
		}
	}
}

// handlePerconaCluster requeues the DittoServer of a PerconaPGCluster on
// change: its owner, or for a kept cluster the DittoServer it was kept for.
func (c *Controller) handlePerconaCluster(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	if name := m.GetLabels()[resources.KeptForLabel]; name != "" && metav1.GetControllerOf(m) == nil &&
		m.GetLabels()[resources.ManagedByLabel] == resources.ManagedByValue {
		if _, err := c.dsLister.DittoServers(m.GetNamespace()).Get(name); err == nil {
			c.enqueue(cache.ObjectName{Namespace: m.GetNamespace(), Name: name})
		}
		return
	}
	c.handleOwnedObject(obj)
}
