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
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// The real dfs v0.29.0 with the TLS configuration the operator renders and
// the Secret's certificate and key mounted at /tls, as in the pod: /health
// answers over HTTPS (and only there), the controller's pass logs in and
// declares the shares over HTTPS, verifying the server with the Secret's
// ca.crt for nas-api.storage.svc while dialing 127.0.0.1; once the Secret
// names another CA, the server is refused.
func TestRealServerTLS(t *testing.T) {
	port := proc.FreePortForTest(t)
	base := t.TempDir()
	vols := map[string]string{}
	for _, name := range []string{resources.VolumeMetadata, resources.VolumeContent, resources.VolumeControlPlane} {
		vols[filepath.Join(resources.DataDir, name)] = filepath.Join(base, name)
	}
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(port)),
			TLS: &dittov1alpha1.ControlPlaneTLSSpec{SecretName: "nas-cert"}}
	})
	ca, other := newTestCA(t), newTestCA(t)
	certPEM, keyPEM := ca.serverCert(t, resources.APIServiceDNSName(ds))
	config, err := resources.ConfigYAML(ds, resources.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	server := dfs.StartForTest(t, dfs.Options{Binary: dfs.BinaryForTest(t), Args: dfs.ImageArgs,
		Env: map[string]string{"DITTOFS_CONTROLPLANE_SECRET": "serverstate-jwt-secret-0123456789abcdef",
			"DITTOFS_ADMIN_INITIAL_PASSWORD": fakeAdminPassword},
		Files: map[string][]byte{"/config/config.yaml": config,
			filepath.Join(resources.TLSDir, resources.TLSCertKey): certPEM,
			filepath.Join(resources.TLSDir, resources.TLSKeyKey):  keyPEM},
		Mounts: vols, Hostname: "nas-0"})

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: resources.APIServiceDNSName(ds)}}}
	baseURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := probe.Get(baseURL + resources.ReadyPath)
		if err == nil {
			resp.Body.Close()
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
	err = f.sync()
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("pass with another CA: %v, want the server's certificate refused (unknown authority)", err)
	}
}
