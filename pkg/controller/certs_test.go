package controller

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func withTLSMode(mode dittov1alpha1.TLSMode) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: mode}}
	}
}

func (f *fixture) secret(name string) *corev1.Secret {
	return f.get(f.kube, gvrSecrets, name).(*corev1.Secret)
}

// verifyServing checks the serving Secret's certificate against its own
// ca.crt for the API Service's name, at the fixture's clock.
func verifyServing(t *testing.T, f *fixture) *x509.Certificate {
	t.Helper()
	s := f.secret("nas-api-tls")
	block, _ := pem.Decode(s.Data[resources.TLSCertKey])
	if block == nil {
		t.Fatalf("nas-api-tls has no certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data[resources.TLSCAKey]) {
		t.Fatalf("nas-api-tls has no ca.crt")
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "nas-api.storage.svc", Roots: roots, CurrentTime: f.clock}); err != nil {
		t.Errorf("the serving certificate does not verify against its ca.crt: %v", err)
	}
	return cert
}

// Without spec.controlPlane.tls a new server gets a CA and a serving
// certificate signed by it, both owned by the DittoServer; the pod mounts
// the serving Secret and its version is in the config hash. A converged
// server costs nothing more.
func TestIssuedCertificateByDefault(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	ds := f.dittoServer()
	for _, name := range []string{"nas-ca", "nas-api-tls"} {
		if s := f.secret(name); !controlledBy(s, ds) {
			t.Errorf("Secret %s: owners %v, want the DittoServer", name, s.OwnerReferences)
		}
	}
	verifyServing(t, f)
	if f.secret("nas-api-tls").Type != corev1.SecretTypeTLS {
		t.Errorf("nas-api-tls type %s", f.secret("nas-api-tls").Type)
	}
	vol := f.statefulSet().Spec.Template.Spec.Volumes
	found := false
	for _, v := range vol {
		found = found || (v.Secret != nil && v.Secret.SecretName == "nas-api-tls")
	}
	if !found {
		t.Errorf("the pod does not mount nas-api-tls: %+v", vol)
	}
	f.expectQuiet(t)
}

// Two thirds into its lifetime the serving certificate is issued again by
// the same CA, in place; the new version rolls the pod (ConfigUpdated), as
// any changed input does, and the operator says why. Before that moment a
// pass is quiet.
func TestServingCertificateRenewal(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	old := verifyServing(t, f)
	oldHash := f.podConfigHash()

	f.clock = resources.RenewAt(old).Add(-time.Second)
	f.expectQuiet(t)

	f.clock = resources.RenewAt(old)
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets nas-ca", "patch secrets nas-api-tls", "update statefulsets nas", "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal CertificateRenewed Renewed the API's certificate in Secret nas-api-tls",
		"Normal ConfigUpdated Configuration updated, pods will restart")
	f.catchUp()
	renewed := verifyServing(t, f)
	if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 || !renewed.NotAfter.After(old.NotAfter) {
		t.Errorf("not renewed: serial %v → %v, NotAfter %v → %v", old.SerialNumber, renewed.SerialNumber, old.NotAfter, renewed.NotAfter)
	}
	if f.podConfigHash() == oldHash {
		t.Errorf("config hash unchanged: the pod keeps serving the old certificate")
	}
	f.expectQuiet(t)
}

// Two thirds into the CA's lifetime the CA is issued again, and with it the
// serving certificate; the trust bundle keeps the previous CA, so the
// operator still verifies the pod that serves the old certificate until the
// rollout replaces it.
func TestCARenewalKeepsThePreviousCATrusted(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	oldCA := f.secret("nas-ca").Data[resources.CACertKey]
	// The day before, the serving certificate was renewed by the old CA.
	f.clock = f.clock.Add(resources.CALifetime*2/3 - 24*time.Hour)
	f.converge()
	oldServing := f.secret("nas-api-tls").Data[resources.TLSCertKey]

	f.clock = f.clock.Add(24 * time.Hour)
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets nas-ca", "patch secrets nas-ca", "patch secrets nas-api-tls",
		"update statefulsets nas", "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal CertificateRenewed Renewed the API's CA in Secret nas-ca",
		"Normal CertificateRenewed Renewed the API's certificate in Secret nas-api-tls", "Normal ConfigUpdated")
	f.catchUp()
	verifyServing(t, f)
	bundle := f.secret("nas-api-tls").Data[resources.TLSCAKey]
	if !bytes.Contains(bundle, oldCA) || bytes.Equal(f.secret("nas-ca").Data[resources.CACertKey], oldCA) {
		t.Errorf("ca.crt after the CA's renewal does not hold both the new and the previous CA")
	}
	// The certificate the pod still serves verifies against the bundle.
	block, _ := pem.Decode(oldServing)
	cert, _ := x509.ParseCertificate(block.Bytes)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(bundle)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "nas-api.storage.svc", Roots: roots, CurrentTime: f.clock}); err != nil {
		t.Errorf("the previous certificate is no longer verified during the rollout: %v", err)
	}
	f.expectQuiet(t)
}

// A Secret of an issued name that another owner controls is neither used
// nor written: the DittoServer reports ResourceNotOwned, and no pod is made
// to serve a certificate the operator did not issue.
func TestIssuedSecretNameTaken(t *testing.T) {
	foreign := newSecret("nas-ca", map[string]string{"tls.crt": "theirs", "tls.key": "theirs"})
	foreign.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: types.UID("x"), Controller: ptr.To(true)}}
	f := newFixture(t, false, newDittoServer(withFinalizer), foreign)
	expectErr(t, f.sync(), errWaiting)
	for _, a := range f.actions() {
		if a == "patch secrets nas-ca" || a == "create statefulsets nas" || a == "create secrets nas-api-tls" {
			t.Errorf("unexpected request %q", a)
		}
	}
	expectEvents(t, f.events(), "Warning ResourceNotOwned Secret storage/nas-ca exists but is not controlled by this DittoServer")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned")
}

// With mode Disabled, or the user's own Secret, nothing is issued.
func TestNothingIssued(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*dittov1alpha1.DittoServer)
		objs []*corev1.Secret
	}{
		{"mode Disabled", withTLSMode(dittov1alpha1.TLSModeDisabled), nil},
		{"the user's Secret", withTLS("nas-cert"), []*corev1.Secret{newSecret("nas-cert", map[string]string{"tls.crt": "C", "tls.key": "K"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{newDittoServer(withFinalizer, tc.mod)}
			for _, s := range tc.objs {
				objs = append(objs, s)
			}
			f := newFixture(t, false, objs...)
			f.converge()
			for _, name := range []string{"nas-ca", "nas-api-tls"} {
				if f.exists(f.kube, gvrSecrets, name) {
					t.Errorf("Secret %s issued", name)
				}
			}
		})
	}
}
