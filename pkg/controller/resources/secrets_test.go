package resources

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestGeneratedSecrets(t *testing.T) {
	ds := newDS()
	for _, tc := range []struct {
		secret *corev1.Secret
		name   string
		key    string
		value  string
	}{
		{JWTSecret(ds, "j"), "files-jwt", "jwt-secret", "j"},
		{AdminSecret(ds, "p"), "files-admin", "password", "p"},
	} {
		s := tc.secret
		if s.Name != tc.name || s.Namespace != "storage" || s.Type != corev1.SecretTypeOpaque ||
			len(s.Data) != 1 || string(s.Data[tc.key]) != tc.value || len(s.StringData) != 0 {
			t.Errorf("%s: %+v", tc.name, s)
		}
		if s.Labels[ComponentLabel] != ComponentCredentials || s.Labels[ManagedByLabel] != ManagedByValue {
			t.Errorf("%s labels %v", tc.name, s.Labels)
		}
		// Kept: the credentials live as long as the volumes that remember them.
		if len(s.OwnerReferences) != 0 || s.Labels[KeptForLabel] != ds.Name {
			t.Errorf("%s owner references %+v, labels %v", tc.name, s.OwnerReferences, s.Labels)
		}
	}
}

func TestSecretSelectors(t *testing.T) {
	generated := newDS()
	if got := JWTSecretSelector(generated); got.Name != "files-jwt" || got.Key != JWTSecretKey {
		t.Errorf("JWT %+v", got)
	}
	if got := AdminPasswordSelector(generated); got.Name != "files-admin" || got.Key != AdminPasswordKey {
		t.Errorf("admin %+v", got)
	}
	ref := func(name, key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
	}
	users := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{
			JWT:   &dittov1alpha1.JWTSpec{SecretRef: ref("id", "jwt")},
			Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: ref("id", "pw")},
		}
	})
	if got := JWTSecretSelector(users); got.Name != "id" || got.Key != "jwt" {
		t.Errorf("user's JWT %+v", got)
	}
	if got := AdminPasswordSelector(users); got.Name != "id" || got.Key != "pw" {
		t.Errorf("user's admin %+v", got)
	}
}

func TestRandomString(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []int{0, 1, JWTSecretLength, AdminPasswordLength, 1000} {
		s, err := RandomString(n)
		if err != nil || len(s) != n {
			t.Fatalf("RandomString(%d) = %q, %v", n, s, err)
		}
		if strings.Trim(s, urlSafe) != "" {
			t.Errorf("%q has characters outside the URL-safe alphabet", s)
		}
		if n >= 32 && seen[s] {
			t.Errorf("repeated %q", s)
		}
		seen[s] = true
	}
	if _, err := RandomString(-1); err == nil {
		t.Error("negative length accepted")
	}
	// Every character of the alphabet shows up: no modulo bias cuts any out.
	s, _ := RandomString(20000)
	for _, c := range urlSafe {
		if !strings.ContainsRune(s, c) {
			t.Errorf("%q never drawn", c)
		}
	}
}
