package controller

// Data that must be kept is kept: a PerconaPGCluster with deleteWithServer
// false never carries an owner reference to the DittoServer (so no
// propagation policy lets the garbage collector take it), flipping
// deleteWithServer adds or removes the reference, removing spec.percona
// keeps the cluster, and a DittoServer re-created under the same name
// re-attaches the cluster kept for it while still refusing anyone else's.

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

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

// The generated credentials live as long as the volumes that remember them:
// a DittoServer re-created under the same name reuses the Secrets kept for
// it (the server on the retained volumes only accepts the old admin
// password), also when its spec names them; Secrets an earlier operator
// version owned are kept from then on; a Secret of that name someone else
// made is refused, never overwritten.
func TestGeneratedSecretsAreKept(t *testing.T) {
	earlier := newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.UID = "earlier-uid" })
	kept := resources.CredentialsSecret(earlier, "nas-generated", map[string]string{
		resources.JWTSecretKey: "old-jwt-secret-0123456789abcdef0123456789", resources.AdminPasswordKey: "old-admin-password"})
	owned := func(s *corev1.Secret) *corev1.Secret {
		s = s.DeepCopy()
		s.OwnerReferences = []metav1.OwnerReference{resources.OwnerReference(newDittoServer())}
		delete(s.Labels, resources.KeptForLabel)
		return s
	}
	byName := func(name, key string) func(*dittov1alpha1.DittoServer) {
		return func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Identity = &dittov1alpha1.IdentitySpec{Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}}
		}
	}
	for _, tc := range []struct {
		name     string
		spec     func(*dittov1alpha1.DittoServer)
		secrets  []runtime.Object
		patched  []string // Secrets whose owner reference is removed
		notOwned bool
	}{
		{name: "re-created: the kept Secret is reused", secrets: []runtime.Object{kept}},
		{name: "re-created, the spec names the kept Secret for the admin password", spec: byName("nas-generated", resources.AdminPasswordKey),
			secrets: []runtime.Object{kept}},
		{name: "owned by an earlier operator version: kept from now on", secrets: []runtime.Object{owned(kept)},
			patched: []string{"patch secrets nas-generated"}},
		{name: "a Secret of that name someone else made", secrets: []runtime.Object{newSecret("nas-generated", map[string]string{"password": "theirs"})},
			notOwned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods := []func(*dittov1alpha1.DittoServer){withFinalizer}
			if tc.spec != nil {
				mods = append(mods, tc.spec)
			}
			f := newFixture(t, false, append([]runtime.Object{newDittoServer(mods...)}, tc.secrets...)...)
			err := f.sync()
			for _, a := range secretRequests(f.actions()) {
				if strings.HasPrefix(a, "create secrets") || strings.HasPrefix(a, "update secrets") || strings.HasPrefix(a, "delete secrets") {
					t.Errorf("unexpected request %q", a)
				}
			}
			if tc.notOwned {
				expectErr(t, err, errWaiting)
				expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned")
				if got := string(f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret).Data["password"]); got != "theirs" {
					t.Errorf("someone else's Secret was changed: %q", got)
				}
				return
			}
			expectErr(t, err, nil)
			var patches []string
			for _, a := range f.actions() {
				if strings.HasPrefix(a, "patch secrets") {
					patches = append(patches, a)
				}
			}
			expectActions(t, patches, tc.patched...)
			s := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
			if len(s.OwnerReferences) != 0 || !resources.KeptFor(s, f.dittoServer()) {
				t.Errorf("Secret nas-generated owners %v labels %v, want kept", s.OwnerReferences, s.Labels)
			}
			if got := string(s.Data["password"]); got != "old-admin-password" {
				t.Errorf("admin password %q, want the kept one", got)
			}
			if !readsSecret(f.statefulSet(), "nas-generated") {
				t.Error("the server does not read the kept admin Secret")
			}
			f.converge()
		})
	}
}

// Deleting a DittoServer keeps its volume claims, generated Secrets and kept
// database unless deletionPolicy is Delete, the one explicit way to delete
// everything. Objects of someone else are never deleted.
var gvrPVCs = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")

