package resources

import (
	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

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

// GeneratedSecrets lists the Secrets the operator generates for ds: none
// when the user gives both values, else <name>-generated with the values the
// user does not give.
func GeneratedSecrets(ds *dittov1alpha1.DittoServer) []GeneratedCredentials {
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
		add(CredentialsSecretName(ds), GeneratedValue{JWTSecretKey, JWTSecretLength})
	}
	if UserAdminPasswordSecret(ds) == nil {
		add(CredentialsSecretName(ds), GeneratedValue{AdminPasswordKey, AdminPasswordLength})
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
