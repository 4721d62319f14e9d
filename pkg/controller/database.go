package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
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

	cluster, err := createOnce(ctx, c.perconaWriter(lister), ds, ds.Namespace, clusterName,
		func() (*unstructured.Unstructured, error) { return resources.PerconaCluster(ds), nil })
	if err != nil {
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

func stateOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
