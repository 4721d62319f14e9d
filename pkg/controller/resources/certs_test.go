package resources

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var certNow = time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, ds *dittov1alpha1.DittoServer, now time.Time) Issued {
	t.Helper()
	ca, err := IssueCA(ds, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// The serving certificate the operator issues verifies, against its CA, for
// every name a client in the cluster reaches the API by, and only as a
// server; the CA verifies nothing else.
func TestIssuedServingCertificate(t *testing.T) {
	ds := tlsServer(nil)
	ca := mustCA(t, ds, certNow)
	cert, err := IssueServingCert(ds, ca, certNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"nas-api", "nas-api.storage", "nas-api.storage.svc", "nas-api.storage.svc.cluster.local",
		"nas-0.nas-headless.storage.svc", "nas-0.nas-headless.storage.svc.cluster.local"} {
		if _, err := cert.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: certNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	for _, name := range []string{"nas-api.other.svc", "other-api.storage.svc", "nas-file.storage.svc"} {
		if _, err := cert.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: certNow}); err == nil {
			t.Errorf("verifies for %s", name)
		}
	}
	if cert.Cert.IsCA || !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero {
		t.Errorf("IsCA: serving %v, CA %v (MaxPathLenZero %v)", cert.Cert.IsCA, ca.Cert.IsCA, ca.Cert.MaxPathLenZero)
	}
	if got := cert.Cert.NotAfter.Sub(certNow); got != ServingLifetime {
		t.Errorf("serving lifetime %v, want %v", got, ServingLifetime)
	}
	other := mustCA(t, ds, certNow)
	pool := x509.NewCertPool()
	pool.AddCert(other.Cert)
	if _, err := cert.Cert.Verify(x509.VerifyOptions{DNSName: "nas-api.storage.svc", Roots: pool, CurrentTime: certNow}); err == nil {
		t.Errorf("verifies against another CA")
	}
}

// A serving certificate never outlives its CA.
func TestServingCertificateEndsWithItsCA(t *testing.T) {
	ds := tlsServer(nil)
	ca := mustCA(t, ds, certNow)
	late := ca.Cert.NotAfter.Add(-24 * time.Hour)
	cert, err := IssueServingCert(ds, ca, late, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %v, want the CA's %v", cert.Cert.NotAfter, ca.Cert.NotAfter)
	}
}

// The issued Secrets: the serving one is a kubernetes.io/tls Secret the pod
// mounts, with the trust bundle as ca.crt and no CA key; both are owned by
// the DittoServer and say when to renew (two thirds into the lifetime) and
// which CA they belong to.
func TestIssuedSecrets(t *testing.T) {
	ds := tlsServer(nil)
	ds.UID = "uid-1"
	ca := mustCA(t, ds, certNow)
	cert, err := IssueServingCert(ds, ca, certNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bundle := TrustBundle(ca, nil, certNow)
	serving, caSecret := IssuedTLSSecret(ds, cert, ca, bundle), CASecret(ds, ca, bundle)
	if serving.Name != "nas-api-tls" || serving.Type != corev1.SecretTypeTLS || caSecret.Name != "nas-ca" {
		t.Errorf("names/types: %s %s, %s", serving.Name, serving.Type, caSecret.Name)
	}
	if len(serving.Data) != 3 || !bytes.Equal(serving.Data[TLSCAKey], ca.CertPEM) || bytes.Contains(serving.Data[TLSKeyKey], ca.KeyPEM) {
		t.Errorf("serving Secret keys %v: want tls.crt, tls.key and the CA as ca.crt, never the CA key", keysOf(serving.Data))
	}
	for _, s := range []*corev1.Secret{serving, caSecret} {
		if !metav1.IsControlledBy(s, ds) || s.Labels[ManagedByLabel] != ManagedByValue || s.Labels[KeptForLabel] != "" {
			t.Errorf("%s: owner %v labels %v: want controlled by the DittoServer, not kept", s.Name, s.OwnerReferences, s.Labels)
		}
		if !SameCA(serving, s) {
			t.Errorf("%s: CA serial %q, want %q", s.Name, s.Labels[CASerialLabel], serving.Labels[CASerialLabel])
		}
	}
	renew := certNow.Add(-time.Hour).Add((ServingLifetime + time.Hour) * 2 / 3)
	if got := serving.Labels[RenewAfterLabel]; got != strconv.FormatInt(renew.Unix(), 10) {
		t.Errorf("renew-after %s, want %d", got, renew.Unix())
	}
	if RenewDue(serving, renew.Add(-time.Second)) || !RenewDue(serving, renew) {
		t.Errorf("RenewDue around %v wrong", renew)
	}
	if !RenewDue(&corev1.Secret{}, certNow) {
		t.Errorf("a Secret without renew-after is not due")
	}
	parsed, err := ParseCA(caSecret.Data)
	if err != nil || !parsed.Cert.Equal(ca.Cert) {
		t.Fatalf("ParseCA: %v", err)
	}
	if _, err := IssueServingCert(ds, parsed, certNow, rand.Reader); err != nil {
		t.Errorf("sign with the parsed CA: %v", err)
	}
	other := mustCA(t, ds, certNow)
	if _, err := ParseCA(map[string][]byte{CACertKey: ca.CertPEM, CAKeyKey: other.KeyPEM}); err == nil {
		t.Errorf("ParseCA accepted a key of another certificate")
	}
	if _, err := ParseCA(map[string][]byte{CACertKey: []byte("junk")}); err == nil {
		t.Errorf("ParseCA accepted junk")
	}
}

// After a CA renewal the bundle trusts the new CA and the previous one while
// it is valid, each once; an expired one is dropped.
func TestTrustBundle(t *testing.T) {
	ds := tlsServer(nil)
	old := mustCA(t, ds, certNow)
	renewed := mustCA(t, ds, certNow.Add(CALifetime*2/3))
	bundle := TrustBundle(renewed, append(append([]byte{}, old.CertPEM...), renewed.CertPEM...), certNow.Add(CALifetime*2/3))
	if got := certsIn(t, bundle); len(got) != 2 || !got[0].Equal(renewed.Cert) || !got[1].Equal(old.Cert) {
		t.Errorf("bundle after renewal: %d certificates, want the new CA then the previous one", len(got))
	}
	if got := certsIn(t, TrustBundle(renewed, old.CertPEM, old.Cert.NotAfter.Add(time.Second))); len(got) != 1 || !got[0].Equal(renewed.Cert) {
		t.Errorf("bundle after the previous CA expired: %d certificates, want the new CA only", len(got))
	}
}

func certsIn(t *testing.T, bundle []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
