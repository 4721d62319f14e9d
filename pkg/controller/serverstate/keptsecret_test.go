package serverstate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The <name>-operator Secret lives as long as the volumes where the server
// remembers the operator's account: a DittoServer re-created under the same
// name uses the one kept for it, and the account keeps that password; a
// Secret of that name someone else made is never used or overwritten.
func TestOperatorSecretKeptForTheName(t *testing.T) {
	const keptPassword = "kept-operator-password-0123456789"
	earlier := availableServer(func(ds *dittov1alpha1.DittoServer) { ds.UID = "earlier-uid" })
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: OperatorSecretName(earlier), Namespace: testNamespace},
		Data: map[string][]byte{OperatorPasswordKey: []byte(keptPassword)}}
	for _, tc := range []struct {
		name     string
		secret   *corev1.Secret
		notOwned bool
	}{
		{"kept by an earlier DittoServer of this name", resources.OperatorSecret(earlier, OperatorPasswordKey, keptPassword), false},
		{"made by someone else", foreign, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, append([]runtime.Object{tc.secret}, teamObjects()...)...)
			_ = f.sync()
			s, err := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, OperatorSecretName(f.server()), metav1.GetOptions{})
			if err != nil || string(s.Data[OperatorPasswordKey]) != keptPassword {
				t.Fatalf("the Secret was replaced or changed: %v", err)
			}
			for _, w := range f.kubeWrites() {
				// The one write allowed: the annotation that records the
				// server accepted the account (its data is checked above).
				if strings.Contains(w, "secrets") && (w != "patch secrets" || tc.notOwned) {
					t.Errorf("unexpected Secret write %q", w)
				}
			}
			if tc.notOwned {
				if _, ok := f.srv.users[OperatorUsername]; ok {
					t.Errorf("an operator account was set up from someone else's Secret")
				}
				if !hasEvent(f.events(), "Warning "+ReasonNotOwned) {
					t.Errorf("no %s Warning", ReasonNotOwned)
				}
				return
			}
			if got := f.srv.passwords[OperatorUsername]; got != keptPassword {
				t.Errorf("operator account password %q, want the kept one", got)
			}
		})
	}
}
