package dfs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestLifecycle runs the real server as the pod does (sqlite control plane on
// the controlplane volume), probes it, lists its listeners, logs in, stops it
// with SIGTERM and restarts it on the same volumes.
func TestLifecycle(t *testing.T) {
	apiPort := proc.FreePortForTest(t)
	mounts := volumes(t)
	cfg := baseConfig(apiPort, "")
	p := startPod(t, cfg, baseEnv(), mounts)

	healthyAfter := waitHealthy(t, p, apiPort, 60*time.Second)
	t.Logf("start → /health 200: %s", healthyAfter)
	h, _, err := GetHealth(apiPort, "/health")
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "healthy" || h.Data["control_plane_db"] != "reachable" {
		t.Errorf("/health = %+v, want healthy with control_plane_db reachable", h)
	}
	if _, _, err := WaitHTTP(apiPort, "/health/ready", 30*time.Second); err != nil {
		t.Errorf("/health/ready: %v", err)
	}
	t.Logf("start → /health/ready 200: %s", time.Since(p.Started))

	// The probes as a StatefulSet would declare them, by port name.
	ports := []corev1.ContainerPort{{Name: "api", ContainerPort: int32(apiPort)}}
	startup := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/health", Port: intstr.FromString("api")}}, PeriodSeconds: 1, FailureThreshold: 30}
	if r := p.RunProbe(context.Background(), startup, ports); !r.Passed {
		t.Errorf("startup probe failed: %+v", r)
	}
	readiness := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/health/ready", Port: intstr.FromString("api")}}, PeriodSeconds: 1, TimeoutSeconds: 3}
	if r := p.RunProbe(context.Background(), readiness, ports); !r.Passed {
		t.Errorf("readiness probe failed: %+v", r)
	}

	listening := waitPorts(t, p, apiPort, defaultNFSPort, defaultSMBPort)
	for port, b := range listening {
		t.Logf("listening: %d on %s", port, b)
	}
	for _, port := range []int{apiPort, defaultNFSPort, defaultSMBPort} {
		if b := listening[port]; !b.AllInterfaces() {
			t.Errorf("port %d bound to %q, want all interfaces", port, b)
		}
	}
	if len(listening) != 3 {
		t.Errorf("listening on %d TCP ports, want 3 (api, nfs, smb): %v", len(listening), listening)
	}

	LoginForTest(t, apiPort, "admin", testPassword)
	if _, status, err := Login(apiPort, "admin", "wrong-password"); err == nil || status != 401 {
		t.Errorf("login with a wrong password: status %d, err %v; want 401", status, err)
	}

	db := filepath.Join(mounts["/data/controlplane"], "controlplane.db")
	var st syscall.Stat_t
	if err := syscall.Stat(db, &st); err != nil {
		t.Fatalf("sqlite database not on the controlplane volume: %v", err)
	}
	if st.Uid != DefaultUID {
		t.Errorf("%s owned by uid %d, want %d", db, st.Uid, DefaultUID)
	}

	code, took, err := p.Stop(syscall.SIGTERM, 105*time.Second)
	t.Logf("SIGTERM → exit %d in %s", code, took)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if took > 30*time.Second {
		t.Errorf("SIGTERM → exit took %s, want < shutdown_timeout (30s) when idle", took)
	}

	// Restart on the same volumes, with a different initial password: the
	// admin keeps the password of the first start.
	env := baseEnv()
	env["DITTOFS_ADMIN_INITIAL_PASSWORD"] = "Another-Pa55word-123"
	p2 := startPod(t, cfg, env, mounts)
	t.Logf("restart → /health 200: %s", waitHealthy(t, p2, apiPort, 60*time.Second))
	if _, status, err := Login(apiPort, "admin", testPassword); err != nil {
		t.Errorf("login after restart with the first password: status %d: %v", status, err)
	}
	if _, status, err := Login(apiPort, "admin", env["DITTOFS_ADMIN_INITIAL_PASSWORD"]); err == nil {
		t.Errorf("a changed DITTOFS_ADMIN_INITIAL_PASSWORD took effect on restart (status %d)", status)
	}
	code, took, err = p2.Stop(syscall.SIGTERM, 105*time.Second)
	t.Logf("SIGTERM after restart → exit %d in %s", code, took)
	if err != nil || code != 0 {
		t.Errorf("restart stop: exit %d: %v", code, err)
	}
	if entries, _ := os.ReadDir(p2.Root()); len(entries) != 0 {
		t.Errorf("container root %s is not empty on the host", p2.Root())
	}
}

// waitPorts waits until all want ports listen (the adapters start after the
// API) and returns the process's listeners.
func waitPorts(t *testing.T, p *Process, want ...int) map[int]BindAddr {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := ListeningTCPPorts(p.PID)
		if err != nil {
			t.Fatal(err)
		}
		missing := false
		for _, w := range want {
			if _, ok := got[w]; !ok {
				missing = true
			}
		}
		if !missing || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
