package resources

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Without spec.controlPlane.tls.secretName the operator issues the API's
// certificate itself, as CloudNativePG does for its clusters: a CA of this
// server in <name>-ca (its key never leaves that Secret: the pod does not
// mount it) signs a serving certificate in <name>-api-tls, the Secret the
// pod mounts at /tls and the operator verifies the server with. Both are
// re-issued at two thirds of their lifetime. They are owned by the
// DittoServer and go with it: they unlock no data, and a DittoServer
// created again gets a new CA that only it and the operator trust.

// Lifetimes of what the operator issues.
const (
	CALifetime      = 10 * 365 * 24 * time.Hour
	ServingLifetime = 365 * 24 * time.Hour
)

// Labels of the issued Secrets. The operator's Secret cache keeps labels
// (not annotations nor data), so a converged pass decides renewal from it.
const (
	// RenewAfterLabel is when the Secret's certificate is re-issued, in
	// Unix seconds: two thirds into its lifetime.
	RenewAfterLabel = "dittofs.dittofs.com/renew-after"
	// CASerialLabel is the serial number (hex) of the CA: of the CA Secret's
	// own certificate, and of the CA that signed the serving certificate.
	// A serving certificate of another CA is re-issued.
	CASerialLabel = "dittofs.dittofs.com/ca-serial"
)

// ComponentTLS is the value of ComponentLabel of the issued TLS Secrets.
const ComponentTLS = "tls"

// The CA Secret's keys: the CA certificate and key, and the trust bundle
// (the CA and the CA before it, while that one is valid) that the serving
// Secret's ca.crt copies, so a server still serving a certificate of the
// previous CA is verified during the rollout that follows a CA renewal.
const (
	CACertKey = "tls.crt"
	CAKeyKey  = "tls.key"
)

// IssuedTLSSecretName is the Secret with the issued serving certificate.
func IssuedTLSSecretName(ds *dittov1alpha1.DittoServer) string { return ds.Name + "-api-tls" }

// IssuedCASecretName is the Secret with the CA the operator issues with.
func IssuedCASecretName(ds *dittov1alpha1.DittoServer) string { return ds.Name + "-ca" }

// APIDNSNames are the names the serving certificate carries: the API
// Service by every name a client in the cluster resolves, and the pods by
// their headless names.
func APIDNSNames(ds *dittov1alpha1.DittoServer) []string {
	api, headless, ns := APIServiceName(ds), HeadlessServiceName(ds), ds.Namespace
	return []string{
		api, api + "." + ns, api + "." + ns + ".svc", api + "." + ns + ".svc.cluster.local",
		"*." + headless + "." + ns + ".svc", "*." + headless + "." + ns + ".svc.cluster.local",
	}
}

// Issued is a certificate and its private key, PEM encoded.
type Issued struct {
	CertPEM, KeyPEM []byte
	Cert            *x509.Certificate
	key             *ecdsa.PrivateKey
}

// IssueCA makes a self-signed CA for ds, valid from now for CALifetime.
func IssueCA(ds *dittov1alpha1.DittoServer, now time.Time, random io.Reader) (Issued, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s/%s DittoFS API CA", ds.Namespace, ds.Name), Organization: []string{"dittofs-operator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return issue(tmpl, nil, random)
}

// IssueServingCert makes the API's serving certificate for ds, signed by
// ca, valid from now for ServingLifetime but never past the CA.
func IssueServingCert(ds *dittov1alpha1.DittoServer, ca Issued, now time.Time, random io.Reader) (Issued, error) {
	notAfter := now.Add(ServingLifetime)
	if ca.Cert.NotAfter.Before(notAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: APIServiceDNSName(ds)},
		DNSNames:    APIDNSNames(ds),
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return issue(tmpl, &ca, random)
}

