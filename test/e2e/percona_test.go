package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// With the PerconaPGCluster CRD installed but no Percona operator, the
// operator creates the cluster and holds the server back until the test,
// playing the Percona operator, marks the cluster ready and writes its user
// Secret.
func TestPerconaGate(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("percona")
	clusterName := name + "-postgres"

	ds := n.waitDS(name, "DatabaseReady=False (PerconaNotReady)", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionDatabaseReady, metav1.ConditionFalse, controller.ReasonPerconaNotReady), statusSummary(ds)
	})
	if ds.Status.PerconaClusterName != clusterName || ds.Status.Phase != dittov1alpha1.PhasePending {
		t.Errorf("status.perconaClusterName %q phase %q, want %q and Pending", ds.Status.PerconaClusterName, ds.Status.Phase, clusterName)
	}
	cluster := n.perconaCluster(clusterName)
	// deleteWithServer false: kept, never a dependent of the DittoServer.
	if cluster == nil || len(cluster.GetOwnerReferences()) != 0 || !resources.KeptFor(cluster, ds) {
		t.Fatalf("PerconaPGCluster %s missing, or not kept for the DittoServer without owner: %v", clusterName, cluster)
	}
	for _, f := range []struct {
		path []string
		want any
	}{
		{[]string{"spec", "crVersion"}, "2.8.0"},
		{[]string{"spec", "postgresVersion"}, int64(16)},
		{[]string{"spec", "backups", "enabled"}, false},
	} {
		if got, _, _ := unstructured.NestedFieldNoCopy(cluster.Object, f.path...); got != f.want {
			t.Errorf("PerconaPGCluster %v = %v, want %v", f.path, got, f.want)
		}
	}

	evs := n.waitEvents(ds.UID, controller.ReasonPerconaNotReady, 1)
	want := fmt.Sprintf("Waiting for PostgreSQL cluster %s (state: unknown)", clusterName)
	for _, e := range evs {
		if e.Reason == controller.ReasonPerconaNotReady && (e.Type != corev1.EventTypeWarning || e.Message != want) {
			t.Errorf("PerconaNotReady event %s %q, want a Warning %q", e.Type, e.Message, want)
		}
	}
	consistently(t, quietWindow, "the database gate: no StatefulSet, a single PerconaNotReady", func() (bool, string) {
		if _, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("StatefulSet %s: %v", name, err)
		}
		evs := n.events(ds.UID)
		return countEvents(evs, controller.ReasonPerconaNotReady) == 1, eventSummary(evs)
	})

	n.markPerconaReady(name)
	ds = n.waitDS(name, "DatabaseReady=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionDatabaseReady, metav1.ConditionTrue, controller.ReasonPerconaReady), statusSummary(ds)
	})
	sts := n.statefulSet(name)
	if len(sts.Spec.Template.Spec.InitContainers) != 1 {
		t.Fatalf("StatefulSet init containers %d, want wait-for-postgres", len(sts.Spec.Template.Spec.InitContainers))
	}
	init := sts.Spec.Template.Spec.InitContainers[0]
	if init.Name != resources.WaitForPostgresContainerName {
		t.Errorf("init container %q, want %q", init.Name, resources.WaitForPostgresContainerName)
	}
	secretEnv := map[string]string{}
	for _, e := range init.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == clusterName+"-pguser-dittofs" {
			secretEnv[e.Name] = e.ValueFrom.SecretKeyRef.Key
		}
	}
	for v, key := range map[string]string{"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password", "PGDATABASE": "dbname"} {
		if secretEnv[v] != key {
			t.Errorf("init container env %s from the user Secret's key %q, want %q", v, secretEnv[v], key)
		}
	}
	ds = n.waitReady(name)
	if got := countEvents(n.events(ds.UID), controller.ReasonPerconaNotReady); got != 1 {
		t.Errorf("%d PerconaNotReady events, want 1", got)
	}
}

// perconaCluster returns the PerconaPGCluster, or nil when it does not exist.
func (n *testNS) perconaCluster(name string) *unstructured.Unstructured {
	n.t.Helper()
	u, err := env.dyn.Resource(resources.PerconaGVR).Namespace(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		n.t.Fatalf("get PerconaPGCluster %s: %v", name, err)
	}
	return u
}

// markPerconaReady does what the Percona operator would: it writes the user
// Secret of the DittoServer's cluster, then sets the cluster's
// status.state to ready through the status subresource.
func (n *testNS) markPerconaReady(dsName string) {
	n.t.Helper()
	clusterName := dsName + "-postgres"
	eventually(n.t, waitShort, "PerconaPGCluster "+clusterName, func() (bool, string) {
		return n.perconaCluster(clusterName) != nil, "not found"
	})
	password := randomString(24)
	host := clusterName + "-pgbouncer." + n.name + ".svc"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: clusterName + "-pguser-dittofs"},
		StringData: map[string]string{
			"host":     host,
			"port":     "5432",
			"user":     "dittofs",
			"password": password,
			"dbname":   "dittofs",
			"uri":      fmt.Sprintf("postgresql://dittofs:%s@%s:5432/dittofs", password, host),
		},
	}
	if _, err := env.kube.CoreV1().Secrets(n.name).Create(n.t.Context(), secret, metav1.CreateOptions{}); err != nil {
		n.t.Fatalf("create the Percona user Secret: %v", err)
	}
	client := env.dyn.Resource(resources.PerconaGVR).Namespace(n.name)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := client.Get(n.t.Context(), clusterName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := unstructured.SetNestedField(u.Object, "ready", "status", "state"); err != nil {
			return err
		}
		_, err = client.UpdateStatus(n.t.Context(), u, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		n.t.Fatalf("set PerconaPGCluster %s status.state=ready: %v", clusterName, err)
	}
}

func randomString(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
