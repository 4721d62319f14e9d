package resources

import (
	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// CredentialsLayout says which Secrets hold the credentials the operator
// generates (the JWT signing secret and the initial admin password). The
// server remembers both from its first start, so a server keeps the layout
// it was created with; new servers get the current one.
type CredentialsLayout string

const (
	// CredentialsOneSecret is the current layout: one Secret
	// <name>-generated holds every generated value (one create instead
	// of two). It is also what the zero value means.
	CredentialsOneSecret CredentialsLayout = "one-secret"
	// CredentialsTwoSecrets is the layout of servers created before:
	// <name>-jwt and <name>-admin.
	CredentialsTwoSecrets CredentialsLayout = "two-secrets"
)

// CredentialsLayoutOf decides the layout from the Secrets that exist
// (exists reports whether a Secret of that name is in ds's namespace): a
// server with <name>-jwt or <name>-admin keeps the two Secrets, including
// one re-created under the name of a server that left them behind; every
// other server gets <name>-generated. The decision is stable: the
// operator never creates <name>-jwt or <name>-admin for a server in the
// current layout, and never deletes them while the server exists. A
// user's own Secret of such a name (say a passwordSecretRef to
// <name>-admin) also selects the two Secrets; that costs nothing but the
// one create saved: the values are generated where they always were.
func CredentialsLayoutOf(ds *dittov1alpha1.DittoServer, exists func(name string) bool) CredentialsLayout {
	if exists(JWTSecretName(ds)) || exists(AdminSecretName(ds)) {
		return CredentialsTwoSecrets
	}
	return CredentialsOneSecret
}

// UserJWTSecret is the user's spec.identity.jwt.secretRef, nil when the
// operator generates the JWT secret.
func UserJWTSecret(ds *dittov1alpha1.DittoServer) *corev1.SecretKeySelector {
	if j := jwtSpec(ds); j != nil && j.SecretRef != nil && j.SecretRef.Name != "" {
		return j.SecretRef
	}
	return nil
}

// UserAdminPasswordSecret is the user's spec.identity.admin.passwordSecretRef,
// nil when the operator generates the initial admin password.
func UserAdminPasswordSecret(ds *dittov1alpha1.DittoServer) *corev1.SecretKeySelector {
	if id := ds.Spec.Identity; id != nil && id.Admin != nil && id.Admin.PasswordSecretRef != nil && id.Admin.PasswordSecretRef.Name != "" {
		return id.Admin.PasswordSecretRef
	}
	return nil
}

// GeneratedJWTSecretName is the generated Secret that holds the JWT
// secret in layout (when the user gives none).
func GeneratedJWTSecretName(ds *dittov1alpha1.DittoServer, layout CredentialsLayout) string {
	if layout == CredentialsTwoSecrets {
		return JWTSecretName(ds)
	}
	return CredentialsSecretName(ds)
}

// GeneratedAdminSecretName is the generated Secret that holds the initial
// admin password in layout (when the user gives none).
func GeneratedAdminSecretName(ds *dittov1alpha1.DittoServer, layout CredentialsLayout) string {
	if layout == CredentialsTwoSecrets {
		return AdminSecretName(ds)
	}
	return CredentialsSecretName(ds)
}

// GeneratedValue is one value the operator generates into a Secret key.
type GeneratedValue struct {
	Key    string
	Length int
}

// GeneratedCredentials is one generated Secret and the values it holds.
type GeneratedCredentials struct {
	Name   string
	Values []GeneratedValue
}

// GeneratedSecrets lists the Secrets the operator generates for ds in
// layout: none when the user gives both, else one (<name>-generated, or
// in the old layout <name>-jwt and <name>-admin each when needed).
func GeneratedSecrets(ds *dittov1alpha1.DittoServer, layout CredentialsLayout) []GeneratedCredentials {
	var out []GeneratedCredentials
	add := func(name string, v GeneratedValue) {
		for i := range out {
			if out[i].Name == name {
				out[i].Values = append(out[i].Values, v)
				return
			}
		}
		out = append(out, GeneratedCredentials{Name: name, Values: []GeneratedValue{v}})
	}
	if UserJWTSecret(ds) == nil {
		add(GeneratedJWTSecretName(ds, layout), GeneratedValue{JWTSecretKey, JWTSecretLength})
	}
	if UserAdminPasswordSecret(ds) == nil {
		add(GeneratedAdminSecretName(ds, layout), GeneratedValue{AdminPasswordKey, AdminPasswordLength})
	}
	return out
}

// CredentialsSecret is a generated credentials Secret named name holding
// data (key → value), kept like every generated Secret (see generatedSecret).
func CredentialsSecret(ds *dittov1alpha1.DittoServer, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: keptMeta(ds, name, ComponentCredentials),
		Type:       corev1.SecretTypeOpaque,
		Data:       make(map[string][]byte, len(data)),
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}
