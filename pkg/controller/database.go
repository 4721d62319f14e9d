package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// perconaReadyState is the PerconaPGCluster status.state of a usable cluster.
const perconaReadyState = "ready"

// resolveDatabase decides the database gate. For an external PostgreSQL the
// Secret was checked with the other inputs; for Percona it creates the
// cluster when missing and waits for it to be ready and for its user Secret.
// It adds the user Secret's version to versions.
func (c *Controller) resolveDatabase(ctx context.Context, ds *dittov1alpha1.DittoServer, versions map[string]string) (*dbState, string, error) {
	if !resources.PerconaEnabled(ds) {
		name := ds.Spec.Database.PostgresSecretRef.Name
		return &dbState{ready: true, reason: ReasonPostgresSecretResolved,
			message: fmt.Sprintf("PostgreSQL connection from Secret %s", name)}, name, nil
	}

	clusterName := resources.PerconaClusterName(ds)
	lister, state := c.percona.Lister()
	switch state {
	case perconaNotInstalled:
		return &dbState{failed: true, reason: ReasonPerconaNotInstalled,
			message: "spec.percona.enabled is true but the PerconaPGCluster CRD (pgv2.percona.com/v2) is not installed: install the Percona Operator for PostgreSQL, or disable spec.percona"}, "", nil
	case perconaSyncing:
		return &dbState{reason: ReasonPerconaNotReady, message: "Waiting for the PerconaPGCluster cache to sync"}, "", nil
	}

	var cluster *unstructured.Unstructured
	obj, err := lister.ByNamespace(ds.Namespace).Get(clusterName)
	switch {
	case apierrors.IsNotFound(err):
		// Created once; later edits by the user are theirs to keep.
		cluster, err = c.percona.dyn.Resource(resources.PerconaGVR).Namespace(ds.Namespace).
			Create(ctx, resources.PerconaCluster(ds), createOpts)
		if apierrors.IsAlreadyExists(err) {
			cluster, err = c.percona.dyn.Resource(resources.PerconaGVR).Namespace(ds.Namespace).Get(ctx, clusterName, metav1.GetOptions{})
		} else if err == nil {
			klog.FromContext(ctx).V(2).Info("Created", "kind", "PerconaPGCluster", "name", clusterName)
		}
		if err != nil {
			return nil, "", fmt.Errorf("create PerconaPGCluster %s: %w", clusterName, err)
		}
	case err != nil:
		return nil, "", err
	default:
		var ok bool
		if cluster, ok = obj.(*unstructured.Unstructured); !ok {
			return nil, "", fmt.Errorf("unexpected object %T in the PerconaPGCluster cache", obj)
		}
	}
	if !controlledBy(cluster, ds) {
		return nil, "", &notOwnedError{"PerconaPGCluster", ds.Namespace, clusterName}
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

func stateOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
