package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// dfsBinary is the real dfs binary; running it as its pod does needs root.
func dfsBinary(t *testing.T) string {
	t.Helper()
	bin := dfs.BinaryForTest(t)
	if os.Geteuid() != 0 {
		t.Fatalf("running dfs as its pod does needs root (mount namespace, chroot, setpriv); run the contract tests as root")
	}
	return bin
}

// pod is the server container of the operator's StatefulSet, ready to run as
// the kubelet would: command, args and env (every secretKeyRef resolved from
// the Secrets in the cluster), ConfigMap volume, and one host directory per
// volume claim at the pod's exact mount paths.
type pod struct {
	out       *rendered
	spec      *corev1.PodSpec
	container *corev1.Container
	opts      dfs.Options
	// claims maps a volume name to its host directory.
	claims map[string]string
}

func newPod(t *testing.T, out *rendered) *pod {
	t.Helper()
	spec := out.statefulSet.Spec.Template.Spec.DeepCopy()
	base := t.TempDir()
	claims := map[string]string{}
	for _, c := range out.statefulSet.Spec.VolumeClaimTemplates {
		claims[c.Name] = filepath.Join(base, c.Name)
	}
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			claims[v.Name] = filepath.Join(base, "emptydir-"+v.Name)
		}
	}
	opts, c, err := dfs.PodOptions(spec, resources.ContainerName, dfs.PodInputs{
		Binary: dfsBinary(t), PodName: out.statefulSet.Name + "-0", Namespace: out.statefulSet.Namespace,
		ConfigMaps: out.configMaps, Secrets: out.secrets, VolumeDirs: claims,
	})
	if err != nil {
		t.Fatalf("the operator's pod cannot be run as the kubelet would: %v", err)
	}
	return &pod{out: out, spec: spec, container: c, opts: opts, claims: claims}
}

// start runs dfs; the process is killed at the end of the test, and its
// output is logged when the test failed.
func (p *pod) start(t *testing.T) *dfs.Process {
	t.Helper()
	return dfs.StartForTest(t, p.opts)
}

