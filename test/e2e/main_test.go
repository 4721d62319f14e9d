// Package e2e runs the operator binary against a real control plane
// (test/localcluster): etcd, kube-apiserver with the CRDs from artifacts/,
// kube-controller-manager (garbage collector, StatefulSet controller),
// kube-scheduler and a kwok node on which pods turn Running and Ready.
//
// The operator is installed as a user installs it, `kubectl apply
// --server-side -k artifacts/deploy`, and runs as that install's ServiceAccount:
// with a token from the TokenRequest API, not the admin's credentials. After
// the tests, the audit log must show that RBAC refused none of its requests.
//
// One control plane and one operator serve the whole test binary; every test
// works in its own namespace, which is deleted (and waited for) when the test
// ends, so that one test's leftovers never show up in another's API traffic.
// Run with `make test-e2e`, or `make build && go test ./test/e2e/...`; with
// E2E_KEEP_WORKDIR=1 the cluster's work directory (component, operator and
// audit logs) is kept.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// resyncPeriod is the operator's --resync-period: short, so that "nothing
// happens over two resync periods" takes seconds.
const resyncPeriod = 10 * time.Second

// quietWindow covers two resync periods with room for a late one.
const quietWindow = 2*resyncPeriod + 5*time.Second

// operatorUserAgent prefixes the user agent of every request the operator makes.
const operatorUserAgent = "dittofs-operator/"

// env is the cluster and operator shared by every test.
var env *testEnv

type testEnv struct {
	root    string // repository root
	binary  string // the operator binary
	cluster *localcluster.Cluster
	kube    kubernetes.Interface
	ditto   clientset.Interface
	dyn     dynamic.Interface
	applier *operator.Applier
	logDir  string // operator logs, one file per start
	// operatorKubeconfig authenticates as the install's ServiceAccount.
	operatorKubeconfig string

	gcReady chan struct{} // closed once the garbage collector handles DittoServers

	mu     sync.Mutex
	op     *operator.Process
	starts int
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	e, err := setup()
	if e != nil {
		// Stop everything on Ctrl-C or SIGTERM too; a crash of this process
		// takes the children along (they run with a parent-death signal).
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sigs
			fmt.Fprintln(os.Stderr, "e2e: interrupted, stopping the operator and the control plane")
			e.teardown()
			os.Exit(130)
		}()
		defer e.teardown()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setup failed: %v\n", err)
		return 1
	}
	env = e
	code := m.Run()
	// After every test: the operator's requests, all of them, were allowed.
	if err := e.checkOperatorNeverForbidden(); err != nil {
		fmt.Fprintf(os.Stderr, "--- FAIL: the operator's ServiceAccount: %v\n", err)
		code = 1
	}
	return code
}

// setup builds the operator if needed, starts the control plane, installs the
// operator (CRDs, RBAC, Deployment) and starts the operator binary with the
// install's ServiceAccount token. On error it returns what was started so far.
func setup() (*testEnv, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	root, err := localcluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	binary, err := ensureOperatorBinary(ctx, root)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		// Pods turn Ready, and deleted pods disappear, as soon as kwok sees
		// them: rollouts take seconds instead of the 105 s grace period.
		FastPods: true,
		// Every DittoServer claims three or four volumes, and the claims
		// outlive it; deleted namespaces give theirs back.
		NumPVs: 200,
		// E2E_KEEP_WORKDIR=1 keeps the logs (control plane, operator,
		// audit) and the data for a look after the run.
		KeepWorkDir: os.Getenv("E2E_KEEP_WORKDIR") != "",
	})
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	e := &testEnv{root: root, binary: binary, cluster: cluster}
	fmt.Fprintf(os.Stderr, "e2e: control plane ready in %s (%s)\n", time.Since(t0).Round(time.Millisecond), cluster.WorkDir)

	cfg := cluster.RESTConfig()
	cfg.UserAgent = "dittofs-e2e"
	if e.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return e, err
	}
	if e.ditto, err = clientset.NewForConfig(cfg); err != nil {
		return e, err
	}
	if e.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return e, err
	}
	if e.applier, err = operator.NewApplier(cluster.RESTConfig()); err != nil {
		return e, err
	}
	// The install creates the CRDs too; InstallCRDs waits until they are
	// Established and adds the minimal PerconaPGCluster CRD.
	if err := e.installOperator(ctx); err != nil {
		return e, err
	}
	if _, err := e.applier.InstallCRDs(ctx,
		filepath.Join(root, "artifacts", "crds"),
		filepath.Join(root, "hack", "crds", "perconapgcluster-minimal.yaml"),
	); err != nil {
		return e, fmt.Errorf("install CRDs: %w", err)
	}
	if err := e.startGCCanary(ctx); err != nil {
		return e, err
	}
	// Beside the control plane's logs, removed with its work directory.
	e.logDir = cluster.LogDir
	if err := e.startOperator(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// teardown stops the operator and then the control plane, by PID.
func (e *testEnv) teardown() {
	e.stopOperator()
	if err := stopCSI(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stop the CSI stack: %v\n", err)
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop control plane: %v\n", err)
		}
	}
}

