package localcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestStatefulSetOnLocalCluster(t *testing.T) {
	// The first run on a machine also builds the binaries (~10 min).
	ctx, cancel := context.WithTimeout(context.Background(), 19*time.Minute)
	defer cancel()
	if _, err := EnsureBinaries(ctx, Binaries{}, os.Stderr); err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	c, err := Start(ctx, Options{NumPVs: 5})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("control plane ready in %s (work dir %s)", time.Since(t0).Round(time.Millisecond), c.WorkDir)
	stopped := false
	defer func() {
		if !stopped {
			if t.Failed() {
				dumpLogs(t, c)
			}
			_ = c.Stop()
		}
	}()
	pids, ports, workDir := c.PIDs(), c.Ports(), c.WorkDir
	if len(pids) != 5 {
		t.Fatalf("PIDs() = %v, want 5 components", pids)
	}
	logMemory(t, pids)

	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	checkKubectlVersion(ctx, t, c)

	ns := "default"
	sts := testStatefulSet("web")
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "pod web-0 Running and Ready, PVC data-web-0 Bound", func() (bool, error) {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-web-0", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return pod.Status.Phase == corev1.PodRunning && podReady(pod) &&
			pod.Spec.NodeName == NodeName && pvc.Status.Phase == corev1.ClaimBound, nil
	})
	waitFor(ctx, t, "StatefulSet status readyReplicas=1", func() (bool, error) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 1, nil
	})
	logMemory(t, pids)

	// Deleting the claim releases its PV; the recycler makes it Available.
	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvName := pvc.Spec.VolumeName
	if err := cs.AppsV1().StatefulSets(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "pod web-0 deleted by the garbage collector and kwok", func() (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		return err != nil, nil
	})
	if err := cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "data-web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "PV "+pvName+" Available again", func() (bool, error) {
		pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeAvailable, nil
	})

	events, err := c.Audit()
	if err != nil {
		t.Fatal(err)
	}
	binds := FilterAudit(events, func(e AuditEvent) bool {
		return e.User == "kube-scheduler" && e.Resource == "pods" && e.Subresource == "binding" && e.Verb == "create"
	})
	creates := FilterAudit(events, func(e AuditEvent) bool {
		return e.Resource == "statefulsets" && e.Verb == "create" && e.Name == "web" && e.Code == 201
	})
	t.Logf("audit log: %d completed requests, %d pod bindings by the scheduler", len(events), len(binds))
	if len(binds) == 0 || len(creates) != 1 {
		t.Errorf("audit log: %d scheduler bindings, %d StatefulSet creates; want >0 and 1", len(binds), len(creates))
	}

	t2 := time.Now()
	if err := c.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	stopped = true
	t.Logf("stopped in %s", time.Since(t2).Round(time.Millisecond))
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop (kill -0: %v)", name, pid, err)
		}
	}
	for _, port := range ports {
		if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			_ = conn.Close()
			t.Errorf("port %d still accepts connections after Stop", port)
		}
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir %s not removed: %v", workDir, err)
	}
}

func testStatefulSet(name string) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	sc := StorageClassName
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr(int32(1)),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// kwok removes a deleted pod within its grace period.
					TerminationGracePeriodSeconds: ptr(int64(1)),
					Containers: []corev1.Container{{
						Name:         "app",
						Image:        "example.invalid/app:1",
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: &sc,
					Resources: corev1.VolumeResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					},
				},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkKubectlVersion runs the cluster's kubectl against the server.
func checkKubectlVersion(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	out, err := c.Kubectl(ctx, "version", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	var v struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kubectl version output: %v\n%s", err, out)
	}
	if v.ClientVersion.GitVersion != KubeVersion || v.ServerVersion.GitVersion != KubeVersion {
		t.Errorf("kubectl version: client %q server %q, want %s", v.ClientVersion.GitVersion, v.ServerVersion.GitVersion, KubeVersion)
	}
}

// logMemory logs the resident memory of each component.
func logMemory(t *testing.T, pids map[string]int) {
	t.Helper()
	var parts []string
	total := 0
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		kb := rssKB(pids[name])
		total += kb
		parts = append(parts, fmt.Sprintf("%s %d MiB", name, kb/1024))
	}
	t.Logf("RSS: %s; total %d MiB", strings.Join(parts, ", "), total/1024)
}

func rssKB(pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func dumpLogs(t *testing.T, c *Cluster) {
	for _, p := range c.procs {
		t.Logf("--- last lines of %s:\n%s", p.logPath, p.tail(40))
	}
}

func TestFastStagesHaveNoPodDelays(t *testing.T) {
	slow, err := kwokStageYAML(false)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := kwokStageYAML(true)
	if err != nil {
		t.Fatal(err)
	}
	count := func(b []byte, s string) int { return strings.Count(string(b), s) }
	if count(slow, "kind: Stage") != 8 || count(fast, "kind: Stage") != 8 {
		t.Fatalf("want 8 stages, got %d and %d", count(slow, "kind: Stage"), count(fast, "kind: Stage"))
	}
	// Only the node heartbeat keeps its delay.
	if n := count(fast, "delay:"); n != 1 {
		t.Errorf("fast stages contain %d delays, want 1 (node heartbeat):\n%s", n, fast)
	}
}

func TestExitErrorDetectsPortConflict(t *testing.T) {
	dir := t.TempDir()
	p := &process{name: "etcd", logPath: filepath.Join(dir, "etcd.log")}
	if err := os.WriteFile(p.logPath, []byte("listen tcp 127.0.0.1:2379: bind: address already in use\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.exitError(); !errors.Is(err, errPortInUse) {
		t.Errorf("exitError() = %v, want errPortInUse", err)
	}
	if err := os.WriteFile(p.logPath, []byte("some other failure\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.exitError(); errors.Is(err, errPortInUse) {
		t.Errorf("exitError() = %v, want no errPortInUse", err)
	}
}

// TestComponentsDieWithParent runs Start in a child test process, kills that
// process with SIGKILL (no Stop, no defers) and checks that the kernel took
// every component down with it.
func TestComponentsDieWithParent(t *testing.T) {
	if os.Getenv("LOCALCLUSTER_HELPER") == "1" {
		helperStartAndHang()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 19*time.Minute)
	defer cancel()
	if _, err := EnsureBinaries(ctx, Binaries{}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestComponentsDieWithParent$", "-test.v")
	cmd.Env = append(os.Environ(), "LOCALCLUSTER_HELPER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	var workDir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "HELPER "); ok {
			f := strings.Fields(rest)
			workDir = f[0]
			for _, s := range f[1:] {
				pid, _ := strconv.Atoi(s)
				pids = append(pids, pid)
			}
			break
		}
	}
	if len(pids) != 5 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper reported pids %v", pids)
	}
	defer func() { _ = os.RemoveAll(workDir) }()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive after its parent was killed", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func helperStartAndHang() {
	c, err := Start(context.Background(), Options{NumPVs: -1, NoPVRecycler: true})
	if err != nil {
		fmt.Println("HELPER-ERROR", err)
		os.Exit(1)
	}
	var pids []string
	for _, pid := range c.PIDs() {
		pids = append(pids, strconv.Itoa(pid))
	}
	fmt.Printf("HELPER %s %s\n", c.WorkDir, strings.Join(pids, " "))
	select {}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
