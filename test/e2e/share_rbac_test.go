package e2e

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// shareEditorRole is what a platform team grants an application team: shares,
// users and their password Secrets, and a read-only view of the servers.
var shareEditorRole = []rbacv1.PolicyRule{
	{APIGroups: []string{"dittofs.dittofs.com"}, Resources: []string{"dittoshares", "dittousers"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"dittofs.dittofs.com"}, Resources: []string{"dittoservers"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "update", "patch"}},
}

// Shares and users are separate resources so that RBAC can separate the
// teams: with the Role above, a team declares users and shares of a server it
// cannot change.
func TestShareRBACWithoutServerEditRights(t *testing.T) {
	n := newNamespace(t, nil)
	server := sampleObject(t, "shares", "DittoServer")
	mergeSpec(t, server, `replicas: 0`) // no pod needed to test authorization
	n.create(server)

	const team = "team-a"
	_, err := env.kube.RbacV1().Roles(n.name).Create(t.Context(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "share-editor"}, Rules: shareEditorRole,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.kube.RbacV1().RoleBindings(n.name).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "share-editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "share-editor"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: team}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.cluster.RESTConfig())
	cfg.Impersonate = rest.ImpersonationConfig{UserName: team}
	asTeam, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The team declares the sample's password Secret, user and share. RBAC
	// is cached by the authorizer; the binding may take a moment to apply.
	for _, kind := range []string{"Secret", "DittoUser", "DittoShare"} {
		obj := sampleObject(t, "shares", kind)
		eventually(t, waitShort, "team-a may create a "+kind, func() (bool, string) {
			_, err := asTeam.Resource(gvrByKind[kind]).Namespace(n.name).Create(t.Context(), obj, metav1.CreateOptions{})
			return err == nil, errString(err)
		})
	}
	if _, err := asTeam.Resource(dittoShareGVR).Namespace(n.name).Patch(t.Context(), "projects", types.MergePatchType,
		[]byte(`{"spec":{"permissions":[{"user":"alice","level":"read"}]}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("team-a cannot change its share's permissions: %v", err)
	}
	if _, err := asTeam.Resource(dittoServerGVR).Namespace(n.name).Get(t.Context(), server.GetName(), metav1.GetOptions{}); err != nil {
		t.Errorf("team-a cannot read the server its shares reference: %v", err)
	}

	// The server itself is out of reach.
	for what, call := range map[string]func() error{
		"patch the DittoServer": func() error {
			_, err := asTeam.Resource(dittoServerGVR).Namespace(n.name).Patch(t.Context(), server.GetName(), types.MergePatchType,
				[]byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{})
			return err
		},
		"delete the DittoServer": func() error {
			return asTeam.Resource(dittoServerGVR).Namespace(n.name).Delete(t.Context(), server.GetName(), metav1.DeleteOptions{DryRun: dryRun})
		},
		"create a DittoServer": func() error {
			other := server.DeepCopy()
			other.SetName("other")
			_, err := asTeam.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), other, metav1.CreateOptions{DryRun: dryRun})
			return err
		},
		"read a Secret": func() error {
			_, err := asTeam.Resource(secretGVR).Namespace(n.name).Get(t.Context(), "alice-password", metav1.GetOptions{})
			return err
		},
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("team-a may %s: got %v, want Forbidden", what, err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
