package serverstate

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// A DittoServer in the platform team's namespace says which namespaces may
// attach DittoShares and DittoUsers (spec.tenants); a team declares them in
// its own namespace, with its own password Secrets.

const teamNamespace = "team-a"

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// teamObjectsIn is a user with its password Secret and a share, in namespace
// ns, attached to the test server in testNamespace.
func teamObjectsIn(ns string) []runtime.Object {
	secret := passwordSecret("carol-password", "carols-password")
	secret.Namespace = ns
	return []runtime.Object{secret,
		dittoUser("carol", func(u *dittov1alpha1.DittoUser) {
			u.Namespace, u.Spec.ServerRef.Namespace = ns, testNamespace
		}),
		dittoShare("reports", func(s *dittov1alpha1.DittoShare) {
			s.Namespace, s.Spec.ServerRef.Namespace = ns, testNamespace
			s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
			s.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "carol", Level: dittov1alpha1.PermissionReadWrite}}
		}),
	}
}

func serverWithTenants(t *dittov1alpha1.TenantsSpec) []runtime.Object {
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Tenants = t })
	return []runtime.Object{ds, adminSecret(ds), statefulSet(ds)}
}

func (f *fixture) shareIn(ns, name string) *dittov1alpha1.DittoShare {
	f.t.Helper()
	s, err := f.dittoCS.DittofsV1alpha1().DittoShares(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) userIn(ns, name string) *dittov1alpha1.DittoUser {
	f.t.Helper()
	u, err := f.dittoCS.DittofsV1alpha1().DittoUsers(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func TestAnotherNamespaceIsRefusedByDefault(t *testing.T) {
	objs := append(serverWithTenants(nil), namespace(teamNamespace, nil))
	f := newFixture(t, append(objs, teamObjectsIn(teamNamespace)...)...)
	for pass := range 2 {
		if err := f.sync(); err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		for _, w := range f.srv.writes() {
			if strings.Contains(w, "carol") || strings.Contains(w, "reports") {
				t.Errorf("pass %d: %s for a namespace the server does not accept", pass, w)
			}
		}
		warnings := 0
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning "+ReasonNotAllowedByServer) {
				warnings++
			}
		}
		if want := map[bool]int{true: 2, false: 0}[pass == 0]; warnings != want {
			t.Errorf("pass %d: %d NotAllowedByServer Warnings, want %d", pass, warnings, want)
		}
	}
	s := f.shareIn(teamNamespace, "reports")
	if r := condition(s.Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNotAllowedByServer || !strings.Contains(r.Message, "spec.tenants") {
		t.Errorf("DittoShare Ready = %+v, want NotAllowedByServer naming spec.tenants", r)
	}
	if len(s.Finalizers) != 0 {
		t.Errorf("a refused DittoShare got finalizers %v: nothing of it is on the server", s.Finalizers)
	}
	if r := condition(f.userIn(teamNamespace, "carol").Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNotAllowedByServer {
		t.Errorf("DittoUser Ready = %+v, want NotAllowedByServer", r)
	}
	// The platform team's status is not disturbed by another team's objects.
	ds := f.server()
	if ds.Status.Shares != 0 || !isTrue(ds.Status.Conditions, ConditionSharesReady) {
		t.Errorf("DittoServer counts %d shares, SharesReady %+v; refused objects must not count",
			ds.Status.Shares, condition(ds.Status.Conditions, ConditionSharesReady))
	}
}

func isTrue(conds []metav1.Condition, t string) bool {
	c := condition(conds, t)
	return c != nil && c.Status == metav1.ConditionTrue
}

func TestASelectedNamespaceAttachesWithItsOwnSecrets(t *testing.T) {
	tenants := &dittov1alpha1.TenantsSpec{From: dittov1alpha1.TenantsSelector,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"dittofs.example/tenant": "nas"}}}
	objs := append(serverWithTenants(tenants), namespace(teamNamespace, map[string]string{"dittofs.example/tenant": "nas"}))
	f := newFixture(t, append(objs, teamObjectsIn(teamNamespace)...)...)
	f.converge()
	if got := f.srv.passwords["carol"]; got != "carols-password" {
		t.Errorf("carol's password on the server %q, want the one from her DittoUser's namespace", got)
	}
	if _, ok := f.srv.shares["/reports"]; !ok {
		t.Fatal("share /reports of an admitted namespace is not on the server")
	}
	for _, r := range []*metav1.Condition{
		condition(f.shareIn(teamNamespace, "reports").Status.Conditions, ConditionReady),
		condition(f.userIn(teamNamespace, "carol").Status.Conditions, ConditionReady),
	} {
		if r == nil || r.Status != metav1.ConditionTrue {
			t.Errorf("Ready = %+v, want True", r)
		}
	}

	// The namespace loses its label: nothing more is changed on the server,
	// and deleting the DittoShare (deletionPolicy Delete) deletes nothing.
	nsObj := namespace(teamNamespace, nil)
	f.update(nsObj, gvrNamespaces)
	_ = f.sync()
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("writes %v after the namespace stopped being admitted, want none", w)
	}
	if r := condition(f.shareIn(teamNamespace, "reports").Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNotAllowedByServer {
		t.Errorf("Ready = %+v, want NotAllowedByServer", r)
	}
	f.deleteObj(f.shareIn(teamNamespace, "reports"), gvrDittoShares)
	_ = f.sync()
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("deleting a refused DittoShare wrote %v, want nothing", w)
	}
	if _, ok := f.srv.shares["/reports"]; !ok {
		t.Error("the share of a namespace no longer admitted was deleted")
	}
	if _, err := f.dittoCS.DittofsV1alpha1().DittoShares(teamNamespace).Get(f.ctx, "reports", metav1.GetOptions{}); err == nil {
		t.Error("the refused DittoShare is still held by its finalizer")
	}
}

func TestAllNamespacesMayAttach(t *testing.T) {
	objs := append(serverWithTenants(&dittov1alpha1.TenantsSpec{From: dittov1alpha1.TenantsAll}), namespace(teamNamespace, nil))
	f := newFixture(t, append(objs, teamObjectsIn(teamNamespace)...)...)
	f.converge()
	if _, ok := f.srv.users["carol"]; !ok {
		t.Error("user carol is not on the server")
	}
}

func TestANamespaceLabelChangeRequeuesItsServers(t *testing.T) {
	objs := append(serverWithTenants(nil), namespace(teamNamespace, nil))
	f := newFixture(t, append(objs, teamObjectsIn(teamNamespace)...)...)
	old := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: teamNamespace, ResourceVersion: "1"}}
	relabelled := old.DeepCopy()
	relabelled.ResourceVersion, relabelled.Labels = "2", map[string]string{"a": "b"}
	f.c.handleNamespace(old, old.DeepCopy())
	if n := f.c.queue.Len(); n != 0 {
		t.Fatalf("an unchanged namespace queued %d servers", n)
	}
	f.c.handleNamespace(old, relabelled)
	var keys []cache.ObjectName
	for f.c.queue.Len() > 0 {
		k, _ := f.c.queue.Get()
		keys = append(keys, k)
		f.c.queue.Done(k)
	}
	if want := []cache.ObjectName{cacheKey()}; !slices.Equal(keys, want) {
		t.Errorf("queued %v, want %v", keys, want)
	}
}
