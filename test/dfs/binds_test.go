package dfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestDefaultHostsAreLoopback: without controlplane.host and metrics.host the
// server binds both listeners to 127.0.0.1, so a probe through the pod IP
// fails (the harness's probes see this through the bind address).
func TestDefaultHostsAreLoopback(t *testing.T) {
	apiPort, metricsPort := proc.FreePortForTest(t), proc.FreePortForTest(t)
	cfg := strings.Replace(baseConfig(apiPort, ""), "  host: 0.0.0.0\n", "", 1)
	cfg += fmt.Sprintf("metrics:\n  enabled: true\n  port: %d\n", metricsPort)
	p := startPod(t, cfg, baseEnv(), volumes(t))
	waitHealthy(t, p, apiPort, 60*time.Second)

	listening := waitPorts(t, p, apiPort, metricsPort, defaultNFSPort, defaultSMBPort)
	for port, b := range listening {
		t.Logf("listening: %d on %s", port, b)
	}
	for _, port := range []int{apiPort, metricsPort} {
		if b := listening[port]; !b.LoopbackOnly() || b.String() != "127.0.0.1" {
			t.Errorf("port %d bound to %q, want 127.0.0.1 only (server default)", port, b)
		}
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/health", Port: intstr.FromInt32(int32(apiPort))}}, PeriodSeconds: 1, FailureThreshold: 2}
	if r := p.RunProbe(context.Background(), probe, nil); r.Passed {
		t.Errorf("probe passed against a loopback-only API: %+v", r)
	} else {
		t.Logf("probe on a loopback-only API: %v", r.LastErr)
	}
	if status, body, err := ProbeHTTP(metricsPort, "/metrics", 5*time.Second); err != nil || status != 200 {
		t.Errorf("GET /metrics on 127.0.0.1: status %d: %v", status, err)
	} else if !bytes.Contains(body, []byte("# HELP")) {
		t.Errorf("GET /metrics is not Prometheus text: %.200s", body)
	}
}

// TestMetricsAndAdapterPorts: metrics on 0.0.0.0:P; the adapters' ports and
// bind address are changed through the REST API and survive a restart.
func TestMetricsAndAdapterPorts(t *testing.T) {
	apiPort, metricsPort := proc.FreePortForTest(t), proc.FreePortForTest(t)
	cfg := baseConfig(apiPort, "") + fmt.Sprintf("metrics:\n  enabled: true\n  host: 0.0.0.0\n  port: %d\n  path: /metrics\n", metricsPort)
	mounts := volumes(t)
	p := startPod(t, cfg, baseEnv(), mounts)
	waitHealthy(t, p, apiPort, 60*time.Second)

	listening := waitPorts(t, p, apiPort, metricsPort, defaultNFSPort, defaultSMBPort)
	if b := listening[metricsPort]; !b.AllInterfaces() {
		t.Errorf("metrics port %d bound to %q, want all interfaces", metricsPort, b)
	}
	metricsProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/metrics", Port: intstr.FromString("metrics")}}, PeriodSeconds: 1}
	ports := []corev1.ContainerPort{{Name: "metrics", ContainerPort: int32(metricsPort)}}
	if r := p.RunProbe(context.Background(), metricsProbe, ports); !r.Passed {
		t.Errorf("GET /metrics on 0.0.0.0: %+v", r)
	}

	token := LoginForTest(t, apiPort, "admin", testPassword)
	nfsPort, smbPort := proc.FreePortForTest(t), proc.FreePortForTest(t)
	for _, u := range []struct {
		typ  string
		body string
	}{
		{"nfs", fmt.Sprintf(`{"port": %d}`, nfsPort)},
		{"smb", fmt.Sprintf(`{"port": %d, "config": {"bind_address": "127.0.0.1"}}`, smbPort)},
	} {
		status, body := apiCall(t, apiPort, token, http.MethodPut, "/api/v1/adapters/"+u.typ, u.body)
		if status != 200 {
			t.Fatalf("PUT /api/v1/adapters/%s: %d %s", u.typ, status, body)
		}
	}
	listening = waitPorts(t, p, nfsPort, smbPort)
	for port, b := range listening {
		t.Logf("after the API update: %d on %s", port, b)
	}
	if !listening[nfsPort].AllInterfaces() || listening[smbPort].String() != "127.0.0.1" {
		t.Errorf("adapters not moved: %v", listening)
	}
	if _, ok := listening[defaultNFSPort]; ok {
		t.Errorf("NFS still listens on %d", defaultNFSPort)
	}

	if code, took, err := p.Stop(syscall.SIGTERM, 105*time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d after %s: %v", code, took, err)
	}
	p2 := startPod(t, cfg, baseEnv(), mounts)
	waitHealthy(t, p2, apiPort, 60*time.Second)
	listening = waitPorts(t, p2, apiPort, metricsPort, nfsPort, smbPort)
	if len(listening) != 4 || listening[smbPort].String() != "127.0.0.1" {
		t.Errorf("after restart, listeners = %v; want api, metrics, nfs %d, smb %d (127.0.0.1)", listening, nfsPort, smbPort)
	}
}

// apiCall sends body (JSON) and returns the status and the response body,
// compacted when it is JSON.
func apiCall(t *testing.T, apiPort int, token, method, path, body string) (int, string) {
	t.Helper()
	status, raw, err := Request(apiPort, token, method, path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) == nil {
		return status, compact.String()
	}
	return status, string(raw)
}
