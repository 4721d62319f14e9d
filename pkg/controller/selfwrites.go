package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// The DittoServer's own writes — the finalizer patches and the status — and
// the read a pass starts from. Like the children's writer, they feed the
// read-your-writes memory (kit.OwnWrites) and consult it; no sync step does.

// selfKey is the DittoServer's own key in the read-your-writes memory.
func selfKey(ds cache.ObjectName) kit.ObjectKey {
	return kit.ObjectKey{Kind: "DittoServer", Namespace: ds.Namespace, Name: ds.Name}
}

// loadDittoServer returns a copy of the cached DittoServer, nil when it is
// gone (and then forgets what was kept for it). Every write to the
// DittoServer in a pass is computed from this object, so this is where they
// ask whether the cache has seen the last of them: if not, the pass would
// add the finalizer twice or write a status the server refuses, and it ends
// as kit.CacheBehind instead; the informer delivering the write requeues.
func (c *Controller) loadDittoServer(ctx context.Context, key cache.ObjectName) (*dittov1alpha1.DittoServer, error) {
	cached, err := c.dsLister.DittoServers(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		klog.FromContext(ctx).V(4).Info("DittoServer is gone")
		c.forgetDittoServer(key)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read DittoServer %s from cache: %w", key, err)
	}
	if c.ownWrites.Behind(key, selfKey(key), cached.ResourceVersion) {
		return nil, kit.ErrCacheBehind
	}
	return cached.DeepCopy(), nil
}

func hasFinalizer(ds *dittov1alpha1.DittoServer) bool {
	for _, f := range ds.Finalizers {
		if f == Finalizer {
			return true
		}
	}
	return false
}

// addFinalizer adds the finalizer with a patch guarded by resourceVersion and
// returns the updated object.
func (c *Controller) addFinalizer(ctx context.Context, ds *dittov1alpha1.DittoServer) (*dittov1alpha1.DittoServer, error) {
	data, pt, err := mergePatchWithVersion(ds.ResourceVersion, map[string]interface{}{
		"finalizers": append(append([]string{}, ds.Finalizers...), Finalizer),
	})
	if err != nil {
		return nil, err
	}
	updated, err := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace).Patch(ctx, ds.Name, pt, data, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, err
	}
	key := cache.MetaObjectToName(ds)
	c.ownWrites.Record(key, selfKey(key), ds.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Finalizer added")
	return updated, nil
}

// removeFinalizer removes the finalizer, re-reading the object on conflict.
func (c *Controller) removeFinalizer(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	client := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace)
	key := cache.MetaObjectToName(ds)
	obj := ds
	first := true
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			latest, err := client.Get(ctx, ds.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			obj = latest
		}
		first = false
		if !hasFinalizer(obj) {
			return nil
		}
		remaining := []string{}
		for _, f := range obj.Finalizers {
			if f != Finalizer {
				remaining = append(remaining, f)
			}
		}
		data, pt, err := mergePatchWithVersion(obj.ResourceVersion, map[string]interface{}{"finalizers": remaining})
		if err != nil {
			return err
		}
		_, err = client.Patch(ctx, ds.Name, pt, data, metav1.PatchOptions{FieldManager: FieldManager})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		c.ownWrites.Record(key, selfKey(key), ds.ResourceVersion, obj.ResourceVersion)
		klog.FromContext(ctx).V(2).Info("Finalizer removed")
		return nil
	})
}

// writeStatus writes the status that compute derives from the DittoServer
// through the status subresource; on a Conflict it re-reads the DittoServer
// and computes again (compute returns nil when there is nothing to write).
// It returns the object the write replaced and the object as written, whose
// resourceVersion a later write needs; written is nil when nothing was
// written or the DittoServer is gone.
func (c *Controller) writeStatus(ctx context.Context, ds *dittov1alpha1.DittoServer,
	compute func(base *dittov1alpha1.DittoServer) *dittov1alpha1.DittoServerStatus) (replaced, written *dittov1alpha1.DittoServer, err error) {
	client := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace)
	key := cache.MetaObjectToName(ds)
	base := ds
	first := true
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			c.metrics.countConflict(apierrors.NewConflict(dittov1alpha1.Resource("dittoservers"), ds.Name, nil))
			latest, err := client.Get(ctx, ds.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if latest.UID != ds.UID {
				return nil // gone and recreated
			}
			base = latest
		}
		first = false
		status := compute(base)
		if status == nil {
			return nil
		}
		obj := base.DeepCopy()
		obj.Status = *status
		w, err := client.UpdateStatus(ctx, obj, updateOpts)
		if err != nil {
			return err
		}
		written = w
		c.ownWrites.Record(key, selfKey(key), ds.ResourceVersion, base.ResourceVersion)
		klog.FromContext(ctx).V(2).Info("Status updated", "phase", status.Phase)
		return nil
	})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	return base, written, err
}
