package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// The shares sample on a real DittoFS server: the operator runs as the suite
// runs it, with its server state controller on; the real dfs binary runs the
// pod the operator rendered (its StatefulSet's container, ConfigMap, Secrets
// and one directory per volume claim) where kwok only pretends to. Between
// the operator and dfs sits a recording proxy, so that every REST request the
// operator makes is counted.
func TestSharesAndUsersOnARealServer(t *testing.T) {
	binary, err := dfs.Binary()
	if err != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh, or DFS_BINARY): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("running dfs as its pod does needs root (mount namespace, chroot, setpriv)")
	}
	n := newNamespace(t, nil)
	apiPort, err := dfs.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	server := sampleObject(t, "shares", "DittoServer")
	mergeSpec(t, server, fmt.Sprintf(`controlPlane: {port: %d}`, apiPort))
	name := server.GetName()
	rec := startRecordingProxy(t, fmt.Sprintf("http://127.0.0.1:%d", apiPort))
	runOperatorWithServerState(t, "--server-api-endpoint="+n.name+"/"+name+"="+rec.url)

	// dfs starts as soon as the operator has rendered the pod, as the
	// kubelet would; kwok makes the pod Ready meanwhile.
	n.create(server)
	eventually(t, waitShort, "the operator's StatefulSet", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	proc := runServerPod(t, n, name, binary)
	n.waitReady(name)

	// The DittoServer's stores are declared; then the user and the share.
	n.waitDS(name, "StoresReady=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, serverstate.ConditionStoresReady, metav1.ConditionTrue, ""), statusSummary(ds)
	})
	for _, kind := range []string{"Secret", "DittoUser", "DittoShare"} {
		n.create(sampleObject(t, "shares", kind))
	}
	n.waitKubectlReady("dshare", "projects")
	n.waitKubectlReady("duser", "alice")
	admin := serverClient(t, n, name, apiPort)

	t.Run("the server has the share and the user as declared", func(t *testing.T) {
		share := findShare(t, admin, "/projects")
		if share == nil {
			t.Fatal("share /projects is not on the server")
		}
		if share.ReadOnly || share.DefaultPermission != "none" || share.QuotaBytes != 50<<30 || share.MetadataStore != resources.MetadataStoreName {
			t.Errorf("share on the server: %+v; want writable, default none, quota 50Gi, metadata store %q", *share, resources.MetadataStoreName)
		}
		perms, err := admin.ListSharePermissions(t.Context(), "/projects")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(perms, dfsapi.Permission{Type: "user", Name: "alice", Level: "read-write"}) {
			t.Errorf("permissions of /projects on the server: %+v; want alice read-write", perms)
		}
		user := findUser(t, admin, "alice")
		if user == nil {
			t.Fatal("user alice is not on the server")
		}
		if user.UID == nil || *user.UID != 1000 || user.GID == nil || *user.GID != 1000 || !user.Enabled {
			t.Errorf("user on the server: %+v; want uid 1000, gid 1000, enabled", *user)
		}
		// Alice logs in with the password of her Secret.
		if _, status, err := dfs.Login(apiPort, "alice", "REPLACE-WITH-A-PASSWORD"); err != nil {
			t.Errorf("alice cannot log in with her Secret's password: status %d: %v", status, err)
		}
	})

	t.Run("kubectl describe tells what happened", func(t *testing.T) {
		out := n.kubectl("describe", "dshare", "projects")
		for _, want := range []string{"Created share /projects on DittoServer", "Ready"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe dshare projects does not show %q:\n%s", want, out)
			}
		}
		out = n.kubectl("describe", "duser", "alice")
		for _, want := range []string{`Created user "alice" on DittoServer`, "Set the password of user"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe duser alice does not show %q:\n%s", want, out)
			}
		}
	})

	t.Run("a converged server costs no write on resync", func(t *testing.T) {
		since := time.Now()
		mark := rec.count()
		time.Sleep(quietWindow)
		if w := namespaced(operatorWrites(t, since), n.name); len(w) > 0 {
			t.Errorf("the operator wrote to the Kubernetes API while converged:\n%s", auditSummary(w))
		}
		reqs := rec.since(mark)
		if w := writes(reqs); len(w) > 0 {
			t.Errorf("the operator wrote to the server while converged: %v", w)
		}
		if len(reqs) == 0 {
			t.Errorf("no REST request in %s: the resync did not look at the server", quietWindow)
		}
		t.Logf("%d REST reads and no write in %s (%d resync periods)", len(reqs), quietWindow, int(quietWindow/resyncPeriod))
	})

	t.Run("a share deleted behind the operator's back comes back", func(t *testing.T) {
		if err := admin.DeleteShare(t.Context(), "/projects"); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitShort, "share /projects back on the server", func() (bool, string) {
			return findShare(t, admin, "/projects") != nil, "missing"
		})
		eventually(t, waitShort, "its permission back", func() (bool, string) {
			perms, err := admin.ListSharePermissions(t.Context(), "/projects")
			return err == nil && slices.Contains(perms, dfsapi.Permission{Type: "user", Name: "alice", Level: "read-write"}), fmt.Sprint(perms, err)
		})
		share := n.share("projects")
		n.waitEvents(share.UID, serverstate.ReasonCreated, 2)
	})

	t.Run("deleting a Retain share leaves it on the server", func(t *testing.T) {
		uid := n.share("projects").UID
		n.kubectl("delete", "dshare", "projects", "--wait=true", "--timeout=60s")
		if findShare(t, admin, "/projects") == nil {
			t.Error("share /projects was deleted from the server, its deletionPolicy is Retain")
		}
		n.waitEvents(uid, serverstate.ReasonRetained, 1)
	})

	t.Run("deleting a Delete share removes it from the server", func(t *testing.T) {
		scratch := sampleObject(t, "shares", "DittoShare")
		scratch.SetName("scratch")
		mergeSpec(t, scratch, `{deletionPolicy: Delete, quota: null}`)
		n.create(scratch)
		n.waitKubectlReady("dshare", "scratch")
		if findShare(t, admin, "/scratch") == nil {
			t.Fatal("share /scratch is Ready but not on the server")
		}
		n.kubectl("delete", "dshare", "scratch", "--wait=true", "--timeout=60s")
		if findShare(t, admin, "/scratch") != nil {
			t.Error("share /scratch is still on the server after its DittoShare with deletionPolicy Delete went")
		}
		if findShare(t, admin, "/projects") == nil {
			t.Error("deleting /scratch took /projects with it")
		}
	})

	t.Run("the operator is never forbidden", func(t *testing.T) {
		all, err := env.cluster.Audit()
		if err != nil {
			t.Fatal(err)
		}
		var forbidden []string
		for _, e := range all {
			if strings.HasPrefix(e.UserAgent, operatorUserAgent) && e.Namespace == n.name && e.Code == http.StatusForbidden {
				forbidden = append(forbidden, fmt.Sprintf("%s %s/%s %s", e.Verb, e.Resource, e.Subresource, e.Name))
			}
		}
		if len(forbidden) > 0 {
			t.Errorf("requests of the operator were forbidden: %v", forbidden)
		}
		if w := rec.forbidden(); len(w) > 0 {
			t.Errorf("the server refused the operator's requests: %v", w)
		}
	})

	t.Logf("REST requests of the operator to the server, in all: %d (%d writes)", rec.count(), len(writes(rec.since(0))))
	if _, exited := proc.Exited(); exited {
		t.Errorf("dfs exited during the test:\n%s", tail(proc.Logs(), 40))
	}
}

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

