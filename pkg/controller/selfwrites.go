package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	dittoac "github.com/dittofs/dittofs-operator/pkg/generated/applyconfiguration/dittofs/v1alpha1"
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

// applyStatus applies this controller's part of status (ownedStatus) with
// server-side apply under FieldManager, the server state controller's part
// being its own. It writes nothing when the DittoServer as read (the cache,
// which has seen this controller's last write: loadDittoServer) already shows
// that part; it returns the DittoServer as written, nil when nothing was
// written or the DittoServer is gone. The apply carries the UID: a
// DittoServer deleted and made again under its name is not given the old
// one's status.
func (c *Controller) applyStatus(ctx context.Context, ds *dittov1alpha1.DittoServer, status *dittov1alpha1.DittoServerStatus) (*dittov1alpha1.DittoServer, error) {
	desired := ownedStatus(status)
	if equality.Semantic.DeepEqual(desired, ownedStatus(&ds.Status)) {
		return nil, nil
	}
	key := cache.MetaObjectToName(ds)
	apply := dittoac.DittoServer(ds.Name, ds.Namespace).WithUID(ds.UID).WithStatus(desired)
	written, err := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace).ApplyStatus(ctx, apply, applyOpts)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Gone, or gone and made again (another UID): its own pass writes.
		klog.FromContext(ctx).V(2).Info("DittoServer gone; status not applied", "err", err)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("apply status of DittoServer %s: %w", key, err)
	}
	c.ownWrites.Record(key, selfKey(key), ds.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Status updated", "phase", status.Phase)
	return written, nil
}

// applyOpts: the status fields this controller applies are its own (the
// server state controller applies others, ServerStateOwns), so forcing only
// takes them back from a writer that is not an operator controller.
var applyOpts = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// ownedStatus is the DittoServer controller's part of status as an apply
// configuration: every field but the server state controller's (stores,
// shares, sharesReady, s3CredentialsVersion, ServerStateOwns conditions).
// A field it leaves out that it applied before is removed by the API server.
func ownedStatus(st *dittov1alpha1.DittoServerStatus) *dittoac.DittoServerStatusApplyConfiguration {
	a := dittoac.DittoServerStatus().WithReplicas(st.Replicas).WithReadyReplicas(st.ReadyReplicas).
		WithAvailableReplicas(st.AvailableReplicas)
	if st.ObservedGeneration != 0 {
		a.WithObservedGeneration(st.ObservedGeneration)
	}
	for _, f := range []struct {
		value string
		set   func(string) *dittoac.DittoServerStatusApplyConfiguration
	}{
		{st.Selector, a.WithSelector}, {st.NFSEndpoint, a.WithNFSEndpoint}, {st.SMBEndpoint, a.WithSMBEndpoint},
		{st.ConfigHash, a.WithConfigHash}, {st.PerconaClusterName, a.WithPerconaClusterName},
	} {
		if f.value != "" {
			f.set(f.value)
		}
	}
	if st.Phase != "" {
		a.WithPhase(st.Phase)
	}
	if r := st.RestoredFrom; r != nil {
		a.WithRestoredFrom(dittoac.RestoredFrom().WithBackup(r.Backup).WithNamespace(r.Namespace).WithUID(r.UID))
	}
	a.WithConditions(kit.ConditionsApply(st.Conditions, func(t string) bool { return !dittov1alpha1.ServerStateOwns(t) })...)
	return a
}
