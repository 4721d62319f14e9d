package e2e

// The harness of the tests that run the operator against a real DittoFS
// server: the operator with its server state controller on, dfs as the pod
// the operator rendered, and a proxy that records the operator's REST calls.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// runOperatorWithServerState replaces the suite's operator, for the rest of
// the test, by one whose server state controller runs with extra flags.
func runOperatorWithServerState(t *testing.T, extra ...string) {
	t.Helper()
	if code := env.stopOperator(); code != 0 {
		t.Fatalf("the suite's operator exited with %d when stopped", code)
	}
	restore := func() {
		env.stopOperator()
		if err := env.startOperator(context.Background()); err != nil {
			t.Errorf("restart the suite's operator: %v", err)
		}
	}
	if err := env.startOperator(t.Context(), append([]string{"--manage-server-state=true"}, extra...)...); err != nil {
		restore()
		t.Fatal(err)
	}
	t.Cleanup(restore)
}

// serverPod is the real dfs standing where the DittoServer's pod would
// be: the pod the operator rendered, with the ConfigMaps and Secrets of the
// namespace as the kubelet would see them and one host directory per volume
// claim, kept across restarts.
type serverPod struct {
	opts dfs.Options
	port int // the API port
	proc *dfs.Process
}

// runServerPod starts the server pod and waits until its API answers; the
// process is killed when the test ends.
func runServerPod(t *testing.T, n *testNS, name, binary string) *serverPod {
	t.Helper()
	base := t.TempDir()
	return runServerPodOn(t, n, name, binary, func(claim string) string { return filepath.Join(base, claim) })
}

// runServerPodOn is runServerPod with the directory of each volume claim
// template given by claimDir (the backup tests give the directories of the
// claims the CSI test driver provisioned).
func runServerPodOn(t *testing.T, n *testNS, name, binary string, claimDir func(claim string) string) *serverPod {
	t.Helper()
	pod, err := newServerPod(t.Context(), n.name, name, binary, claimDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pod.proc == nil {
			return
		}
		pod.proc.Close()
		if t.Failed() {
			t.Logf("dfs (pid %d) output:\n%s", pod.proc.PID, tail(pod.proc.Logs(), 60))
		}
	})
	pod.start(t)
	return pod
}

// newServerPod reads the operator's StatefulSet and the namespace's
// ConfigMaps and Secrets as the kubelet would, and returns the pod to run:
// claimDir gives each volume claim template's directory, emptyDirs holds the
// emptyDir volumes.
func newServerPod(ctx context.Context, ns, name, binary string, claimDir func(claim string) string, emptyDirs string) (*serverPod, error) {
	sts, err := env.kube.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("the operator's StatefulSet: %w", err)
	}
	in := dfs.PodInputs{Binary: binary, PodName: name + "-0", Namespace: ns,
		ConfigMaps: map[string]map[string]string{}, Secrets: map[string]map[string][]byte{}, VolumeDirs: map[string]string{}}
	cms, err := env.kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		in.ConfigMaps[cm.Name] = cm.Data
	}
	secrets, err := env.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range secrets.Items {
		in.Secrets[s.Name] = s.Data
	}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		in.VolumeDirs[c.Name] = claimDir(c.Name)
	}
	spec := sts.Spec.Template.Spec.DeepCopy()
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			in.VolumeDirs[v.Name] = filepath.Join(emptyDirs, "emptydir-"+v.Name)
		}
	}
	opts, c, err := dfs.PodOptions(spec, resources.ContainerName, in)
	if err != nil {
		return nil, fmt.Errorf("the operator's pod cannot be run as the kubelet would: %w", err)
	}
	pod := &serverPod{opts: opts}
	for _, p := range c.Ports {
		if p.Name == resources.PortNameAPI {
			pod.port = int(p.ContainerPort)
		}
	}
	return pod, nil
}

// start runs dfs on the pod's directories and waits until its API answers.
func (p *serverPod) start(t *testing.T) {
	t.Helper()
	proc, err := dfs.Start(t.Context(), p.opts)
	if err != nil {
		t.Fatalf("start dfs: %v", err)
	}
	p.proc = proc
	if status, _, err := dfs.WaitHTTP(p.port, "/health/ready", waitShort); err != nil || status != http.StatusOK {
		t.Fatalf("dfs does not answer /health/ready on %d: status %d, %v\n%s", p.port, status, err, tail(proc.Logs(), 40))
	}
}

// stop stops dfs as the kubelet would, with SIGTERM.
func (p *serverPod) stop(t *testing.T) {
	t.Helper()
	if code, _, err := p.proc.Stop(syscall.SIGTERM, time.Minute); err != nil || code != 0 {
		t.Fatalf("dfs did not stop cleanly on SIGTERM: exit %d, %v", code, err)
	}
}

// restRequest is one request the operator made to the server.
type restRequest struct {
	Method, Path string
	Status       int
}

func (r restRequest) String() string { return fmt.Sprintf("%s %s (%d)", r.Method, r.Path, r.Status) }

// writes are the requests that change the server: every method but GET (a
// login is a POST too: a converged operator keeps its token).
func writes(reqs []restRequest) []restRequest {
	var out []restRequest
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// recordingProxy forwards to the server and records every request.
type recordingProxy struct {
	url string
	mu  sync.Mutex
	log []restRequest
}

func startRecordingProxy(t *testing.T, target string) *recordingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingProxy{url: "http://" + l.Addr().String()}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// Until dfs listens, the operator's requests get a 502; recorded, not logged.
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.log = append(rec.log, restRequest{Method: r.Method, Path: r.URL.Path, Status: sw.status})
		rec.mu.Unlock()
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rec
}

func (p *recordingProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

func (p *recordingProxy) since(mark int) []restRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log[mark:])
}

// forbidden are the requests the server refused for lack of rights.
func (p *recordingProxy) forbidden() []restRequest {
	var out []restRequest
	for _, r := range p.since(0) {
		if r.Status == http.StatusForbidden {
			out = append(out, r)
		}
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
