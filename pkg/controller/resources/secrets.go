package resources

import (
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Lengths of the generated values. The server refuses a JWT secret shorter
// than 32 characters and an admin password outside 8–72 characters.
const (
	JWTSecretLength     = 48
	AdminPasswordLength = 32
)

// generatedSecret is kept (KeptForLabel, no owner reference): the server on
// the retained volumes and the kept database remember the admin password and
// the tokens signed with the JWT secret, so the credentials live as long as
// they do and a re-created DittoServer of the same name reuses them.
// OperatorSecret is the Secret <name>-operator with the password of the
// operator's account on the server; kept like the other generated Secrets,
// since the server on the retained volumes remembers that account.
func OperatorSecret(ds *dittov1alpha1.DittoServer, key, password string) *corev1.Secret {
	return generatedSecret(ds, OperatorSecretName(ds), key, password)
}

func generatedSecret(ds *dittov1alpha1.DittoServer, name, key, value string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: keptMeta(ds, name, ComponentCredentials),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{key: []byte(value)},
	}
}

// JWTSecretSelector is where the JWT signing secret comes from: the user's
// spec.identity.jwt.secretRef, or the generated Secret.
func JWTSecretSelector(ds *dittov1alpha1.DittoServer) corev1.SecretKeySelector {
	if ref := UserJWTSecret(ds); ref != nil {
		return *ref.DeepCopy()
	}
	return corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: CredentialsSecretName(ds)},
		Key:                  JWTSecretKey,
	}
}

// AdminPasswordSelector is where the initial admin password comes from: the
// user's spec.identity.admin.passwordSecretRef, or the generated Secret.
func AdminPasswordSelector(ds *dittov1alpha1.DittoServer) corev1.SecretKeySelector {
	if ref := UserAdminPasswordSecret(ds); ref != nil {
		return *ref.DeepCopy()
	}
	return corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: CredentialsSecretName(ds)},
		Key:                  AdminPasswordKey,
	}
}

// PostgresSecretName is the Secret with host, port, user, password and
// dbname: the Percona user Secret, the user's spec.database.postgresSecretRef,
// or "" when the server uses SQLite.
func PostgresSecretName(ds *dittov1alpha1.DittoServer) string {
	switch {
	case PerconaEnabled(ds):
		return PerconaUserSecretName(ds)
	case UsesPostgres(ds) && ds.Spec.Database.PostgresSecretRef != nil:
		return ds.Spec.Database.PostgresSecretRef.Name
	}
	return ""
}

// urlSafe has 64 characters, so a random byte masked to 6 bits picks one
// without bias.
const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// RandomString returns n characters from crypto/rand in the URL-safe
// alphabet: safe in env vars, YAML, URLs and shells without quoting.
func RandomString(n int) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("random string of negative length %d", n)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	for i := range b {
		b[i] = urlSafe[b[i]&63]
	}
	return string(b), nil
}
