package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// secretRequests are the requests of a pass that write Secrets.
// secretRequests are the writes of credentials Secrets: not those of the
// issued TLS Secrets (certs_test.go).
func secretRequests(actions []string) []string {
	var out []string
	for _, a := range actions {
		if strings.HasSuffix(a, " nas-ca") || strings.HasSuffix(a, " nas-api-tls") {
			continue
		}
		if strings.HasSuffix(strings.Fields(a)[1], "secrets") && !strings.HasPrefix(a, "get ") {
			out = append(out, a)
		}
	}
	return out
}

// envSecret is the Secret and key the server's env var name comes from.
func envSecret(t *testing.T, f *fixture, name string) string {
	t.Helper()
	for _, e := range f.statefulSet().Spec.Template.Spec.Containers[0].Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	t.Fatalf("env %s does not come from a Secret", name)
	return ""
}

// A new DittoServer gets one generated Secret, <name>-generated, with the
// JWT signing secret and the initial admin password, kept for the name; the
// pod reads both from it.
func TestNewServerGetsOneCredentialsSecret(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	expectErr(t, f.sync(), nil)
	expectActions(t, secretRequests(f.actions()), "create secrets nas-generated")

	s := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
	if n := len(s.Data[resources.JWTSecretKey]); n < resources.JWTSecretLength {
		t.Errorf("JWT secret of %d characters", n)
	}
	if n := len(s.Data[resources.AdminPasswordKey]); n < resources.AdminPasswordLength {
		t.Errorf("admin password of %d characters", n)
	}
	if len(s.OwnerReferences) != 0 || !resources.KeptFor(s, f.dittoServer()) {
		t.Errorf("owners %v labels %v, want kept for nas", s.OwnerReferences, s.Labels)
	}
	for _, name := range []string{"nas-jwt", "nas-admin"} {
		if f.exists(f.kube, gvrSecrets, name) {
			t.Errorf("Secret %s created for a new server", name)
		}
	}
	if got := envSecret(t, f, "DITTOFS_CONTROLPLANE_SECRET"); got != "nas-generated/jwt-secret" {
		t.Errorf("JWT secret from %s", got)
	}
	if got := envSecret(t, f, "DITTOFS_ADMIN_INITIAL_PASSWORD"); got != "nas-generated/password" {
		t.Errorf("admin password from %s", got)
	}
	f.converge()
	f.expectQuiet(t)
}

// A DittoServer re-created under the name of one that left its
// <name>-generated behind reuses it as it is: the server on the retained
// volumes only accepts the old admin password.
func TestRecreatedServerReusesCredentials(t *testing.T) {
	earlier := newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.UID = "earlier-uid" })
	kept := resources.CredentialsSecret(earlier, "nas-generated", map[string]string{
		resources.JWTSecretKey: "old-jwt-secret-0123456789abcdef0123456789", resources.AdminPasswordKey: "old-admin-password"})
	f := newFixture(t, false, newDittoServer(withFinalizer), kept)
	expectErr(t, f.sync(), nil)
	expectActions(t, secretRequests(f.actions()))
	s := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
	if string(s.Data[resources.AdminPasswordKey]) != "old-admin-password" || string(s.Data[resources.JWTSecretKey]) != string(kept.Data[resources.JWTSecretKey]) {
		t.Errorf("kept credentials changed: %v", s.Data)
	}
	if !resources.KeptFor(s, f.dittoServer()) || len(s.OwnerReferences) != 0 {
		t.Errorf("owners %v labels %v, want kept", s.OwnerReferences, s.Labels)
	}
	if got := envSecret(t, f, "DITTOFS_ADMIN_INITIAL_PASSWORD"); got != "nas-generated/password" {
		t.Errorf("admin password from %s", got)
	}
	f.converge()
	f.expectQuiet(t)
}

// With the user's own JWT Secret, <name>-generated holds only the admin
// password. When the user drops the reference later, the JWT secret is
// added to it; the admin password the server remembers stays.
func TestUserJWTLeavesOnlyTheAdminPassword(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("user-jwt", "secret")),
		newSecret("user-jwt", map[string]string{"secret": strings.Repeat("u", 40)}))
	f.converge()
	s := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
	if _, ok := s.Data[resources.JWTSecretKey]; ok || len(s.Data[resources.AdminPasswordKey]) < resources.AdminPasswordLength || len(s.Data) != 1 {
		t.Fatalf("nas-generated keys %v, want only %s", keysOf(s), resources.AdminPasswordKey)
	}
	password := string(s.Data[resources.AdminPasswordKey])
	if got := envSecret(t, f, "DITTOFS_CONTROLPLANE_SECRET"); got != "user-jwt/secret" {
		t.Errorf("JWT secret from %s", got)
	}

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Identity = nil }, true)
	f.catchUp()
	f.clear()
	expectErr(t, f.sync(), nil)
	expectActions(t, secretRequests(f.actions()), "patch secrets nas-generated")
	s = f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
	if len(s.Data[resources.JWTSecretKey]) < resources.JWTSecretLength || string(s.Data[resources.AdminPasswordKey]) != password {
		t.Errorf("after dropping the user's JWT Secret: keys %v, admin password kept %v", keysOf(s), string(s.Data[resources.AdminPasswordKey]) == password)
	}
	if got := envSecret(t, f, "DITTOFS_CONTROLPLANE_SECRET"); got != "nas-generated/jwt-secret" {
		t.Errorf("JWT secret from %s", got)
	}
	f.converge()
	f.expectQuiet(t)
}

func keysOf(s *corev1.Secret) []string {
	var out []string
	for k := range s.Data {
		out = append(out, k)
	}
	return out
}

// deletionPolicy Delete deletes <name>-generated with the other generated
// Secrets; a credentials Secret not made for the server stays.
func TestDeletionPolicyDeletesCredentials(t *testing.T) {
	ds := newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
		ds.DeletionTimestamp = &metav1.Time{Time: t0}
		ds.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
	})
	other := newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.Name, ds.UID = "other", "other-uid" })
	f := newFixture(t, false, ds,
		resources.CredentialsSecret(ds, "nas-generated", map[string]string{resources.AdminPasswordKey: "a"}),
		resources.OperatorSecret(ds, "password", "o"),
		resources.CredentialsSecret(other, "other-generated", map[string]string{resources.AdminPasswordKey: "b"}))
	expectErr(t, f.sync(), nil)
	var deletes []string
	for _, a := range f.actions() {
		if strings.HasPrefix(a, "delete secrets") {
			deletes = append(deletes, a)
		}
	}
	expectActions(t, deletes, "delete secrets nas-generated", "delete secrets nas-operator")
	if !f.exists(f.kube, gvrSecrets, "other-generated") {
		t.Error("the credentials of another DittoServer were deleted")
	}
}