// runServerPod runs the real dfs as the pod of the DittoServer's StatefulSet,
// with the ConfigMaps and Secrets of the namespace as the kubelet would see
// them, and waits until its API answers.
func runServerPod(t *testing.T, n *testNS, name, binary string) *dfs.Process {
	t.Helper()
	sts, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the operator's StatefulSet: %v", err)
	}
	in := dfs.PodInputs{Binary: binary, PodName: name + "-0", Namespace: n.name,
		ConfigMaps: map[string]map[string]string{}, Secrets: map[string]map[string][]byte{}, VolumeDirs: map[string]string{}}
	cms, err := env.kube.CoreV1().ConfigMaps(n.name).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		in.ConfigMaps[cm.Name] = cm.Data
	}
	secrets, err := env.kube.CoreV1().Secrets(n.name).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		in.Secrets[s.Name] = s.Data
	}
	base := t.TempDir()
	for _, c := range sts.Spec.VolumeClaimTemplates {
		in.VolumeDirs[c.Name] = filepath.Join(base, c.Name)
	}
	spec := sts.Spec.Template.Spec.DeepCopy()
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			in.VolumeDirs[v.Name] = filepath.Join(base, "emptydir-"+v.Name)
		}
	}
	opts, c, err := dfs.PodOptions(spec, resources.ContainerName, in)
	if err != nil {
		t.Fatalf("the operator's pod cannot be run as the kubelet would: %v", err)
	}
	proc, err := dfs.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("start dfs: %v", err)
	}
	t.Cleanup(func() {
		proc.Close()
		if t.Failed() {
			t.Logf("dfs (pid %d) output:\n%s", proc.PID, tail(proc.Logs(), 60))
		}
	})
	port := 0
	for _, p := range c.Ports {
		if p.Name == resources.PortNameAPI {
			port = int(p.ContainerPort)
		}
	}
	if status, _, err := dfs.WaitHTTP(port, "/health/ready", waitShort); err != nil || status != http.StatusOK {
		t.Fatalf("dfs does not answer /health/ready on %d: status %d, %v\n%s", port, status, err, tail(proc.Logs(), 40))
	}
	return proc
}

