package controller

// The database gate: with Percona, no StatefulSet until the PerconaPGCluster
// is ready and its user Secret exists; one PerconaNotReady Warning per
// transition; a clear failure when the CRD is not installed.

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clienttesting "k8s.io/client-go/testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestPerconaGate(t *testing.T) {
	ds := newDittoServer(withFinalizer, withPercona(false))
	f := newFixture(t, true, ds)

	// Pass 1: the cluster is created as the builder makes it; everything but
	// the StatefulSet is applied; the gate holds.
	expectErr(t, f.sync(), errWaiting)
	expectActions(t, f.actions(),
		"create perconapgclusters nas-postgres",
		"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls", "create configmaps nas-config",
		"create services nas-headless", "create services nas-file", "create services nas-api",
		"apply dittoservers/status nas")
	expectEvents(t, f.events(), "Warning PerconaNotReady Waiting for PostgreSQL cluster nas-postgres (state: unknown)")
	created := f.action("create perconapgclusters nas-postgres").(clienttesting.CreateAction).GetObject().(*unstructured.Unstructured)
	want := resources.PerconaCluster(ds)
	// deleteWithServer false: a kept cluster, never a dependent of the DittoServer.
	if created.GetName() != want.GetName() || len(created.GetOwnerReferences()) != 0 || !resources.KeptFor(created, ds) {
		t.Errorf("created cluster %s owners %v labels %v, want no owner and kept for %s",
			created.GetName(), created.GetOwnerReferences(), created.GetLabels(), ds.Name)
	}
	if got, want := jsonString(t, created.Object["spec"]), jsonString(t, want.Object["spec"]); got != want {
		t.Errorf("cluster spec:\n got  %s\n want %s", got, want)
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved",
		"DatabaseReady=False/PerconaNotReady", "Progressing=False/WaitingForDatabase", "Ready=False/NotReady")
	if got := f.dittoServer().Status.PerconaClusterName; got != "nas-postgres" {
		t.Errorf("status.perconaClusterName = %q", got)
	}

	// The cluster initialises: the condition follows the state, but no
	// second Warning while the database stays not ready — and the cluster is
	// never written again.
	setState := func(state string) {
		u := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured)
		_ = unstructured.SetNestedField(u.Object, state, "status", "state")
		f.put(u)
		f.catchUp()
	}
	setState("initializing")
	for pass := 1; pass <= 3; pass++ {
		expectErr(t, f.sync(), errWaiting)
		if pass == 1 {
			expectActions(t, f.actions(), "apply dittoservers/status nas")
			expectEvents(t, f.events())
		} else {
			expectActions(t, f.actions())
			expectEvents(t, f.events())
		}
		f.catchUp()
	}

	// Ready, but the user Secret is not there yet: still gated.
	setState("ready")
	expectErr(t, f.sync(), errWaiting)
	expectEvents(t, f.events())
	if c := meta.FindStatusCondition(f.dittoServer().Status.Conditions, "DatabaseReady"); c == nil || !strings.Contains(c.Message, `Secret "nas-postgres-pguser-dittofs"`) {
		t.Errorf("DatabaseReady does not name the missing user Secret: %+v", c)
	}
	if f.exists(f.kube, gvrStatefulSets, testName) {
		t.Fatal("StatefulSet created before the user Secret exists")
	}

	// The user Secret appears: the StatefulSet waits for PostgreSQL in an
	// init container, and DatabaseReady turns True.
	f.put(postgresSecret("nas-postgres-pguser-dittofs"))
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets nas-postgres-pguser-dittofs", "create statefulsets nas", "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal DatabaseReady PostgreSQL cluster nas-postgres is ready")
	sts := f.statefulSet()
	if !hasInitContainer(sts, resources.WaitForPostgresContainerName) {
		t.Errorf("no %s init container: %v", resources.WaitForPostgresContainerName, sts.Spec.Template.Spec.InitContainers)
	}
	if !readsSecret(sts, "nas-postgres-pguser-dittofs") {
		t.Error("the server does not read the Percona user Secret")
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved",
		"DatabaseReady=True/PerconaReady", "Progressing=True/RolloutInProgress")
	f.expectQuiet(t)
}

func hasInitContainer(sts *appsv1.StatefulSet, name string) bool {
	for _, c := range sts.Spec.Template.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func readsSecret(sts *appsv1.StatefulSet, name string) bool {
	for _, c := range sts.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == name {
				return true
			}
		}
	}
	return false
}

// percona.enabled without the CRD: Failed, with what to do, said once.
func TestPerconaNotInstalled(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withPercona(false)))
	for pass := 1; pass <= 3; pass++ {
		expectErr(t, f.sync(), errWaiting)
		if pass == 1 {
			expectActions(t, f.actions(), "create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls", "create configmaps nas-config",
				"create services nas-headless", "create services nas-file", "create services nas-api", "apply dittoservers/status nas")
			expectEvents(t, f.events(), "Warning PerconaNotInstalled spec.percona.enabled is true but the PerconaPGCluster CRD (pgv2.percona.com/v2) is not installed")
		} else {
			expectActions(t, f.actions())
			expectEvents(t, f.events())
		}
		f.catchUp()
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=True/InputsResolved",
		"DatabaseReady=False/PerconaNotInstalled", "Ready=False/NotReady")
	if f.exists(f.kube, gvrStatefulSets, testName) {
		t.Error("StatefulSet created without a database")
	}
	if n := len(f.list(f.dyn, resources.PerconaGVR, resources.PerconaKind)); n != 0 {
		t.Errorf("%d PerconaPGClusters created without the CRD", n)
	}
}

// A PerconaPGCluster of the same name that this DittoServer does not control
// is not used: its database could be anyone's.
func TestForeignPerconaCluster(t *testing.T) {
	f := newFixture(t, true, newDittoServer(withFinalizer, withPercona(false)), foreignPerconaCluster(),
		postgresSecret("nas-postgres-pguser-dittofs"))
	expectErr(t, f.sync(), errWaiting)
	expectEvents(t, f.events(), "Warning ResourceNotOwned PerconaPGCluster storage/nas-postgres exists but is not controlled by this DittoServer")
	for _, a := range f.actions() {
		if a == "create statefulsets nas" || a == "update perconapgclusters nas-postgres" || a == "patch perconapgclusters nas-postgres" {
			t.Errorf("unexpected request %q", a)
		}
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned")
}

// An external PostgreSQL: DatabaseReady from its Secret, no Percona cluster,
// no init container.
func TestExternalPostgres(t *testing.T) {
	f := newFixture(t, true, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres, PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}}
	}), postgresSecret("pg"))
	f.converge()
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved", "DatabaseReady=True/PostgresSecretResolved")
	sts := f.statefulSet()
	if hasInitContainer(sts, resources.WaitForPostgresContainerName) || !readsSecret(sts, "pg") {
		t.Errorf("StatefulSet: init containers %v, reads pg %v", sts.Spec.Template.Spec.InitContainers, readsSecret(sts, "pg"))
	}
	if n := len(f.list(f.dyn, resources.PerconaGVR, resources.PerconaKind)); n != 0 {
		t.Errorf("%d PerconaPGClusters for an external database", n)
	}
}