// startOperator runs the operator binary and waits until its caches synced.
// Its full output goes to a file per start; Logs() keeps the recent lines.
// extraArgs come after the suite's flags and win over them.
func (e *testEnv) startOperator(ctx context.Context, extraArgs ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.op != nil {
		return errors.New("operator already running")
	}
	e.starts++
	f, err := os.Create(filepath.Join(e.logDir, fmt.Sprintf("operator-%d.log", e.starts)))
	if err != nil {
		return err
	}
	p, err := operator.Start(ctx, operator.Options{
		Binary:     e.binary,
		Kubeconfig: e.operatorKubeconfig,
		Args:       suiteOperatorArgs(extraArgs...),
		Log:        f,
	})
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("start operator: %w", err)
	}
	e.op = p
	go func() { <-p.Done(); _ = f.Close() }()
	return nil
}

// suiteOperatorArgs are the flags of the suite's operator, then extraArgs
// (leader election is off unless they turn it on, see operator.Options).
func suiteOperatorArgs(extraArgs ...string) []string {
	// The pods of the local cluster run no server: these tests are about
	// the DittoServer's Kubernetes side, so the operator leaves the
	// servers' own state (stores, users, shares) alone.
	return append([]string{"--resync-period=" + resyncPeriod.String(), "-v=2", "--manage-server-state=false"}, extraArgs...)
}

// stopOperator stops the operator if it runs; it returns its exit code (-1
// when it had to be killed or was not running).
func (e *testEnv) stopOperator() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.op == nil {
		return -1
	}
	code := e.op.Stop(30 * time.Second)
	e.op = nil
	return code
}

func (e *testEnv) operatorRunning() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.op != nil
}

// metric reads a metric of the running operator (the sum of its samples).
func (e *testEnv) metric(t *testing.T, name string) float64 {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.op == nil {
		t.Fatal("the operator is not running")
	}
	v, err := e.op.Metric(name)
	if err != nil {
		t.Fatalf("operator metric %s: %v", name, err)
	}
	return v
}

