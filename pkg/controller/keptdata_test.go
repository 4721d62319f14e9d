package controller

// Data that must be kept is kept: a PerconaPGCluster with deleteWithServer
// false never carries an owner reference to the DittoServer (so no
// propagation policy lets the garbage collector take it), flipping
// deleteWithServer adds or removes the reference, removing spec.percona
// keeps the cluster, and a DittoServer re-created under the same name
// re-attaches the cluster kept for it while still refusing anyone else's.

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestPerconaClusterOwnership(t *testing.T) {
	owned := func() *unstructured.Unstructured {
		pg := perconaCluster(newDittoServer(withPercona(true)), "ready")
		if !controlledBy(pg, newDittoServer()) {
			t.Fatal("a deleteWithServer cluster is not controlled by its DittoServer")
		}
		return pg
	}
	kept := func() *unstructured.Unstructured { return perconaCluster(newDittoServer(withPercona(false)), "ready") }
	// legacy is a kept cluster as an earlier operator version made it: owned,
	// without the kept-for label.
	legacy := func() *unstructured.Unstructured {
		pg := kept()
		pg.SetOwnerReferences([]metav1.OwnerReference{resources.OwnerReference(newDittoServer())})
		labels := pg.GetLabels()
		delete(labels, resources.KeptForLabel)
		pg.SetLabels(labels)
		return pg
	}
	for _, tc := range []struct {
		name    string
		spec    func(*dittov1alpha1.DittoServer)
		cluster *unstructured.Unstructured
		// what the operator must do
		patched   bool // one guarded patch of the cluster's metadata
		wantOwned bool // the cluster then carries the DittoServer's controller reference
	}{
		{name: "kept cluster stays without owner", spec: withPercona(false), cluster: kept()},
		{name: "deleteWithServer turned on: the reference is added", spec: withPercona(true), cluster: kept(),
			patched: true, wantOwned: true},
		{name: "deleteWithServer turned off: the reference is removed", spec: withPercona(false), cluster: owned(),
			patched: true},
		{name: "owned cluster stays owned", spec: withPercona(true), cluster: owned(), wantOwned: true},
		{name: "a kept cluster owned by an earlier version is released and labelled", spec: withPercona(false), cluster: legacy(),
			patched: true},
		{name: "spec.percona removed: an owned cluster is released, not deleted", cluster: owned(), patched: true},
		{name: "spec.percona disabled: an owned cluster is released, not deleted", cluster: owned(), patched: true,
			spec: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: false, DeleteWithServer: true}
			}},
		{name: "spec.percona removed: a kept cluster is left alone", cluster: kept()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods := []func(*dittov1alpha1.DittoServer){withFinalizer}
			if tc.spec != nil {
				mods = append(mods, tc.spec)
			}
			f := newFixture(t, true, newDittoServer(mods...), tc.cluster, postgresSecret("nas-postgres-pguser-dittofs"))
			_ = f.sync()
			var patches int
			for _, a := range f.actions() {
				switch a {
				case "patch perconapgclusters nas-postgres":
					patches++
				case "delete perconapgclusters nas-postgres", "update perconapgclusters nas-postgres":
					t.Errorf("unexpected request %q", a)
				}
			}
			if want := map[bool]int{true: 1}[tc.patched]; patches != want {
				t.Errorf("%d patches of the cluster, want %d: %v", patches, want, f.actions())
			}
			if tc.patched {
				expectGuardedPatch(t, f.action("patch perconapgclusters nas-postgres"), "labels", `{"`+resources.KeptForLabel+`":"nas"}`)
			}
			pg := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured)
			if got := controlledBy(pg, f.dittoServer()); got != tc.wantOwned {
				t.Errorf("cluster controlled by the DittoServer: %v, want %v (owners %v)", got, tc.wantOwned, pg.GetOwnerReferences())
			}
			if !tc.wantOwned && len(pg.GetOwnerReferences()) != 0 {
				t.Errorf("kept cluster has owner references %v", pg.GetOwnerReferences())
			}
			if pg.GetLabels()[resources.KeptForLabel] != "nas" {
				t.Errorf("cluster labels %v, want %s=nas", pg.GetLabels(), resources.KeptForLabel)
			}
			// The next pass, once the cache has seen the patch, writes nothing to the cluster.
			f.catchUp()
			_ = f.sync()
			for _, a := range f.actions() {
				if a == "patch perconapgclusters nas-postgres" {
					t.Errorf("the cluster is patched again on the next pass: %v", f.actions())
				}
			}
		})
	}
}

// A DittoServer re-created under the name of one that kept its cluster uses
// that cluster; a cluster of the same name that someone else created (no
// kept-for label, or kept for another name, or controlled by another owner)
// is still refused.
func TestPerconaReattach(t *testing.T) {
	keptForOther := perconaCluster(newDittoServer(withPercona(false), func(ds *dittov1alpha1.DittoServer) { ds.Name = "other" }), "ready")
	keptForOther.SetName("nas-postgres")
	controlledByOther := perconaCluster(newDittoServer(withPercona(true), func(ds *dittov1alpha1.DittoServer) { ds.UID = "other-uid" }), "ready")
	for _, tc := range []struct {
		name    string
		cluster *unstructured.Unstructured
		adopted bool
	}{
		{"kept by an earlier DittoServer of this name", keptPerconaCluster(), true},
		{"created by someone else", foreignPerconaCluster(), false},
		{"kept for another DittoServer name", keptForOther, false},
		{"controlled by another DittoServer of this name", controlledByOther, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objects := []runtime.Object{newDittoServer(withFinalizer, withPercona(false)), tc.cluster,
				postgresSecret("nas-postgres-pguser-dittofs")}
			f := newFixture(t, true, objects...)
			err := f.sync()
			if !tc.adopted {
				expectErr(t, err, errWaiting)
				expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned")
				if f.exists(f.kube, gvrStatefulSets, testName) {
					t.Error("StatefulSet created on someone else's database")
				}
				return
			}
			expectErr(t, err, nil)
			for _, a := range f.actions() {
				if a == "create perconapgclusters nas-postgres" || a == "patch perconapgclusters nas-postgres" {
					t.Errorf("unexpected request %q", a)
				}
			}
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved", "DatabaseReady=True/PerconaReady")
			if !readsSecret(f.statefulSet(), "nas-postgres-pguser-dittofs") {
				t.Error("the server does not read the kept cluster's user Secret")
			}
			if got := f.dittoServer().Status.PerconaClusterName; got != "nas-postgres" {
				t.Errorf("status.perconaClusterName = %q", got)
			}
		})
	}
}
