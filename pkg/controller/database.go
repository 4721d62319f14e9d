package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// perconaReadyState is the PerconaPGCluster status.state of a usable cluster.
const perconaReadyState = "ready"

// resolveDatabase decides the database gate. For an external PostgreSQL the
// Secret was checked with the other inputs; for Percona it creates the
// cluster once (later edits of it are the user's) and waits for it to be
// ready and for its user Secret. It adds the user Secret's version to
// versions and returns the name of the Secret the server connects with.
func (c *Controller) resolveDatabase(ctx context.Context, ds *dittov1alpha1.DittoServer, versions map[string]string) (*dbState, string, error) {
	if !resources.PerconaEnabled(ds) {
		name := resources.PostgresSecretName(ds) // checkSpec refused a postgres database without a Secret
		return &dbState{ready: true, reason: ReasonPostgresSecretResolved,
			message: fmt.Sprintf("PostgreSQL connection from Secret %s", name)}, name, nil
	}

	clusterName := resources.PerconaClusterName(ds)
	lister, state := c.percona.Lister()
	switch state {
	case crdwatch.NotInstalled:
		return &dbState{failed: true, reason: ReasonPerconaNotInstalled,
			message: "spec.percona.enabled is true but the PerconaPGCluster CRD (pgv2.percona.com/v2) is not installed: install the Percona Operator for PostgreSQL, or disable spec.percona"}, "", nil
	case crdwatch.Syncing:
		return &dbState{reason: ReasonPerconaNotReady, message: "Waiting for the PerconaPGCluster cache to sync"}, "", nil
	}

	w := c.perconaWriter(lister)
	cluster, err := createOnce(ctx, w, ds, ds.Namespace, clusterName,
		func() (*unstructured.Unstructured, error) { return resources.PerconaCluster(ds), nil })
	if err != nil {
		return nil, "", err
	}
	if cluster, err = c.settlePerconaOwner(ctx, w, ds, cluster, resources.PerconaDeletedWithServer(ds)); err != nil {
		return nil, "", err
	}

	if s := resources.PerconaState(cluster); s != perconaReadyState {
		return &dbState{reason: ReasonPerconaNotReady,
			message: fmt.Sprintf("Waiting for PostgreSQL cluster %s (state: %s)", clusterName, stateOrUnknown(s))}, "", nil
	}
	secretName := resources.PerconaUserSecretName(ds)
	info, p, err := c.lookupSecret(ctx, ds.Namespace, secretRequirement{name: secretName,
		field: "the Percona user Secret", keys: postgresSecretKeys})
	if err != nil {
		return nil, "", err
	}
	if p != nil {
		return &dbState{reason: ReasonPerconaNotReady,
			message: fmt.Sprintf("Waiting for PostgreSQL cluster %s: %s", clusterName, p.message)}, "", nil
	}
	versions[secretName] = info.resourceVersion
	return &dbState{ready: true, reason: ReasonPerconaReady,
		message: fmt.Sprintf("PostgreSQL cluster %s is ready", clusterName)}, secretName, nil
}

// settlePerconaOwner makes the cluster carry this DittoServer's owner
// reference exactly when owned is true (deleteWithServer): a kept cluster
// must never be a dependent the garbage collector could delete, whatever
// propagation policy deletes the DittoServer. Flipping deleteWithServer adds
// or removes the reference; the write is one merge patch guarded by the
// cluster's resourceVersion.
func (c *Controller) settlePerconaOwner(ctx context.Context, w writer[*unstructured.Unstructured], ds *dittov1alpha1.DittoServer,
	cluster *unstructured.Unstructured, owned bool) (*unstructured.Unstructured, error) {
	data, pt, err := ownerRefsPatch(cluster, ds, owned)
	if err != nil || data == nil {
		return cluster, err
	}
	client := c.dyn.Resource(resources.PerconaGVR).Namespace(cluster.GetNamespace())
	patched, err := client.Patch(ctx, cluster.GetName(), pt, data, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("set the owner of PerconaPGCluster %s/%s: %w", cluster.GetNamespace(), cluster.GetName(), err)
	}
	w.own.Record(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: w.kind, Namespace: cluster.GetNamespace(), Name: cluster.GetName()},
		cluster.GetResourceVersion())
	klog.FromContext(ctx).V(2).Info("Set the owner of the PostgreSQL cluster", "perconapgcluster", klog.KObj(cluster), "deleteWithServer", owned)
	return patched, nil
}

// releasePercona removes this DittoServer's owner reference from the
// cluster it created while Percona is no longer enabled: disabling or
// removing spec.percona keeps the database, it never deletes it.
func (c *Controller) releasePercona(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	lister, state := c.percona.Lister()
	if state != crdwatch.Ready {
		return nil
	}
	w := c.perconaWriter(lister)
	cluster, err := w.cached(ds.Namespace, resources.PerconaClusterName(ds))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !controlledBy(cluster, ds) {
		return nil
	}
	v, _ := cachedVersion(cluster, nil)
	if w.own.Behind(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: w.kind, Namespace: ds.Namespace, Name: cluster.GetName()}, v) {
		return kit.ErrCacheBehind
	}
	_, err = c.settlePerconaOwner(ctx, w, ds, cluster, false)
	return err
}

func stateOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
