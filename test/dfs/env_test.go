package dfs

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestJWTSecretRequired: without a JWT secret of at least 32 characters the
// server exits at once; DITTOFS_CONTROLPLANE_JWT_SECRET is an alias.
func TestJWTSecretRequired(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"missing", map[string]string{}, false},
		{"31 characters", map[string]string{"DITTOFS_CONTROLPLANE_SECRET": strings.Repeat("x", 31)}, false},
		{"32 characters via the long name", map[string]string{"DITTOFS_CONTROLPLANE_JWT_SECRET": strings.Repeat("x", 32)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apiPort := proc.FreePortForTest(t)
			env := tc.env
			env["DITTOFS_ADMIN_INITIAL_PASSWORD"] = testPassword
			p := startPod(t, baseConfig(apiPort, ""), env, volumes(t))
			if tc.ok {
				waitHealthy(t, p, apiPort, 60*time.Second)
				return
			}
			code, exited := p.Wait(30 * time.Second)
			if !exited {
				t.Fatal("dfs still runs without a valid JWT secret")
			}
			t.Logf("exit code %d", code)
			if code == 0 || !strings.Contains(p.Logs(), "JWT secret must be at least 32 characters") {
				t.Errorf("exit code %d, output:\n%s", code, proc.Tail(p.Logs(), 10))
			}
		})
	}
}

// TestUnknownKeys: keys the server does not know only produce a warning.
func TestUnknownKeys(t *testing.T) {
	apiPort := proc.FreePortForTest(t)
	cfg := baseConfig(apiPort, "") + "  jwt:\n    issuer: dittofs-operator\ncache:\n  size: 1Gi\ntelemetry:\n  enabled: false\n"
	p := startPod(t, cfg, baseEnv(), volumes(t))
	waitHealthy(t, p, apiPort, 60*time.Second)
	logs := p.Logs()
	if !strings.Contains(logs, "unknown keys") || !strings.Contains(logs, "controlplane.jwt.issuer") {
		t.Errorf("no unknown-keys warning:\n%s", proc.Tail(logs, 20))
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "unknown keys") {
			t.Logf("%s", line)
		}
	}
}

// TestShutdownWithOpenConnections measures SIGTERM → exit with shutdown_timeout
// 30s while NFS, SMB and API clients hold connections (the API client has a
// request in flight). Measured with v0.29.0: about 5 s, because the API server
// waits a fixed 5 s for in-flight requests whatever shutdown_timeout is, while
// idle NFS/SMB connections are closed at once.
func TestShutdownWithOpenConnections(t *testing.T) {
	apiPort := proc.FreePortForTest(t)
	p := startPod(t, baseConfig(apiPort, ""), baseEnv(), volumes(t))
	waitHealthy(t, p, apiPort, 60*time.Second)
	waitPorts(t, p, defaultNFSPort, defaultSMBPort)
	for _, port := range []int{defaultNFSPort, defaultSMBPort, apiPort} {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		if port == apiPort {
			_, _ = c.Write([]byte("GET /health HTTP/1.1\r\nHost: dittofs\r\n")) // headers never finished
		}
	}
	time.Sleep(300 * time.Millisecond)
	code, took, err := p.Stop(syscall.SIGTERM, 105*time.Second)
	t.Logf("SIGTERM with open NFS/SMB connections and a pending API request → exit %d in %s", code, took)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took > 3*30*time.Second+5*time.Second {
		t.Errorf("shutdown took %s, beyond the server's own 3 × shutdown_timeout + 5s", took)
	}
}