// issue signs tmpl with parent (itself when nil) for a new P-256 key.
func issue(tmpl *x509.Certificate, parent *Issued, random io.Reader) (Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return Issued{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := randomSerial(random)
	if err != nil {
		return Issued{}, err
	}
	tmpl.SerialNumber = serial
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.Cert
	}
	der, err := x509.CreateCertificate(random, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return Issued{}, fmt.Errorf("sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Issued{}, fmt.Errorf("parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Issued{}, fmt.Errorf("encode key: %w", err)
	}
	return Issued{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		Cert:    cert, key: key,
	}, nil
}

// randomSerial is a positive 128-bit serial number.
func randomSerial(random io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, fmt.Errorf("draw serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, always 16 bytes
	return new(big.Int).SetBytes(b), nil
}

// ParseCA reads a CA Secret's certificate and key.
func ParseCA(data map[string][]byte) (Issued, error) {
	block, _ := pem.Decode(data[CACertKey])
	if block == nil {
		return Issued{}, errors.New("no PEM certificate in key " + CACertKey)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Issued{}, fmt.Errorf("key %s: %w", CACertKey, err)
	}
	kb, _ := pem.Decode(data[CAKeyKey])
	if kb == nil {
		return Issued{}, errors.New("no PEM key in key " + CAKeyKey)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return Issued{}, fmt.Errorf("key %s: %w", CAKeyKey, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return Issued{}, errors.New("the key does not match the certificate")
	}
	return Issued{CertPEM: data[CACertKey], KeyPEM: data[CAKeyKey], Cert: cert, key: key}, nil
}

// TrustBundle is the CA certificates the operator trusts: ca first, then
// those of previous still valid at now (the CA before a renewal), each once.
func TrustBundle(ca Issued, previous []byte, now time.Time) []byte {
	out := append([]byte(nil), ca.CertPEM...)
	for rest := previous; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil || cert.Equal(ca.Cert) || now.After(cert.NotAfter) {
			continue
		}
		out = append(out, pem.EncodeToMemory(block)...)
	}
}

// CASecret holds ds's CA: certificate, key and the trust bundle.
func CASecret(ds *dittov1alpha1.DittoServer, ca Issued, bundle []byte) *corev1.Secret {
	return issuedSecret(ds, IssuedCASecretName(ds), corev1.SecretTypeOpaque, ca, ca,
		map[string][]byte{CACertKey: ca.CertPEM, CAKeyKey: ca.KeyPEM, TLSCAKey: bundle})
}

// IssuedTLSSecret holds the serving certificate the pod mounts, and the
// trust bundle the operator verifies it with.
func IssuedTLSSecret(ds *dittov1alpha1.DittoServer, cert, ca Issued, bundle []byte) *corev1.Secret {
	return issuedSecret(ds, IssuedTLSSecretName(ds), corev1.SecretTypeTLS, cert, ca,
		map[string][]byte{TLSCertKey: cert.CertPEM, TLSKeyKey: cert.KeyPEM, TLSCAKey: bundle})
}

func issuedSecret(ds *dittov1alpha1.DittoServer, name string, typ corev1.SecretType, cert, ca Issued, data map[string][]byte) *corev1.Secret {
	m := objectMeta(ds, name, ComponentTLS)
	m.Labels[RenewAfterLabel] = strconv.FormatInt(RenewAt(cert.Cert).Unix(), 10)
	m.Labels[CASerialLabel] = ca.Cert.SerialNumber.Text(16)
	return &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: m, Type: typ, Data: data}
}

// RenewAt is two thirds into cert's lifetime.
func RenewAt(cert *x509.Certificate) time.Time {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotBefore.Add(life * 2 / 3)
}

// RenewDue reports whether an issued Secret's certificate must be issued
// again at now: its renewal time has come, or its labels do not say when.
func RenewDue(obj metav1.Object, now time.Time) bool {
	at, err := strconv.ParseInt(obj.GetLabels()[RenewAfterLabel], 10, 64)
	return err != nil || !now.Before(time.Unix(at, 0))
}

// SameCA reports whether both Secrets name the same CA serial.
func SameCA(a, b metav1.Object) bool {
	s := a.GetLabels()[CASerialLabel]
	return s != "" && s == b.GetLabels()[CASerialLabel]
}