// processReport tells whether the control-plane components and the
// operator still run, for failure dumps.
func (e *testEnv) processReport() string {
	var parts []string
	for name, pid := range e.cluster.PIDs() {
		if err := syscall.Kill(pid, 0); err != nil {
			parts = append(parts, fmt.Sprintf("%s (pid %d) EXITED", name, pid))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "control plane running")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.op == nil {
		parts = append(parts, "operator stopped by the test")
	} else {
		select {
		case <-e.op.Done():
			parts = append(parts, fmt.Sprintf("operator EXITED with %d", e.op.ExitCode()))
		default:
			parts = append(parts, fmt.Sprintf("operator running (pid %d)", e.op.PID))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// operatorLogs returns the recent output of the running (or last) operator.
func (e *testEnv) operatorLogs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.op != nil {
		return e.op.Logs()
	}
	data, err := os.ReadFile(filepath.Join(e.logDir, fmt.Sprintf("operator-%d.log", e.starts)))
	if err != nil {
		return ""
	}
	return string(data)
}

// ensureOperatorBinary returns bin/dittofs-operator, building it (as `make
// build` does) when it is missing or older than a source file.
func ensureOperatorBinary(ctx context.Context, root string) (string, error) {
	bin := filepath.Join(root, "bin", "dittofs-operator")
	stale, err := binaryStale(root, bin)
	if err != nil {
		return "", err
	}
	if !stale {
		return bin, nil
	}
	fmt.Fprintln(os.Stderr, "e2e: building", bin)
	version := "v0.0.0-dev"
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--tags", "--always", "--dirty").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// Built beside the target and renamed over it, so that a concurrent user
	// of the binary never sees a half-written file.
	tmp := fmt.Sprintf("%s.e2e-%d", bin, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-X github.com/dittofs/dittofs-operator/pkg/version.Version="+version,
		"-o", tmp, "./cmd/dittofs-operator")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("build the operator: %w", err)
	}
	return bin, os.Rename(tmp, bin)
}

// binaryStale reports whether bin is missing or older than go.mod, go.sum or
// a non-test Go file under cmd/ or pkg/.
func binaryStale(root, bin string) (bool, error) {
	st, err := os.Stat(bin)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	built := st.ModTime()
	errNewer := errors.New("newer")
	newer := func(path string) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.ModTime().After(built) {
			return errNewer
		}
		return nil
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := newer(filepath.Join(root, f)); err != nil {
			return errors.Is(err, errNewer), ignoreNewer(err, errNewer)
		}
	}
	for _, dir := range []string{"cmd", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			return newer(path)
		})
		if err != nil {
			return errors.Is(err, errNewer), ignoreNewer(err, errNewer)
		}
	}
	return false, nil
}

func ignoreNewer(err, newer error) error {
	if errors.Is(err, newer) {
		return nil
	}
	return err
}

// gcCanaryNamespace holds a ConfigMap owned by a deleted DittoServer.
const gcCanaryNamespace = "e2e-gc-canary"

// startGCCanary finds out when the garbage collector acts on the deletion
// of a DittoServer. It picks up a new CRD only at its next discovery pass
// (every 30 s); until then the children of a deleted DittoServer linger. The
// canary is a DittoServer deleted before the operator starts (so without
// finalizer, and never reconciled) that owned a ConfigMap: once the
// ConfigMap is gone, gcReady is closed.
func (e *testEnv) startGCCanary(ctx context.Context) error {
	ns := gcCanaryNamespace
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	dsClient := e.dyn.Resource(dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")).Namespace(ns)
	owner, err := dsClient.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": dittov1alpha1.SchemeGroupVersion.String(), "kind": "DittoServer",
		"metadata": map[string]any{"name": "canary"},
		"spec":     map[string]any{"replicas": int64(0), "storage": map[string]any{"metadataSize": "1Gi"}},
	}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create the canary DittoServer: %w", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "canary", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(), Name: owner.GetName(), UID: owner.GetUID(),
	}}}}
	if _, err := e.kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := dsClient.Delete(ctx, "canary", metav1.DeleteOptions{}); err != nil {
		return err
	}
	e.gcReady = make(chan struct{})
	t0 := time.Now()
	go func() {
		ctx := context.Background()
		for {
			_, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, "canary", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "e2e: the garbage collector acts on DittoServers %s after the CRD was installed\n", time.Since(t0).Round(time.Second))
		_ = e.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		close(e.gcReady)
	}()
	return nil
}

// waitGarbageCollector waits until the garbage collector collects the
// children of deleted DittoServers; tests that rely on it call it first.
func waitGarbageCollector(t *testing.T) {
	t.Helper()
	select {
	case <-env.gcReady:
	case <-time.After(3 * time.Minute):
		t.Fatal("the garbage collector did not act on a deleted DittoServer within 3 minutes")
	}
}
