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
	for _, tc := range []struct {
		layout     CredentialsLayout
		jwt, admin string
	}{
		{CredentialsOneSecret, "files-generated", "files-generated"},
		{"", "files-generated", "files-generated"}, // the zero value is the current layout
		{CredentialsTwoSecrets, "files-jwt", "files-admin"},
	} {
		if got := JWTSecretSelector(generated, tc.layout); got.Name != tc.jwt || got.Key != JWTSecretKey {
			t.Errorf("%q: JWT %+v, want %s", tc.layout, got, tc.jwt)
		}
		if got := AdminPasswordSelector(generated, tc.layout); got.Name != tc.admin || got.Key != AdminPasswordKey {
			t.Errorf("%q: admin %+v, want %s", tc.layout, got, tc.admin)
		}
	}
	users := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{
			JWT:   &dittov1alpha1.JWTSpec{SecretRef: ref("id", "jwt")},
			Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: ref("id", "pw")},
		}
	})
	for _, layout := range []CredentialsLayout{CredentialsOneSecret, CredentialsTwoSecrets} {
		if got := JWTSecretSelector(users, layout); got.Name != "id" || got.Key != "jwt" {
			t.Errorf("%s: user's JWT %+v", layout, got)
		}
		if got := AdminPasswordSelector(users, layout); got.Name != "id" || got.Key != "pw" {
			t.Errorf("%s: user's admin %+v", layout, got)
		}
	}
}

func ref(name, key string) *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
}

func TestCredentialsLayoutOf(t *testing.T) {
	ds := newDS()
	for _, tc := range []struct {
		existing []string
		want     CredentialsLayout
	}{
		{nil, CredentialsOneSecret},
		{[]string{"files-generated"}, CredentialsOneSecret},
		{[]string{"files-operator", "other-jwt"}, CredentialsOneSecret},
		{[]string{"files-jwt"}, CredentialsTwoSecrets},
		{[]string{"files-admin"}, CredentialsTwoSecrets},
		{[]string{"files-jwt", "files-admin"}, CredentialsTwoSecrets},
	} {
		exists := func(name string) bool {
			for _, e := range tc.existing {
				if e == name {
					return true
				}
			}
			return false
		}
		if got := CredentialsLayoutOf(ds, exists); got != tc.want {
			t.Errorf("with %v: %s, want %s", tc.existing, got, tc.want)
		}
	}
}

func TestGeneratedSecretsPerLayout(t *testing.T) {
	userJWT := func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{JWT: &dittov1alpha1.JWTSpec{SecretRef: ref("id", "jwt")}}
	}
	userAdmin := func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: ref("id", "pw")}}
	}
	both := func(ds *dittov1alpha1.DittoServer) {
		userJWT(ds)
		userAdmin(ds)
		ds.Spec.Identity.JWT = &dittov1alpha1.JWTSpec{SecretRef: ref("id", "jwt")}
	}
	for _, tc := range []struct {
		name   string
		ds     *dittov1alpha1.DittoServer
		layout CredentialsLayout
		want   string // name:key,key;name:key
	}{
		{"new server", newDS(), CredentialsOneSecret, "files-generated:jwt-secret,password"},
		{"existing server", newDS(), CredentialsTwoSecrets, "files-jwt:jwt-secret;files-admin:password"},
		{"new server, user's JWT", newDS(userJWT), CredentialsOneSecret, "files-generated:password"},
		{"new server, user's admin password", newDS(userAdmin), CredentialsOneSecret, "files-generated:jwt-secret"},
		{"existing server, user's JWT", newDS(userJWT), CredentialsTwoSecrets, "files-admin:password"},
		{"user's both", newDS(both), CredentialsOneSecret, ""},
	} {
		var parts []string
		for _, g := range GeneratedSecrets(tc.ds, tc.layout) {
			var keys []string
			for _, v := range g.Values {
				keys = append(keys, v.Key)
			}
			parts = append(parts, g.Name+":"+strings.Join(keys, ","))
		}
		if got := strings.Join(parts, ";"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	s := CredentialsSecret(newDS(), "files-generated", map[string]string{JWTSecretKey: "j", AdminPasswordKey: "p"})
	if string(s.Data[JWTSecretKey]) != "j" || string(s.Data[AdminPasswordKey]) != "p" || len(s.Data) != 2 || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("credentials Secret data %v type %s", s.Data, s.Type)
	}
	if len(s.OwnerReferences) != 0 || s.Labels[KeptForLabel] != "files" || s.Labels[ComponentLabel] != ComponentCredentials {
		t.Errorf("credentials Secret owners %v labels %v, want kept for files", s.OwnerReferences, s.Labels)
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
