package fileserving

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

const (
	jwtSecret     = "fileserving-jwt-secret-0123456789abcdef" // ≥ 32 characters
	adminPassword = "Fileserving-Admin-Pa55"
	// The server's adapter ports: created on its first start, fixed (the
	// harness runs one dfs at a time on the machine).
	nfsPort = 12049
	smbPort = 1445
)

// volumes are the host directories of the pod's data volumes, kept across
// restarts of the server.
type volumes map[string]string

func newVolumes(t *testing.T) volumes {
	base := t.TempDir()
	v := volumes{}
	for _, name := range []string{resources.VolumeMetadata, resources.VolumeContent, "controlplane"} {
		v[filepath.Join(resources.DataDir, name)] = filepath.Join(base, name)
	}
	return v
}

// hostPath is where a container path under a volume is on the host.
func (v volumes) hostPath(t *testing.T, containerPath string) string {
	for mount, host := range v {
		if rel, err := filepath.Rel(mount, containerPath); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join(host, rel)
		}
	}
	t.Fatalf("%s is on no volume", containerPath)
	return ""
}

// server is one dfs process run as the operator's pod runs it: the
// operator's config.yaml, the JWT secret and admin password from the
// environment, the data volumes mounted at /data/<name>.
type server struct {
	t       *testing.T
	proc    *dfs.Process
	apiPort int
	api     *dfsapi.Client
	// requests records the REST requests sent through api.
	requests *dfs.RequestLog
}

func startServer(t *testing.T, vols volumes, apiPort int) *server {
	t.Helper()
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "files", Namespace: "default"},
		// Plain HTTP: these tests are about the files served, not the API's TLS.
		Spec: dittov1alpha1.DittoServerSpec{ControlPlane: &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(apiPort)),
			TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}}},
	}
	config, err := resources.ConfigYAML(ds, resources.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	p := dfs.StartForTest(t, dfs.Options{
		Binary: dfs.BinaryForTest(t),
		Args:   dfs.ImageArgs,
		Env: map[string]string{
			"DITTOFS_CONTROLPLANE_SECRET":    jwtSecret,
			"DITTOFS_ADMIN_INITIAL_PASSWORD": adminPassword,
		},
		Files:    map[string][]byte{"/config/config.yaml": config},
		Mounts:   vols,
		Hostname: "files-0",
	})
	s := &server{t: t, proc: p, apiPort: apiPort, requests: &dfs.RequestLog{}}
	if status, body, err := dfs.WaitHTTP(apiPort, "/health/ready", 60*time.Second); err != nil || status != http.StatusOK {
		t.Fatalf("dfs not ready: %d %s %v", status, body, err)
	}
	for _, port := range []int{nfsPort, smbPort} {
		if err := proc.WaitTCP(port, 30*time.Second); err != nil {
			t.Fatalf("dfs adapter port %d: %v", port, err)
		}
	}
	s.api = dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", apiPort), dfsapi.WithTransport(s.requests))
	return s
}

// stop sends SIGTERM and requires a clean exit within the server's budget
// (3 × shutdown_timeout + 5 s).
func (s *server) stop() {
	s.t.Helper()
	code, took, err := s.proc.Stop(syscall.SIGTERM, 100*time.Second)
	if err != nil || code != 0 {
		s.t.Fatalf("dfs stop: exit %d after %s: %v\n%s", code, took, err, proc.Tail(s.proc.Logs(), 40))
	}
	s.t.Logf("dfs stopped by SIGTERM in %s", took.Round(time.Millisecond))
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the dfs harness needs root (mount namespace, chroot, setpriv)")
	}
}
