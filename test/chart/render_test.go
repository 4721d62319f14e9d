// Package chart tests the Helm chart under artifacts/charts: it lints, it
// renders what the kustomize install renders where they overlap, its
// namespaced mode grants no cluster-wide Secret access, and it installs a
// working operator on the local control plane.
package chart

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

const release, namespace = "dittofs-operator", "dittofs-system"

// kubeVersion is the version of the local control plane the chart is
// rendered for (helm template has no cluster to ask).
var kubeVersion = strings.TrimPrefix(localcluster.KubeVersion, "v")

func repo(t *testing.T, rel string) string {
	t.Helper()
	root, err := localcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, rel)
}

func chartDir(t *testing.T) string { return repo(t, "artifacts/charts/dittofs-operator") }

// helm runs the helm binary built from the Go module proxy (hack/build-helm.sh).
func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := proc.BuildScript("build-helm.sh")
	if err != nil {
		t.Fatalf("helm is a prerequisite (hack/build-helm.sh needs Go and the Go module proxy): %v", err)
	}
	return run(t, exec.Command(bin, args...))
}

// kubectl runs the kubectl of the local control plane (hack/build-control-plane.sh).
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, exec.Command(localcluster.CachedBinaries().Kubectl, args...))
}

func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := proc.Run(cmd); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// objects decodes a multi-document YAML stream, keyed by kind/namespace/name.
func objects(t *testing.T, stream string) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("decode rendered YAML: %v", err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		out[key(u)] = u
	}
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func render(t *testing.T, values ...string) map[string]*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", release, chartDir(t), "--namespace", namespace, "--include-crds", "--kube-version", kubeVersion}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	return objects(t, helm(t, args...))
}

func TestChartLints(t *testing.T) {
	for _, values := range [][]string{nil, {"namespaced.enabled=true", "namespaced.watchNamespace=team-a"},
		{"metrics.serviceMonitor.enabled=true", "leaderElection.enabled=false", "replicas=1"}} {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir(t)}
		for _, v := range values {
			args = append(args, "--set", v)
		}
		helm(t, args...)
	}
}

// comparable is an object as both installs must render it: RBAC rules in a
// canonical order, and only the labels the kustomize install sets (the chart
// adds the release's and its own, which the kustomize install has no use
// for).
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

// The chart and the kustomize base are two ways to install the same thing:
// every object the kustomize base renders (but the Namespace, which Helm
// leaves to --create-namespace) comes out of the chart's defaults the same,
// CRDs included.
func TestChartRendersWhatKustomizeRenders(t *testing.T) {
	chart := render(t)
	base := objects(t, kubectl(t, "kustomize", repo(t, "artifacts/deploy")))
	if len(base) == 0 {
		t.Fatal("kustomize rendered nothing")
	}
	for k, want := range base {
		if want.GetKind() == "Namespace" {
			continue
		}
		got, ok := chart[k]
		if !ok {
			t.Errorf("the chart does not render %s", k)
			continue
		}
		if a, b := comparable(t, want, want.GetLabels()), comparable(t, got, want.GetLabels()); a != b {
			t.Errorf("%s differs between kustomize and the chart:\n--- kustomize\n%s\n--- chart\n%s", k, a, b)
		}
	}
}

// Namespaced: everything namespaced is granted by a Role in the watched
// namespace, the operator watches only that namespace, and what stays
// cluster-wide reads no Secret.
func TestChartNamespacedInstall(t *testing.T) {
	chart := render(t, "namespaced.enabled=true", "namespaced.watchNamespace=team-a")
	role, ok := chart["Role/team-a/"+release]
	if !ok {
		t.Fatalf("no Role %s in team-a; rendered %v", release, keys(chart))
	}
	if !grants(role, "", "secrets", "get") || !grants(role, "apps", "statefulsets", "create") {
		t.Errorf("the Role in team-a lacks the operator's namespaced rights: %v", role.Object["rules"])
	}
	if _, ok := chart["RoleBinding/team-a/"+release]; !ok {
		t.Error("no RoleBinding in team-a")
	}
	for k, u := range chart {
		if u.GetKind() == "ClusterRole" && (grants(u, "", "secrets", "get") || grants(u, "", "secrets", "list")) {
			t.Errorf("%s grants Secret reads cluster-wide in the namespaced install", k)
		}
	}
	args := containerArgs(t, chart["Deployment/"+namespace+"/"+release])
	if !slices.Contains(args, "--namespace=team-a") {
		t.Errorf("operator args %v lack --namespace=team-a", args)
	}
}

func TestChartValues(t *testing.T) {
	chart := render(t, "image.repository=registry.example.com/dittofs-operator", "image.tag=v9.9.9",
		"logVerbosity=2", "extraArgs={--workers=8}", "nodeSelector.pool=system", "replicas=3")
	d := chart["Deployment/"+namespace+"/"+release]
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if image := containers[0].(map[string]any)["image"]; image != "registry.example.com/dittofs-operator:v9.9.9" {
		t.Errorf("image %v", image)
	}
	args := containerArgs(t, d)
	for _, want := range []string{"-v=2", "--workers=8", "--leader-elect=true"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if sel, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "nodeSelector", "pool"); sel != "system" {
		t.Errorf("nodeSelector.pool %q", sel)
	}
	if n, _, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); fmt.Sprint(n) != "3" {
		t.Errorf("replicas %v", n)
	}
	// No Prometheus Operator in `helm template`: no ServiceMonitor, but the
	// metrics Service when asked.
	chart = render(t, "metrics.serviceMonitor.enabled=true")
	if _, ok := chart["Service/"+namespace+"/"+release+"-metrics"]; !ok {
		t.Errorf("no metrics Service; rendered %v", keys(chart))
	}
	for k := range chart {
		if strings.HasPrefix(k, "ServiceMonitor/") {
			t.Errorf("%s rendered without the ServiceMonitor CRD", k)
		}
	}
}

func containerArgs(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	if d == nil {
		t.Fatal("no operator Deployment rendered")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	var out []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// grants reports whether a Role or ClusterRole allows verb on resource.
func grants(role *unstructured.Unstructured, group, resource, verb string) bool {
	rules, _ := role.Object["rules"].([]any)
	for _, r := range rules {
		rule := r.(map[string]any)
		if has(rule["apiGroups"], group) && has(rule["resources"], resource) && has(rule["verbs"], verb) {
			return true
		}
	}
	return false
}

func has(list any, s string) bool {
	items, _ := list.([]any)
	for _, i := range items {
		if i == s || i == "*" {
			return true
		}
	}
	return false
}

func keys(m map[string]*unstructured.Unstructured) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