// serverClient logs in to the server directly (not through the recording
// proxy) with the operator's account, whose password the operator keeps in
// the Secret <name>-operator: what the test reads and deletes there is not
// counted as the operator's.
func serverClient(t *testing.T, n *testNS, name string, apiPort int) dfsapi.API {
	t.Helper()
	s, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), name+"-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the operator's account Secret: %v", err)
	}
	c := dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", apiPort), dfsapi.WithUserAgent("dittofs-e2e"))
	if err := c.Login(t.Context(), serverstate.OperatorUsername, string(s.Data[serverstate.OperatorPasswordKey])); err != nil {
		t.Fatalf("log in as %s: %v", serverstate.OperatorUsername, err)
	}
	return c
}

func findShare(t *testing.T, c dfsapi.API, export string) *dfsapi.Share {
	t.Helper()
	shares, err := c.ListShares(t.Context())
	if err != nil {
		t.Fatalf("list shares: %v", err)
	}
	for i := range shares {
		if shares[i].Name == export {
			return &shares[i]
		}
	}
	return nil
}

func findUser(t *testing.T, c dfsapi.API, name string) *dfsapi.User {
	t.Helper()
	users, err := c.ListUsers(t.Context())
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	for i := range users {
		if users[i].Username == name {
			return &users[i]
		}
	}
	return nil
}

// waitKubectlReady waits until `kubectl get <resource> <name>` shows READY
// True, the column a user looks at.
func (n *testNS) waitKubectlReady(resource, name string) {
	n.t.Helper()
	eventually(n.t, waitLong, fmt.Sprintf("kubectl get %s %s: READY True", resource, name), func() (bool, string) {
		ctx, cancel := context.WithTimeout(n.t.Context(), 30*time.Second)
		defer cancel()
		out, err := kubectl(ctx, "get", resource, name, "-n", n.name, "-o", "wide").CombinedOutput()
		if err != nil {
			return false, string(out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 {
			return false, string(out)
		}
		header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
		i := slices.Index(header, "READY")
		return i >= 0 && i < len(row) && row[i] == "True", string(out)
	})
}

func (n *testNS) share(name string) *dittov1alpha1.DittoShare {
	n.t.Helper()
	s, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get DittoShare %s: %v", name, err)
	}
	return s
}

func namespaced(evs []localcluster.AuditEvent, ns string) []localcluster.AuditEvent {
	var out []localcluster.AuditEvent
	for _, e := range evs {
		if e.Namespace == ns {
			out = append(out, e)
		}
	}
	return out
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
