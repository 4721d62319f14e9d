package install

// The Helm chart (artifacts/charts/dittofs-operator) is the third way to
// install the operator: it lints, its defaults render what the kustomize
// installs render where the two overlap, and its values do what they say.
// TestHelmInstall in test/e2e installs it on the local control plane.

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

const release, releaseNamespace = "dittofs-operator", "dittofs-system"

// kubeVersion is the version of the local control plane the chart is
// rendered for (helm template has no cluster to ask).
var kubeVersion = strings.TrimPrefix(localcluster.KubeVersion, "v")

var chartDir = filepath.Join(root, "artifacts", "charts", "dittofs-operator")

// helm runs helm, built from the Go module proxy by hack/build-helm.sh.
func helm(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := proc.BuildScript("build-helm.sh")
	if err != nil {
		t.Fatalf("helm is a prerequisite (hack/build-helm.sh needs Go and the Go module proxy): %v", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := proc.Run(cmd); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// helmRender is what `helm template` makes of the chart with values set.
func helmRender(t *testing.T, values ...string) *rendered {
	t.Helper()
	args := []string{"template", release, chartDir, "--namespace", releaseNamespace, "--include-crds", "--kube-version", kubeVersion}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	path := filepath.Join(t.TempDir(), "chart.yaml")
	if err := os.WriteFile(path, helm(t, args...), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := operator.ReadObjects(path)
	if err != nil {
		t.Fatal(err)
	}
	return &rendered{t: t, objs: objs}
}

func TestChartLints(t *testing.T) {
	for _, values := range [][]string{nil, {"namespaced.enabled=true", "namespaced.watchNamespace=team-a"},
		{"metrics.serviceMonitor.enabled=true", "leaderElection.enabled=false", "replicas=1"}} {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}
		for _, v := range values {
			args = append(args, "--set", v)
		}
		helm(t, args...)
	}
}

// The chart and the kustomize installs are two ways to install the same
// thing: every object kustomize renders (but the Namespace, which Helm leaves
// to --create-namespace) comes out of the chart the same, CRDs included, in
// the default and in the namespaced install.
func TestChartRendersWhatKustomizeRenders(t *testing.T) {
	for _, tc := range []struct {
		kustomization string
		values        []string
	}{
		{"artifacts/deploy", nil},
		{"artifacts/namespaced", []string{"namespaced.enabled=true"}},
	} {
		t.Run(filepath.Base(tc.kustomization), func(t *testing.T) {
			chart := byKey(helmRender(t, tc.values...))
			base := render(t, filepath.Join(root, tc.kustomization))
			if len(base.objs) == 0 {
				t.Fatal("kustomize rendered nothing")
			}
			for _, want := range base.objs {
				if want.GetKind() == "Namespace" {
					continue
				}
				got, ok := chart[key(want)]
				if !ok {
					t.Errorf("the chart does not render %s; it renders %v", key(want), slices.Sorted(maps.Keys(chart)))
					continue
				}
				labels := want.GetLabels()
				if want.GetKind() == "CustomResourceDefinition" {
					// Helm installs crds/ verbatim: no labels of the install.
					labels = got.GetLabels()
				}
				if a, b := comparable(t, want, labels), comparable(t, got, labels); a != b {
					t.Errorf("%s differs between kustomize and the chart:\n--- kustomize\n%s\n--- chart\n%s", key(want), a, b)
				}
			}
		})
	}
}

// With a watched namespace of its own, the namespaced chart grants the
// operator's namespaced rights by a Role there, watches only it, and what
// stays cluster-wide reads no Secret.
func TestChartNamespacedElsewhere(t *testing.T) {
	r := helmRender(t, "namespaced.enabled=true", "namespaced.watchNamespace=team-a")
	var role rbacv1.Role
	for _, o := range r.all("Role") {
		if o.GetName() == release && o.GetNamespace() == "team-a" {
			r.get("Role", release, &role)
		}
	}
	if !grants(role.Rules, "", "secrets", "get") || !grants(role.Rules, "apps", "statefulsets", "create") {
		t.Errorf("the Role in team-a lacks the operator's namespaced rights: %+v", role.Rules)
	}
	for _, cr := range r.clusterRoles() {
		if grants(cr.Rules, "", "secrets", "get") || grants(cr.Rules, "", "secrets", "list") {
			t.Errorf("ClusterRole %s grants Secret reads cluster-wide in the namespaced install", cr.Name)
		}
		if grants(cr.Rules, "", "persistentvolumes", "create") {
			t.Errorf("ClusterRole %s lets the namespaced install make PersistentVolumes", cr.Name)
		}
	}
	if args := r.deployment().Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--namespace=team-a") {
		t.Errorf("operator args %v lack --namespace=team-a", args)
	}
}

func TestChartValues(t *testing.T) {
	d := helmRender(t, "image.repository=registry.example.com/dittofs-operator", "image.tag=v9.9.9",
		"logVerbosity=2", "extraArgs={--workers=8}", "nodeSelector.pool=system", "replicas=3").deployment()
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.com/dittofs-operator:v9.9.9" {
		t.Errorf("image %s", c.Image)
	}
	// A release's chart pins the image by digest; the tag then plays no part.
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pinned := helmRender(t, "image.repository=registry.example.com/dittofs-operator", "image.tag=v9.9.9", "image.digest="+digest).deployment()
	if got := pinned.Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/dittofs-operator@"+digest {
		t.Errorf("image with image.digest set: %s", got)
	}
	for _, want := range []string{"-v=2", "--workers=8", "--leader-elect=true"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if d.Spec.Template.Spec.NodeSelector["pool"] != "system" {
		t.Errorf("nodeSelector %v", d.Spec.Template.Spec.NodeSelector)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas %v", d.Spec.Replicas)
	}
	// helm template sees no Prometheus Operator: the metrics Service when
	// asked, but no ServiceMonitor without its CRD.
	r := helmRender(t, "metrics.serviceMonitor.enabled=true")
	if len(r.all("Service")) != 1 || len(r.all("ServiceMonitor")) != 0 {
		t.Errorf("%d Services and %d ServiceMonitors rendered, want 1 and 0", len(r.all("Service")), len(r.all("ServiceMonitor")))
	}
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func byKey(r *rendered) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range r.objs {
		out[key(o)] = o
	}
	return out
}

// comparable is an object as both installs must render it: RBAC rules in a
// canonical order, and only the labels the kustomize install sets (the chart
// adds the release's and its own).
func comparable(t *testing.T, u *unstructured.Unstructured, labels map[string]string) string {
	t.Helper()
	u = u.DeepCopy()
	kept := map[string]string{}
	for k, v := range u.GetLabels() {
		if _, ok := labels[k]; ok {
			kept[k] = v
		}
	}
	u.SetLabels(kept)
	if len(kept) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "labels")
	}
	if rules, ok := u.Object["rules"].([]any); ok {
		canon := make([]string, len(rules))
		for i, r := range rules {
			b, err := yaml.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			canon[i] = string(b)
		}
		sort.Strings(canon)
		u.Object["rules"] = canon
	}
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
