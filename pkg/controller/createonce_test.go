package controller

// Objects the operator creates once and never writes again — the generated
// Secrets and the PerconaPGCluster — go through the same write path as the
// other children: a cache that has not seen the operator's create yet skips
// the pass rather than creating again, and the user's later edits stay.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestCreateOnceOnAStaleCacheIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// forget makes one cache miss what the first pass created.
		forget func(f *fixture)
	}{
		{"PerconaPGCluster", func(f *fixture) {
			if err := f.perconaIndexer.Replace(nil, ""); err != nil {
				t.Fatal(err)
			}
		}},
		{"generated Secret", func(f *fixture) {
			if err := f.inf.Secrets.Informer().GetIndexer().Delete(secretMetadata(f.get(f.kube, gvrSecrets, "nas-generated"))); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, newDittoServer(withFinalizer, withPercona(false)))
			expectErr(t, f.sync(), errWaiting)
			f.catchUp()
			tc.forget(f)

			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions())
			expectEvents(t, f.events())

			f.catchUp()
			expectErr(t, f.sync(), errWaiting)
			expectActions(t, f.actions())
		})
	}
}

// Edits the user makes to a created-once object are theirs: the operator
// neither reverts them nor writes the object again.
func TestCreateOnceKeepsTheUsersEdits(t *testing.T) {
	f := newFixture(t, true, newDittoServer(withFinalizer, withPercona(false)), postgresSecret("nas-postgres-pguser-dittofs"))
	expectErr(t, f.sync(), errWaiting)

	// The user moves the cluster to another PostgreSQL version, the Percona
	// operator makes it ready, and the user sets the admin password.
	pg := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured)
	if err := unstructured.SetNestedField(pg.Object, int64(99), "spec", "postgresVersion"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(pg.Object, "ready", "status", "state"); err != nil {
		t.Fatal(err)
	}
	f.put(pg)
	admin := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret).DeepCopy()
	admin.Data[resources.AdminPasswordKey] = []byte("chosen by the user")
	f.put(admin)
	clusterVersion := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured).GetResourceVersion()
	adminVersion := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret).ResourceVersion

	f.converge()
	if got := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured); got.GetResourceVersion() != clusterVersion {
		t.Errorf("the PerconaPGCluster was written after the user's edit: %v", got.Object["spec"])
	}
	if got := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret); got.ResourceVersion != adminVersion {
		t.Errorf("the admin Secret was written after the user's edit")
	}
	expectStatus(t, f.dittoServer(), "Pending", "DatabaseReady=True/PerconaReady")
}
