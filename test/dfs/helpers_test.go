package dfs

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

const (
	testSecret   = "0123456789abcdef0123456789abcdef-test-jwt" // ≥ 32 characters
	testPassword = "Adm1n-Initial-Pa55word"
	// The server's default adapter ports (stored in its database on first start).
	defaultNFSPort = 12049
	defaultSMBPort = 1445
)

// binary is the real dfs binary (see BinaryForTest).
func binary(t *testing.T) string { return BinaryForTest(t) }

// baseConfig is a minimal config.yaml as the contract describes it.
func baseConfig(apiPort int, database string) string {
	if database == "" {
		database = "database:\n  type: sqlite\n  sqlite:\n    path: /data/controlplane/controlplane.db\n"
	}
	return fmt.Sprintf(`logging:
  level: INFO
  format: json
  output: stdout
shutdown_timeout: 30s
%scontrolplane:
  host: 0.0.0.0
  port: %d
`, database, apiPort)
}

// volumes returns host directories for the pod's persistent volumes.
func volumes(t *testing.T) map[string]string {
	base := t.TempDir()
	m := map[string]string{}
	for _, v := range []string{"metadata", "content", "cache", "controlplane"} {
		m["/data/"+v] = filepath.Join(base, v)
	}
	return m
}

func baseEnv() map[string]string {
	return map[string]string{
		"DITTOFS_CONTROLPLANE_SECRET":    testSecret,
		"DITTOFS_ADMIN_INITIAL_PASSWORD": testPassword,
	}
}

// startPod runs dfs as the image does: /app/dfs start --foreground --config /config/config.yaml.
func startPod(t *testing.T, config string, env map[string]string, mounts map[string]string) *Process {
	t.Helper()
	return StartForTest(t, Options{
		Binary:   binary(t),
		Command:  []string{ContainerCommand},
		Args:     []string{"start", "--foreground", "--config", "/config/config.yaml"},
		Env:      env,
		Files:    map[string][]byte{"/config/config.yaml": []byte(config)},
		Mounts:   mounts,
		Hostname: "dittofs-0",
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitHealthy waits for GET /health = 200 and returns the time since start.
func waitHealthy(t *testing.T, p *Process, apiPort int, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if status, _, err := ProbeHTTP(apiPort, "/health", time.Second); err == nil && status == 200 {
			return time.Since(p.Started)
		}
		if code, exited := p.Exited(); exited {
			t.Fatalf("dfs exited with code %d before serving /health", code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /health not 200 within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
