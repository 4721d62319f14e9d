package serverstate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// withPlainHTTP turns the API's TLS off (spec.controlPlane.tls.mode Disabled).
func withPlainHTTP(ds *dittov1alpha1.DittoServer) {
	ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}}
}

func withAPITLS(ds *dittov1alpha1.DittoServer) {
	ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{TLS: &dittov1alpha1.ControlPlaneTLSSpec{SecretName: "nas-cert"}}
}

func tlsSecret(certPEM, keyPEM, caPEM []byte) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nas-cert", Namespace: testNamespace}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}}
	if caPEM != nil {
		s.Data["ca.crt"] = caPEM
	}
	return s
}

// startTLSServer serves 200 on 127.0.0.1 with the certificate.
func startTLSServer(t *testing.T, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// fixedTunnel is a tunnel already open at one URL.
type fixedTunnel string

func (u fixedTunnel) Endpoint(context.Context, *dittov1alpha1.DittoServer) (string, error) {
	return string(u), nil
}
func (fixedTunnel) Close(cache.ObjectName) {}

// The Service URL and the tunnel's URL follow the API's scheme; an
// override is used as written.
func TestEndpointsFollowTheAPIScheme(t *testing.T) {
	plain, secure := availableServer(withPlainHTTP), availableServer(withAPITLS)
	if got := ServiceURL(plain); got != "http://nas-api.storage.svc:8080" {
		t.Errorf("ServiceURL without TLS = %q", got)
	}
	if got := ServiceURL(secure); got != "https://nas-api.storage.svc:8080" {
		t.Errorf("ServiceURL with TLS = %q", got)
	}
	e := NewEndpoints(AccessProxy, fixedTunnel("http://127.0.0.1:41234"), nil)
	for ds, want := range map[*dittov1alpha1.DittoServer]string{plain: "http://127.0.0.1:41234", secure: "https://127.0.0.1:41234"} {
		if got, err := e.Resolve(t.Context(), ds); err != nil || got != want {
			t.Errorf("tunnel URL = %q, %v; want %q", got, err, want)
		}
	}
	o := NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): "https://localhost:9443"})
	if got, _ := o.Resolve(t.Context(), secure); got != "https://localhost:9443" {
		t.Errorf("override URL = %q", got)
	}
}

// The operator's client verifies the server's certificate with ca.crt of
// the TLS Secret and for the Service DNS name, whatever address it dials
// (here 127.0.0.1); a certificate of another CA, or for another name, is
// refused. The Secret is read once per resourceVersion.
func TestAPITransportVerifiesTheServer(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	certPEM, keyPEM := ca.serverCert(t, "nas-api.storage.svc")
	url := startTLSServer(t, certPEM, keyPEM)
	wrongNameCert, wrongNameKey := ca.serverCert(t, "other-api.storage.svc")
	wrongNameURL := startTLSServer(t, wrongNameCert, wrongNameKey)

	f := newFixture(t, availableServer(withAPITLS), tlsSecret(certPEM, keyPEM, ca.certPEM))
	ds := f.server()
	get := func(target string) error {
		f.t.Helper()
		f.catchUp()
		rt, _, err := f.c.apiTransport(f.ctx, ds)
		if err != nil {
			t.Fatalf("apiTransport: %v", err)
		}
		resp, err := (&http.Client{Transport: rt}).Get(target + "/health")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}

	f.clear()
	if err := get(url); err != nil {
		t.Fatalf("a certificate of the Secret's CA for the Service name is refused: %v", err)
	}
	if reads := f.kubeReads(); len(reads) != 1 || reads[0] != "get secrets nas-cert" {
		t.Errorf("first use: reads %v, want one GET of the TLS Secret", reads)
	}
	f.clear()
	if err := get(url); err != nil {
		t.Fatal(err)
	}
	if reads := f.kubeReads(); len(reads) != 0 {
		t.Errorf("unchanged Secret: reads %v, want none", reads)
	}
	if err := get(wrongNameURL); err == nil || !strings.Contains(err.Error(), "nas-api.storage.svc") {
		t.Errorf("a certificate for another name: %v, want refused", err)
	}

	// The Secret now names another CA: the new version is read, and the
	// server's certificate is refused.
	f.update(tlsSecret(certPEM, keyPEM, other.certPEM), gvrSecrets)
	f.clear()
	err := get(url)
	var unknown x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &unknown) {
		t.Errorf("a certificate of another CA: %v, want unknown authority", err)
	}
	if reads := f.kubeReads(); len(reads) != 1 {
		t.Errorf("renewed Secret: reads %v, want one GET", reads)
	}
}

