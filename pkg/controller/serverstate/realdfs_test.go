//go:build realdfs

package serverstate

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// realServer is one real dfs v0.29.0 (hack/build-dfs.sh) started the way
// the operator's pod runs it: the configuration the operator renders for
// ds, its volumes as temporary directories, the JWT secret and the initial
// admin password from the environment.
type realServer struct {
	ds   *dittov1alpha1.DittoServer
	port int // the REST API's port on 127.0.0.1
	proc *dfs.Process
}

// startRealServer starts dfs for an available DittoServer whose control
// plane listens on a free loopback port; spec changes the DittoServer
// further (nil for none) and files adds files the pod would see (its
// mounted Secrets), given the final DittoServer.
func startRealServer(t *testing.T, spec func(*dittov1alpha1.DittoServer), files func(*dittov1alpha1.DittoServer) map[string][]byte) *realServer {
	t.Helper()
	port := proc.FreePortForTest(t)
	base := t.TempDir()
	vols := map[string]string{}
	for _, name := range []string{resources.VolumeMetadata, resources.VolumeContent, "controlplane"} {
		vols[filepath.Join(resources.DataDir, name)] = filepath.Join(base, name)
	}
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		// Plain HTTP unless spec says otherwise: these tests are about the
		// state the operator declares; the API's TLS has its own
		// (realtls_test.go).
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(port)),
			TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}}
		if spec != nil {
			spec(ds)
		}
	})
	config, err := resources.ConfigYAML(ds, resources.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	podFiles := map[string][]byte{"/config/config.yaml": config}
	if files != nil {
		for path, data := range files(ds) {
			podFiles[path] = data
		}
	}
	server := dfs.StartForTest(t, dfs.Options{Binary: dfs.BinaryForTest(t), Args: dfs.ImageArgs,
		Env: map[string]string{"DITTOFS_CONTROLPLANE_SECRET": "serverstate-jwt-secret-0123456789abcdef",
			"DITTOFS_ADMIN_INITIAL_PASSWORD": fakeAdminPassword},
		Files: podFiles, Mounts: vols, Hostname: "nas-0"})
	return &realServer{ds: ds, port: port, proc: server}
}

// waitReady waits until the server answers /health/ready over plain HTTP.
func (s *realServer) waitReady(t *testing.T) {
	t.Helper()
	if st, body, err := dfs.WaitHTTP(s.port, "/health/ready", 60*time.Second); err != nil || st != http.StatusOK {
		t.Fatalf("dfs not ready: %d %s %v\n%s", st, body, err, s.proc.Logs())
	}
}
