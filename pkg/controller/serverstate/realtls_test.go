//go:build realdfs

package serverstate

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// The real dfs v0.29.0 with the TLS configuration the operator renders and
// the Secret's certificate and key mounted at /tls, as in the pod: /health
// answers over HTTPS (and only there), the controller's pass logs in and
// declares the shares over HTTPS, verifying the server with the Secret's
// ca.crt for nas-api.storage.svc while dialing 127.0.0.1; once the Secret
// names another CA, the server is refused.
func TestRealServerTLS(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	var certPEM, keyPEM []byte
	rs := startRealServer(t, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane.TLS = &dittov1alpha1.ControlPlaneTLSSpec{SecretName: "nas-cert"}
	}, func(ds *dittov1alpha1.DittoServer) map[string][]byte {
		certPEM, keyPEM = ca.serverCert(t, resources.APIServiceDNSName(ds))
		return map[string][]byte{filepath.Join(resources.TLSDir, resources.TLSCertKey): certPEM,
			filepath.Join(resources.TLSDir, resources.TLSKeyKey): keyPEM}
	})
	ds, port, server := rs.ds, rs.port, rs.proc

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: resources.APIServiceDNSName(ds)}}}
	baseURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := probe.Get(baseURL + resources.ReadyPath)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dfs not ready over HTTPS: %v\n%s", err, server.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, _, err := dfs.ProbeHTTP(port, resources.HealthPath, time.Second); err == nil && st == http.StatusOK {
		t.Errorf("/health answers 200 over plain HTTP on the TLS port")
	}

	objs := append(teamObjects(), tlsSecret(certPEM, keyPEM, ca.certPEM))
	objs[0] = ds
	f := newFixture(t, objs...)
	// The client gets the controller's transport, as the operator's factory does.
	f.c.newAPI = func(u string, rt http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(rt)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})

	if err := f.sync(); err != nil {
		t.Fatalf("pass over HTTPS: %v\n%s", err, server.Logs())
	}
	for _, obj := range []struct {
		what  string
		conds []metav1.Condition
		typ   string
	}{
		{"share", f.share("projects").Status.Conditions, ConditionReady},
		{"SharesReady", f.server().Status.Conditions, ConditionSharesReady},
	} {
		if c := condition(obj.conds, obj.typ); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s over HTTPS: %+v", obj.what, c)
		}
	}

	// The Secret now names a CA that did not issue the server's certificate.
	f.update(tlsSecret(certPEM, keyPEM, other.certPEM), gvrSecrets)
	err := f.sync()
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("pass with another CA: %v, want the server's certificate refused (unknown authority)", err)
	}
}

// The default: no spec.controlPlane.tls. The real dfs v0.29.0, started from
// the configuration the operator renders with the certificate and key of
// the Secret the operator issues mounted at /tls, serves its API over HTTPS
// only; the controller's pass logs in (the operator account set up with the
// admin login, which a verified server may be sent) and declares the
// shares, verifying the server with the issued ca.crt for
// nas-api.storage.svc while dialing 127.0.0.1. A Secret of that name the
// operator did not issue is refused before any request.
func TestRealServerIssuedTLS(t *testing.T) {
	var issued *corev1.Secret
	rs := startRealServer(t, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane.TLS = nil
	}, func(ds *dittov1alpha1.DittoServer) map[string][]byte {
		ca, err := resources.IssueCA(ds, time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := resources.IssueServingCert(ds, ca, time.Now(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		issued = resources.IssuedTLSSecret(ds, cert, ca, resources.TrustBundle(ca, nil, time.Now()))
		return map[string][]byte{filepath.Join(resources.TLSDir, resources.TLSCertKey): cert.CertPEM,
			filepath.Join(resources.TLSDir, resources.TLSKeyKey): cert.KeyPEM}
	})
	ds, port, server := rs.ds, rs.port, rs.proc
	if !resources.TLSIssued(ds) {
		t.Fatalf("the test server does not use the issued certificate: %+v", ds.Spec.ControlPlane)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(issued.Data[resources.TLSCAKey])
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: resources.APIServiceDNSName(ds), MinVersion: tls.VersionTLS12}}}
	baseURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := probe.Get(baseURL + resources.ReadyPath)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dfs not ready over HTTPS with the issued certificate: %v\n%s", err, server.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, _, err := dfs.ProbeHTTP(port, resources.HealthPath, time.Second); err == nil && st == http.StatusOK {
		t.Errorf("/health answers 200 over plain HTTP on the TLS port")
	}

	objs := append(teamObjects(), issued)
	objs[0] = ds
	f := newFixture(t, objs...)
	f.c.newAPI = func(u string, rt http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(rt)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})
	if err := f.sync(); err != nil {
		t.Fatalf("pass over HTTPS: %v\n%s", err, server.Logs())
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("share over HTTPS: %+v", c)
	}
	if c := condition(f.server().Status.Conditions, ConditionSharesReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("SharesReady over HTTPS: %+v", c)
	}

	// The same certificate in a Secret the operator did not issue (no
	// owner): refused, and the server is not called.
	foreign := issued.DeepCopy()
	foreign.OwnerReferences = nil
	objs[len(objs)-1] = foreign
	g := newFixture(t, objs...)
	called := false
	g.c.newAPI = func(u string, rt http.RoundTripper) dfsapi.API {
		called = true
		return dfsapi.New(u, dfsapi.WithTransport(rt))
	}
	g.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})
	if err := g.sync(); err == nil || called {
		t.Errorf("pass with a Secret the operator did not issue: %v (server called: %v), want a refusal", err, called)
	}
	if c := condition(g.share("projects").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonSecretInvalid {
		t.Errorf("share Ready = %+v, want %s", c, ReasonSecretInvalid)
	}
}
