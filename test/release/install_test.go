package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// A release that does not install cannot be made: the release's install.yaml,
// applied as docs/install.md says (`kubectl apply --server-side -f`), into a
// fresh local control plane. No container runtime runs the image here, so the
// operator binary of the same tree runs in its place, as the e2e suite runs
// it: with a token of the install's ServiceAccount and the arguments of the
// install's Deployment. It takes artifacts/examples/minimal.yaml to Ready,
// then the README's quickstart, which the release's kubectl ditto shows.
func TestInstallYAMLConvergesASample(t *testing.T) {
	binary := filepath.Join(root, "bin", "dittofs-operator")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("the operator binary (make build): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{FastPods: true, NumPVs: 6, NoAuditLog: true})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})

	install := filepath.Join(dirs[0], "install.yaml")
	if out, err := cluster.Kubectl(ctx, "apply", "--server-side", "-f", install).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side -f install.yaml: %v\n%s", err, out)
	}
	dep := deployment(t, install)
	ns, sa := dep.Namespace, dep.Spec.Template.Spec.ServiceAccountName
	cfg := cluster.RESTConfig()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	applier, err := operator.NewApplier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The install created the CRDs; this waits until they are Established.
	if _, err := applier.InstallCRDs(ctx, filepath.Join(root, "artifacts", "crds")); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := operator.ServiceAccountKubeconfig(ctx, kube, cfg, ns, sa, kubeconfig, time.Hour); err != nil {
		t.Fatal(err)
	}

	p, err := operator.Start(ctx, operator.Options{
		Binary:     binary,
		Kubeconfig: kubeconfig,
		Args:       append(deploymentArgs(dep), "--manage-server-state=false"),
		Env:        []string{"POD_NAMESPACE=" + ns},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(30 * time.Second) })

	const sampleNS = "release-sample"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sampleNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, err := applier.ApplyFile(ctx, filepath.Join(root, "artifacts", "examples", "minimal.yaml"), sampleNS)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, o := range objs {
		if o.GetKind() == "DittoServer" {
			name = o.GetName()
		}
	}
	ditto, err := clientset.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, ditto, sampleNS, name, p)
	t.Logf("DittoServer %s/%s Ready, installed from the release's install.yaml", sampleNS, name)

	// The newcomer's path: the README's quickstart, as written, on this
	// install, then the release's kubectl ditto on it.
	const quickNS = "quickstart"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: quickNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	quick := readmeQuickstart(t)
	if objs, err = applier.ApplyFile(ctx, quick, quickNS); err != nil {
		t.Fatalf("the README's quickstart: %v", err)
	}
	kinds := map[string]string{}
	for _, o := range objs {
		kinds[o.GetKind()] = o.GetName()
	}
	for _, k := range []string{"DittoServer", "DittoShare", "DittoUser", "Secret"} {
		if kinds[k] == "" {
			t.Fatalf("the README's quickstart has no %s: %v", k, kinds)
		}
	}
	waitReady(ctx, t, ditto, quickNS, kinds["DittoServer"], p)
	t.Logf("the README's quickstart: DittoServer %s/%s Ready", quickNS, kinds["DittoServer"])
	status := checkPluginOnCluster(ctx, t, cluster, quickNS, kinds["DittoServer"])
	for _, want := range []string{kinds["DittoShare"], kinds["DittoUser"], "metadata-" + kinds["DittoServer"] + "-0"} {
		if !strings.Contains(status, want) {
			t.Errorf("kubectl ditto status of the quickstart lacks %q:\n%s", want, status)
		}
	}
}

// waitReady waits for a DittoServer to be Ready and Running.
func waitReady(ctx context.Context, t *testing.T, ditto clientset.Interface, ns, name string, p *operator.Process) {
	t.Helper()
	var last string
	for {
		ds, err := ditto.DittofsV1alpha1().DittoServers(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			c := meta.FindStatusCondition(ds.Status.Conditions, controller.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue && ds.Status.Phase == dittov1alpha1.PhaseRunning {
				return
			}
			last = string(ds.Status.Phase) + " " + conditions(ds)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("DittoServer %s/%s not Ready: %s\noperator log:\n%s", ns, name, last, p.Logs())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// readmeQuickstart writes the README's quickstart manifests (the first yaml
// block under its Quickstart heading) to a file.
func readmeQuickstart(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Quickstart")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	_, block, ok := strings.Cut(section, "\n```yaml\n")
	if !ok {
		t.Fatal("the README's Quickstart has no yaml block")
	}
	block, _, _ = strings.Cut(block, "\n```")
	path := filepath.Join(t.TempDir(), "quickstart.yaml")
	if err := os.WriteFile(path, []byte(block+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkPluginOnCluster runs the release's kubectl-ditto for this machine as
// kubectl runs a plugin (found on PATH as kubectl-ditto), against the
// installed operator and its Ready sample.
func checkPluginOnCluster(ctx context.Context, t *testing.T, cluster *localcluster.Cluster, ns, name string) string {
	t.Helper()
	bin := t.TempDir()
	archive := filepath.Join(dirs[0], "kubectl-ditto_"+releaseVersion(t)+"_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")
	if out, err := exec.Command("tar", "-xzf", archive, "-C", bin).CombinedOutput(); err != nil {
		t.Fatalf("untar %s: %v\n%s", archive, err, out)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, cluster.KubectlPath, append([]string{"ditto"}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl ditto %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	status := kubectl("status", name, "-n", ns)
	version := kubectl("version", "-A")
	for _, want := range []string{"DittoServer " + ns + "/" + name, "Phase:", "Running", "Ready", "True"} {
		if !strings.Contains(status, want) {
			t.Errorf("kubectl ditto status lacks %q:\n%s", want, status)
		}
	}
	ver := releaseVersion(t)
	for _, want := range []string{"kubectl-ditto " + ver, "dittofs-system/dittofs-operator  " + ver, ns + "/" + name} {
		if !strings.Contains(version, want) {
			t.Errorf("kubectl ditto version lacks %q:\n%s", want, version)
		}
	}
	t.Logf("kubectl ditto status:\n%s\nkubectl ditto version -A:\n%s", status, version)
	return status
}

// deploymentArgs are the operator's arguments in the Deployment, without the
// listen addresses (operator.Start picks loopback ports).
// $(POD_NAMESPACE) is expanded as the kubelet would.
func deploymentArgs(dep *appsv1.Deployment) []string {
	var args []string
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--metrics-bind-address") || strings.HasPrefix(a, "--health-probe-bind-address") {
			continue
		}
		args = append(args, strings.ReplaceAll(a, "$(POD_NAMESPACE)", dep.Namespace))
	}
	return args
}

func conditions(ds *dittov1alpha1.DittoServer) string {
	var b strings.Builder
	for _, c := range ds.Status.Conditions {
		b.WriteString(c.Type + "=" + string(c.Status) + "(" + c.Reason + ") ")
	}
	return b.String()
}