func TestDeletionPolicy(t *testing.T) {
	claim := func(name string, ds *dittov1alpha1.DittoServer) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: types.UID(name + "-uid"),
			Labels: resources.Labels(ds, resources.ComponentStorage)}}
	}
	other := newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.Name, ds.UID = "other", "other-uid" })
	for _, tc := range []struct {
		policy      dittov1alpha1.DeletionPolicy
		wantDeleted []string
		events      []string
	}{
		{policy: "", events: []string{"Normal Deleting ", "Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data"}},
		{policy: dittov1alpha1.DeletionRetain, events: []string{"Normal Deleting ", "Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data"}},
		{policy: dittov1alpha1.DeletionDelete,
			wantDeleted: []string{"delete perconapgclusters nas-postgres", "delete persistentvolumeclaims metadata-nas-0",
				"delete persistentvolumeclaims content-nas-0", "delete secrets nas-generated", "delete secrets nas-operator"},
			events: []string{"Normal Deleting ", "Normal PerconaDeleted PerconaPGCluster nas-postgres deleted (deletionPolicy=Delete)",
				"Normal DataDeleted Deleted PersistentVolumeClaim content-nas-0, PersistentVolumeClaim metadata-nas-0, Secret nas-generated, Secret nas-operator (deletionPolicy=Delete)"}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			ds := newDittoServer(withFinalizer, withPercona(false), func(ds *dittov1alpha1.DittoServer) {
				ds.DeletionTimestamp = &metav1.Time{Time: t0}
				ds.Spec.DeletionPolicy = tc.policy
			})
			// A cluster still owned (deleteWithServer true until just before the
			// deletion) is released and kept on Retain.
			pg := perconaCluster(ds, "ready")
			pg.SetOwnerReferences([]metav1.OwnerReference{resources.OwnerReference(ds)})
			f := newFixture(t, true, ds, pg,
				claim("metadata-nas-0", ds), claim("content-nas-0", ds), claim("metadata-other-0", other),
				generatedSecret(ds), resources.OperatorSecret(ds, "password", "o"),
				newSecret("nas-user-data", nil), generatedSecret(other))
			expectErr(t, f.sync(), nil)
			var deletes []string
			for _, a := range f.actions() {
				if strings.HasPrefix(a, "delete ") {
					deletes = append(deletes, a)
				}
			}
			expectActions(t, deletes, tc.wantDeleted...)
			expectEvents(t, f.events(), tc.events...)
			if hasFinalizer(f.dittoServer()) {
				t.Error("finalizer kept")
			}
			for _, kept := range []struct {
				gvr  schema.GroupVersionResource
				name string
			}{{gvrPVCs, "metadata-other-0"}, {gvrSecrets, "nas-user-data"}, {gvrSecrets, "other-generated"}} {
				if !f.exists(f.kube, kept.gvr, kept.name) {
					t.Errorf("%s %s of someone else was deleted", kept.gvr.Resource, kept.name)
				}
			}
		})
	}
}

// status.perconaClusterName names the cluster from the first pass, and does
// not vanish when an unrelated step fails or waits.
func TestPerconaClusterNameSurvivesUnrelatedProblems(t *testing.T) {
	f := newFixture(t, true, newDittoServer(withFinalizer, withPercona(false)), perconaCluster(newDittoServer(withPercona(false)), "ready"),
		postgresSecret("nas-postgres-pguser-dittofs"))
	f.converge()
	if got := f.dittoServer().Status.PerconaClusterName; got != "nas-postgres" {
		t.Fatalf("status.perconaClusterName = %q after converging", got)
	}
	// A JWT Secret that does not exist: the pass stops before the database.
	f.edit(withJWTSecret("missing", "jwt"), true)
	f.catchUp()
	expectErr(t, f.sync(), errWaiting)
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/SecretNotFound")
	if got := f.dittoServer().Status.PerconaClusterName; got != "nas-postgres" {
		t.Errorf("status.perconaClusterName = %q while an unrelated Secret is missing, want nas-postgres", got)
	}
}

// generatedSecret is the generated credentials Secret made for ds.
func generatedSecret(ds *dittov1alpha1.DittoServer) *corev1.Secret {
	return resources.CredentialsSecret(ds, resources.CredentialsSecretName(ds), map[string]string{
		resources.JWTSecretKey: "j", resources.AdminPasswordKey: "a"})
}
