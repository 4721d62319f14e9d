package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// Tenancy on a real DittoFS server, as teams would try it: a DittoServer in
// the platform team's namespace admits one team's namespace (spec.tenants);
// each team holds only the shipped tenant Role (artifacts/tenancy), in its
// own namespace. The admitted team gets its share and user; its objects
// named after a user and a share that the server's administrator made by
// hand get NameConflict and leave them as they were, deletion included; the
// other team's objects are refused with a Warning; neither team can reach
// the server's Secrets or the DittoServer.
func TestTenantsOnARealServer(t *testing.T) {
	binary, err := dfs.Binary()
	if err != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh, or DFS_BINARY): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("running dfs as its pod does needs root (mount namespace, chroot, setpriv)")
	}
	platform := newNamespace(t, nil)
	label := "dittofs-e2e/tenant-of-" + platform.name[len(platform.name)-6:]
	teamA := newNamespace(t, map[string]string{label: "yes"})
	teamB := newNamespace(t, nil)

	apiPort, err := dfs.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	server := sampleObject(t, "shares", "DittoServer")
	// Plain HTTP: the recording proxy reads the requests in clear.
	mergeSpec(t, server, fmt.Sprintf(`{controlPlane: {port: %d, tls: {mode: Disabled}}, tenants: {from: Selector, selector: {matchLabels: {%q: "yes"}}}}`, apiPort, label))
	name := server.GetName()
	rec := startRecordingProxy(t, fmt.Sprintf("http://127.0.0.1:%d", apiPort))
	runOperatorWithServerState(t, "--server-api-endpoint="+platform.name+"/"+name+"="+rec.url)
	platform.create(server)
	eventually(t, waitShort, "the operator's StatefulSet", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(platform.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	runServerPod(t, platform, name, binary)
	t.Cleanup(func() { teamA.deleteSharesAndUsers(); teamB.deleteSharesAndUsers() })
	platform.waitReady(name)
	platform.waitDS(name, "StoresReady=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, serverstate.ConditionStoresReady, metav1.ConditionTrue, ""), statusSummary(ds)
	})

	// The server's administrator makes a user and a share by hand.
	admin := serverClient(t, platform, name, apiPort)
	if _, err := admin.CreateUser(t.Context(), dfsapi.User{Username: "bob", Role: "user", Enabled: true}, "Bobs-Own-Pa55"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateShare(t.Context(), dfsapi.Share{Name: "/handmade", MetadataStore: resources.MetadataStoreName,
		LocalBlockStore: resources.LocalBlockStoreName, DefaultPermission: "read", QuotaBytes: 1 << 30, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetSharePermission(t.Context(), "/handmade", dfsapi.Permission{Type: "user", Name: "bob", Level: "admin"}); err != nil {
		t.Fatal(err)
	}
	handMade := func() string {
		u, s := findUser(t, admin, "bob"), findShare(t, admin, "/handmade")
		if u == nil || s == nil {
			return fmt.Sprintf("user %v share %v", u != nil, s != nil)
		}
		return fmt.Sprintf("user id=%s role=%s enabled=%v groups=%v uid=%d; share %+v; grants %+v",
			u.ID, u.Role, u.Enabled, u.Groups, ptr.Deref(u.UID, 0), *s, mustGrants(t, admin, "/handmade"))
	}
	before := handMade()

	asA := tenantClient(t, teamA, "team-a")
	asB := tenantClient(t, teamB, "team-b")
	ref := fmt.Sprintf("{namespace: %s, name: %s}", platform.name, name)
	tenantCreate(t, asA, teamA, `{apiVersion: v1, kind: Secret, metadata: {name: pw}, stringData: {password: Carols-Pa55word}}`)
	for _, obj := range []string{
		`{apiVersion: dittofs.dittofs.com/v1alpha1, kind: DittoUser, metadata: {name: carol}, spec: {serverRef: ` + ref + `, uid: 3000, gid: 3000, passwordSecretRef: {name: pw, key: password}}}`,
		`{apiVersion: dittofs.dittofs.com/v1alpha1, kind: DittoShare, metadata: {name: reports}, spec: {serverRef: ` + ref + `, owner: carol, permissions: [{user: carol, level: read-write}]}}`,
		`{apiVersion: dittofs.dittofs.com/v1alpha1, kind: DittoUser, metadata: {name: bob}, spec: {serverRef: ` + ref + `, uid: 3001, gid: 3001, passwordSecretRef: {name: pw, key: password}}}`,
		`{apiVersion: dittofs.dittofs.com/v1alpha1, kind: DittoShare, metadata: {name: handmade}, spec: {serverRef: ` + ref + `, deletionPolicy: Delete, permissions: [{user: carol, level: admin}]}}`,
	} {
		tenantCreate(t, asA, teamA, obj)
	}
	tenantCreate(t, asB, teamB, `{apiVersion: dittofs.dittofs.com/v1alpha1, kind: DittoShare, metadata: {name: sneaky}, spec: {serverRef: `+ref+`}}`)

	t.Run("the admitted team gets its share and user", func(t *testing.T) {
		teamA.waitKubectlReady("dshare", "reports")
		teamA.waitKubectlReady("duser", "carol")
		if findShare(t, admin, "/reports") == nil {
			t.Error("share /reports is not on the server")
		}
		if _, status, err := dfs.Login(apiPort, "carol", "Carols-Pa55word"); err != nil {
			t.Errorf("carol cannot log in with the password of her team's Secret: %d %v", status, err)
		}
	})

	t.Run("what the administrator made is never taken over", func(t *testing.T) {
		for _, o := range []struct{ resource, name string }{{"dshare", "handmade"}, {"duser", "bob"}} {
			teamA.waitReason(o.resource, o.name, serverstate.ReasonNameConflict)
		}
		out := teamA.kubectl("describe", "dshare", "handmade")
		if !strings.Contains(out, "NameConflict") || !strings.Contains(out, "was not created by this DittoShare") {
			t.Errorf("kubectl describe dshare handmade does not tell the conflict:\n%s", out)
		}
		if _, status, err := dfs.Login(apiPort, "bob", "Bobs-Own-Pa55"); err != nil {
			t.Errorf("bob's own password no longer logs in: %d %v", status, err)
		}
		for _, o := range []struct{ gvr, name string }{{"dittoshares", "handmade"}, {"dittousers", "bob"}} {
			gvr := dittov1alpha1.SchemeGroupVersion.WithResource(o.gvr)
			if err := asA.Resource(gvr).Namespace(teamA.name).Delete(t.Context(), o.name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("team-a deletes its %s %s: %v", o.gvr, o.name, err)
			}
			eventually(t, waitShort, o.gvr+" "+o.name+" gone", func() (bool, string) {
				_, err := env.dyn.Resource(gvr).Namespace(teamA.name).Get(t.Context(), o.name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), errString(err)
			})
		}
		if after := handMade(); after != before {
			t.Errorf("the administrator's user and share changed:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("a namespace the server does not admit is refused", func(t *testing.T) {
		teamB.waitReason("dshare", "sneaky", serverstate.ReasonNotAllowedByServer)
		out := teamB.kubectl("describe", "dshare", "sneaky")
		if !strings.Contains(out, "Warning") || !strings.Contains(out, "spec.tenants") {
			t.Errorf("kubectl describe dshare sneaky does not show the refusal:\n%s", out)
		}
		if findShare(t, admin, "/sneaky") != nil {
			t.Error("share /sneaky of a namespace the server does not admit is on the server")
		}
		platform.waitDS(name, "1 share counted (reports): refused objects do not count", func(ds *dittov1alpha1.DittoServer) (bool, string) {
			return ds.Status.Shares == 1, fmt.Sprintf("shares %d", ds.Status.Shares)
		})
	})

	t.Run("a team reaches nothing in the server's namespace", func(t *testing.T) {
		secret := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"` + name + `-generated"},"stringData":{"jwt-secret":"chosen-by-the-team"}}`
		for what, call := range map[string]func() error{
			"read the generated credentials": func() error {
				_, err := asA.Resource(secretGVR).Namespace(platform.name).Get(t.Context(), name+"-generated", metav1.GetOptions{})
				return err
			},
			"list the server's Secrets": func() error {
				_, err := asA.Resource(secretGVR).Namespace(platform.name).List(t.Context(), metav1.ListOptions{})
				return err
			},
			"patch the JWT signing key": func() error {
				_, err := asA.Resource(secretGVR).Namespace(platform.name).Patch(t.Context(), name+"-generated", types.MergePatchType,
					[]byte(`{"stringData":{"jwt-secret":"chosen-by-the-team"}}`), metav1.PatchOptions{})
				return err
			},
			"create a look-alike credentials Secret": func() error {
				obj := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(secret), &obj.Object); err != nil {
					return err
				}
				obj.SetName(name + "-lookalike")
				_, err := asA.Resource(secretGVR).Namespace(platform.name).Create(t.Context(), obj, metav1.CreateOptions{DryRun: dryRun})
				return err
			},
			"patch the DittoServer": func() error {
				_, err := asA.Resource(dittoServerGVR).Namespace(platform.name).Patch(t.Context(), name, types.MergePatchType,
					[]byte(`{"spec":{"tenants":{"from":"All"}}}`), metav1.PatchOptions{})
				return err
			},
		} {
			if err := call(); !apierrors.IsForbidden(err) {
				t.Errorf("team-a could %s: %v, want Forbidden", what, err)
			}
		}
	})
}

// tenantClient binds the shipped tenant role in ns to user and returns a
// client that acts as that user.
func tenantClient(t *testing.T, n *testNS, user string) dynamic.Interface {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.root, "artifacts", "tenancy", "tenant-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	role.Name = "dittofs-tenant-" + n.name
	if _, err := env.kube.RbacV1().ClusterRoles().Create(t.Context(), &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.RbacV1().ClusterRoles().Delete(t.Context(), role.Name, metav1.DeleteOptions{})
	})
	if _, err := env.kube.RbacV1().RoleBindings(n.name).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "dittofs-tenant"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.cluster.RESTConfig())
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tenantCreate creates one object (YAML) in n as the tenant, waiting for
// the binding to reach the authorizer's cache.
func tenantCreate(t *testing.T, c dynamic.Interface, n *testNS, doc string) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	gvr := gvrByKind[obj.GetKind()]
	eventually(t, waitShort, fmt.Sprintf("the tenant creates %s %s", obj.GetKind(), obj.GetName()), func() (bool, string) {
		_, err := c.Resource(gvr).Namespace(n.name).Create(t.Context(), obj, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), errString(err)
	})
}

// waitReason waits until a DittoShare's or DittoUser's Ready condition has
// reason.
func (n *testNS) waitReason(resource, name, reason string) {
	n.t.Helper()
	eventually(n.t, waitShort, fmt.Sprintf("%s %s Ready reason %s", resource, name, reason), func() (bool, string) {
		var conds []metav1.Condition
		if resource == "dshare" {
			s, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			conds = s.Status.Conditions
		} else {
			u, err := env.ditto.DittofsV1alpha1().DittoUsers(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			conds = u.Status.Conditions
		}
		c := meta.FindStatusCondition(conds, serverstate.ConditionReady)
		return c != nil && c.Reason == reason, fmt.Sprintf("%+v", c)
	})
}

func mustGrants(t *testing.T, c dfsapi.API, share string) []dfsapi.Permission {
	t.Helper()
	p, err := c.ListSharePermissions(t.Context(), share)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// spec.tenants and a namespaced serverRef are checked at admission, naming
// the field.
func TestAdmissionOfTenants(t *testing.T) {
	n := newNamespace(t, nil)
	for _, tc := range []struct{ name, spec, field, msg string }{
		{"Selector without a selector", `{tenants: {from: Selector}}`, "spec.tenants", "spec.tenants.selector is required when spec.tenants.from is Selector"},
		{"a selector without Selector", `{tenants: {from: All, selector: {matchLabels: {a: b}}}}`, "spec.tenants", "spec.tenants.selector is required when spec.tenants.from is Selector, and only then"},
		{"an unknown from", `{tenants: {from: Everyone}}`, "spec.tenants.from", "Unsupported value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := sampleDittoServer(t, readSample(t, "minimal"))
			ds.SetName("invalid")
			mergeSpec(t, ds, tc.spec)
			_, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
	share := sampleObject(t, "shares", "DittoShare")
	mergeSpec(t, share, `{serverRef: {namespace: Not_A_Namespace, name: nas}}`)
	_, err := env.dyn.Resource(dittoShareGVR).Namespace(n.name).Create(t.Context(), share, metav1.CreateOptions{DryRun: dryRun})
	assertInvalid(t, err, "spec.serverRef.namespace", "should match")

	share = sampleObject(t, "shares", "DittoShare")
	mergeSpec(t, share, `{serverRef: {namespace: storage}}`)
	share.Object["spec"].(map[string]any)["serverRef"] = map[string]any{"namespace": "storage"}
	_, err = env.dyn.Resource(dittoShareGVR).Namespace(n.name).Create(t.Context(), share, metav1.CreateOptions{DryRun: dryRun})
	assertInvalid(t, err, "spec.serverRef.name", "spec.serverRef.name is required")
}
