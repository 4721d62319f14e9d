package serverstate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The operator logs in as the admin with the password the pod was given:
// from <name>-generated for a new server, from <name>-admin for a server
// that has it (made before <name>-generated), even when a
// <name>-generated with another password is there too.
func TestAdminPasswordFoundInEitherLayout(t *testing.T) {
	ds := availableServer()
	decoy := resources.CredentialsSecret(ds, resources.CredentialsSecretName(ds), map[string]string{resources.AdminPasswordKey: "not-the-admin-password"})
	for _, tc := range []struct {
		name    string
		secrets []*corev1.Secret
	}{
		{"one Secret", []*corev1.Secret{adminSecret(ds)}},
		{"two Secrets", []*corev1.Secret{legacyAdminSecret(ds)}},
		{"two Secrets and a credentials Secret", []*corev1.Secret{legacyAdminSecret(ds), decoy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{ds, statefulSet(ds)}
			for _, s := range tc.secrets {
				objs = append(objs, s)
			}
			f := newFixture(t, objs...)
			if err := f.sync(); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := f.srv.writes(); !slices.Contains(got, "POST user "+OperatorUsername) {
				t.Errorf("the operator's account was not created as the admin: REST writes %v", got)
			}
		})
	}
}
