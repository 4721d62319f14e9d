//go:build realdfs

package serverstate

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