// A TLS Secret that is missing, or whose ca.crt holds no certificate, is a
// problem the user must fix, named after the field.
func TestAPITransportProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secret  *corev1.Secret
		reason  string
		message string
	}{
		{"missing", nil, ReasonSecretNotFound, `Secret "nas-cert" (spec.controlPlane.tls.secretName) not found`},
		{"bad CA", tlsSecret([]byte("C"), []byte("K"), []byte("not PEM")), ReasonSecretInvalid,
			`Secret "nas-cert" key "ca.crt" (spec.controlPlane.tls.secretName): no PEM certificate in it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, availableServer(withAPITLS))
			if tc.secret != nil {
				f.add(tc.secret)
			}
			f.catchUp()
			_, _, err := f.c.apiTransport(f.ctx, f.server())
			var p *problemError
			if !errors.As(err, &p) || p.Reason != tc.reason || !strings.HasPrefix(p.Message, tc.message) {
				t.Errorf("err = %v, want %s %q", err, tc.reason, tc.message)
			}
			if err != nil && strings.Contains(err.Error(), "not PEM") {
				t.Errorf("the error repeats the Secret's value: %v", err)
			}
		})
	}
}

// Without ca.crt the system roots verify the server, still for the
// Service DNS name.
func TestClientTLSConfigWithoutCA(t *testing.T) {
	cfg, err := clientTLSConfig(availableServer(withAPITLS), nil)
	if err != nil || cfg.RootCAs != nil || cfg.ServerName != "nas-api.storage.svc" || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("config = %+v, %v", cfg, err)
	}
}

// Without spec.controlPlane.tls the operator verifies the server against
// the CA in the Secret it issued, and only that Secret: a missing one is
// waited for (the DittoServer controller issues it before the pod starts),
// one it did not issue is refused, and a server whose certificate another
// CA signed is refused.
func TestIssuedCertificateIsVerified(t *testing.T) {
	ds := availableServer()
	issued := issuedTLSSecret(t, ds)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	cert, err := tls.X509KeyPair(issued.Data["tls.crt"], issued.Data["tls.key"])
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(f *fixture) error {
		rt, _, err := f.c.apiTransport(f.ctx, ds)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	if err := get(newFixture(t, ds, issued)); err != nil {
		t.Errorf("the issued certificate is not verified: %v", err)
	}

	other := issuedTLSSecret(t, ds) // another CA, same names
	if err := get(newFixture(t, ds, other)); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("a server with a certificate of another CA: %v, want unknown authority", err)
	}

	foreign := issued.DeepCopy()
	foreign.OwnerReferences = nil
	var p *problemError
	if err := get(newFixture(t, ds, foreign)); !errors.As(err, &p) || p.Reason != ReasonSecretInvalid {
		t.Errorf("a Secret the operator did not issue: %v, want %s", err, ReasonSecretInvalid)
	}

	f := newFixture(t, ds)
	_ = f.kubeCS.CoreV1().Secrets(testNamespace).Delete(f.ctx, "nas-api-tls", metav1.DeleteOptions{})
	var u *unreachableError
	if err := get(f); !errors.As(err, &u) {
		t.Errorf("no issued Secret yet: %v, want a wait (unreachable)", err)
	}
}