// port is the declared container port called name (0 when none).
func (p *pod) port(name string) int {
	for _, cp := range p.container.Ports {
		if cp.Name == name {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// config is the file the container's --config argument names.
func (p *pod) config(t *testing.T) map[string]any {
	t.Helper()
	path := ""
	for i, a := range p.opts.Args {
		if a == "--config" && i+1 < len(p.opts.Args) {
			path = p.opts.Args[i+1]
		}
	}
	raw, ok := p.opts.Files[path]
	if path == "" || !ok {
		t.Fatalf("the container's args %v name no config file it gets (files: %v)", p.opts.Args, keys(p.opts.Files))
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

// adminCredentials: the user name the server is configured with, and the
// initial password the pod's environment gives it.
func (p *pod) adminCredentials(t *testing.T) (string, string) {
	t.Helper()
	admin, _ := p.config(t)["admin"].(map[string]any)
	user, _ := admin["username"].(string)
	if user == "" {
		t.Fatalf("config.yaml names no admin user")
	}
	if id := p.out.ds.Spec.Identity; id != nil && id.Admin != nil && id.Admin.Username != "" && id.Admin.Username != user {
		t.Fatalf("config.yaml admin %q, spec.identity.admin.username %q", user, id.Admin.Username)
	}
	password := p.opts.Env["DITTOFS_ADMIN_INITIAL_PASSWORD"]
	if password == "" {
		t.Fatalf("the pod's environment sets no DITTOFS_ADMIN_INITIAL_PASSWORD")
	}
	return user, password
}

// hostPath maps a path inside the container to the host, through the
// volume mounts; claim reports whether it lies on a volume claim.
func (p *pod) hostPath(containerPath string) (host string, claim bool) {
	for _, m := range p.container.VolumeMounts {
		dir, ok := p.claims[m.Name]
		if !ok || !strings.HasPrefix(containerPath, m.MountPath+"/") {
			continue
		}
		_, isClaim := claimNames(p.out)[m.Name]
		return filepath.Join(dir, m.SubPath, strings.TrimPrefix(containerPath, m.MountPath+"/")), isClaim
	}
	return "", false
}

func claimNames(out *rendered) map[string]bool {
	names := map[string]bool{}
	for _, c := range out.statefulSet.Spec.VolumeClaimTemplates {
		names[c.Name] = true
	}
	return names
}

// terminationBudget is how long the server has between SIGTERM and SIGKILL:
// the grace period minus the preStop hook, which runs first.
func (p *pod) terminationBudget(t *testing.T) time.Duration {
	t.Helper()
	if p.spec.TerminationGracePeriodSeconds == nil {
		t.Fatalf("the pod sets no terminationGracePeriodSeconds")
	}
	budget := time.Duration(*p.spec.TerminationGracePeriodSeconds) * time.Second
	if l := p.container.Lifecycle; l != nil && l.PreStop != nil {
		switch {
		case l.PreStop.Sleep != nil:
			budget -= time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		default:
			t.Fatalf("preStop %+v: only sleep is understood here", l.PreStop)
		}
	}
	return budget
}

// probe runs the container's probe as the kubelet does and requires it to
// pass (requireProbes has checked that it is declared).
func (p *pod) probe(t *testing.T, proc *dfs.Process, kind string, probe *corev1.Probe) dfs.ProbeResult {
	t.Helper()
	r := proc.RunProbe(context.Background(), probe, p.container.Ports)
	if !r.Passed {
		t.Errorf("%s probe failed after %d attempts in %s (budget %s): %v", kind, r.Attempts, r.Elapsed.Round(time.Millisecond), r.Budget, r.LastErr)
	}
	return r
}

// requireProbes: the container declares the three probes.
func (p *pod) requireProbes(t *testing.T) {
	t.Helper()
	c := p.container
	if c.StartupProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Fatalf("the container does not declare startup, liveness and readiness probes: %v %v %v",
			c.StartupProbe, c.LivenessProbe, c.ReadinessProbe)
	}
}

// stop sends SIGTERM and requires a clean exit within the termination budget.
func (p *pod) stop(t *testing.T, proc *dfs.Process) time.Duration {
	t.Helper()
	budget := p.terminationBudget(t)
	code, took, err := proc.Stop(syscall.SIGTERM, budget)
	if err != nil || code != 0 {
		t.Errorf("SIGTERM: exit %d after %s (budget terminationGracePeriodSeconds − preStop = %s): %v", code, took, budget, err)
	}
	return took
}

// requirePorts: the TCP ports the container declares are exactly those dfs
// listens on, on all interfaces (loopback-only listeners aside).
func (p *pod) requirePorts(t *testing.T, proc *dfs.Process) {
	t.Helper()
	declared := map[int]string{}
	for _, cp := range p.container.Ports {
		if cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP {
			declared[int(cp.ContainerPort)] = cp.Name
		}
	}
	var listening map[int]dfs.BindAddr
	deadline := time.Now().Add(30 * time.Second) // the adapters start after the API
	for {
		var err error
		if listening, err = dfs.ListeningTCPPorts(proc.PID); err != nil {
			t.Fatalf("listening ports of dfs: %v", err)
		}
		missing := 0
		for port := range declared {
			if _, ok := listening[port]; !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var seen []string
	for port, b := range listening {
		seen = append(seen, fmt.Sprintf("%d on %s", port, b))
		name, ok := declared[port]
		switch {
		case !ok && !b.LoopbackOnly():
			t.Errorf("dfs listens on TCP %d (%s), which the container does not declare", port, b)
		case ok && !b.AllInterfaces():
			t.Errorf("declared port %s=%d is bound to %s only: unreachable on the pod IP", name, port, b)
		}
	}
	for port, name := range declared {
		if _, ok := listening[port]; !ok {
			t.Errorf("the container declares %s=%d, but dfs does not listen on it", name, port)
		}
	}
	t.Logf("listening: %s; declared: %v", strings.Join(seen, ", "), p.container.Ports)
}

// apiCall sends an authenticated JSON request to the API.
func apiCall(apiPort int, token, method, path string, body any) (int, string, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", apiPort, path), r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(raw), err
}

// firstHealthy polls GET /health every 50 ms from the process start and
// returns a channel that yields the time to the first 200.
func firstHealthy(proc *dfs.Process, apiPort int) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		for {
			if status, _, err := dfs.ProbeHTTP(apiPort, resources.HealthPath, time.Second); err == nil && status == 200 {
				ch <- time.Since(proc.Started)
				return
			}
			if _, exited := proc.Exited(); exited || time.Since(proc.Started) > 5*time.Minute {
				close(ch)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return ch
}

// requireNoSQLite: no SQLite database in any of the pod's volumes, nor (while
// dfs runs) in its home, where the server's default path lies.
func (p *pod) requireNoSQLite(t *testing.T, proc *dfs.Process) {
	t.Helper()
	dirs := []string{}
	for _, d := range p.claims {
		dirs = append(dirs, d)
	}
	if _, exited := proc.Exited(); !exited {
		dirs = append(dirs, fmt.Sprintf("/proc/%d/root/app", proc.PID))
	}
	for _, d := range dirs {
		_ = filepath.Walk(d, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && (strings.HasSuffix(info.Name(), ".db") || strings.Contains(info.Name(), ".db-")) {
				t.Errorf("SQLite file %s exists: the server fell back to SQLite", path)
			}
			return nil
		})
	}
}
