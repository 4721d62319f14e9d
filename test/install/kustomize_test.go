package install

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/dittofs/dittofs-operator/test/operator"
)

const (
	partOf          = "app.kubernetes.io/part-of"
	defaultNS       = "dittofs-system"
	operatorName    = "dittofs-operator"
	clusterRoleName = "dittofs-operator-cluster"
	imageName       = "dittofs-operator"
)

var (
	baseDir       = filepath.Join(root, "artifacts", "deploy")
	namespacedDir = filepath.Join(root, "artifacts", "namespaced")
)

// `kubectl apply -k artifacts/deploy` installs everything the operator
// needs: every CRD `make generate` writes, the namespace (restricted Pod
// Security), the ServiceAccount, RBAC bound to it, and a Deployment running as
// it and watching every namespace. Every object carries the install's label.
func TestDefaultInstallRendersEverything(t *testing.T) {
	r := render(t, baseDir)

	var want []string
	files, _ := filepath.Glob(filepath.Join(root, "artifacts", "crds", "*.yaml"))
	for _, f := range files {
		objs, err := operator.ReadObjects(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			want = append(want, o.GetName())
		}
	}
	var got []string
	for _, o := range r.all("CustomResourceDefinition") {
		got = append(got, o.GetName())
	}
	sort.Strings(want)
	sort.Strings(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("CRDs rendered %v, want those of artifacts/crds %v (list new ones in artifacts/crds/Kustomization)", got, want)
	}

	var ns corev1.Namespace
	if !r.get("Namespace", defaultNS, &ns) || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s with Pod Security restricted not rendered: %+v", defaultNS, ns.ObjectMeta)
	}
	dep := r.deployment()
	if dep.Namespace != defaultNS || dep.Spec.Template.Spec.ServiceAccountName != operatorName {
		t.Errorf("Deployment %s/%s runs as %q", dep.Namespace, dep.Name, dep.Spec.Template.Spec.ServiceAccountName)
	}
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--namespace") {
			t.Errorf("the default install watches one namespace only: %s", a)
		}
	}
	checkBindings(t, r, defaultNS, operatorName)

	var cr rbacv1.ClusterRole
	if !r.get("ClusterRole", operatorName, &cr) {
		t.Fatal("no ClusterRole dittofs-operator")
	}
	for _, need := range []struct{ group, resource, verb string }{
		{"", "secrets", "get"}, // cluster-wide in this install: the README says so
		{"dittofs.dittofs.com", "dittoservers/finalizers", "update"},
		{"dittofs.dittofs.com", "dittoshares", "update"},
		{"dittofs.dittofs.com", "dittousers/status", "update"},
		{"dittofs.dittofs.com", "dittobackups/status", "update"},
		{"dittofs.dittofs.com", "dittoscheduledbackups", "create"},
		{"snapshot.storage.k8s.io", "volumesnapshots", "create"},
		{"networking.k8s.io", "networkpolicies", "delete"},
		{"monitoring.coreos.com", "servicemonitors", "update"},
	} {
		if !grants(cr.Rules, need.group, need.resource, need.verb) {
			t.Errorf("ClusterRole dittofs-operator does not grant %s %s/%s", need.verb, need.group, need.resource)
		}
	}
	// Port-forward reaches any port of any pod: only an operator outside the
	// cluster uses it, and it ships apart (artifacts/outside-cluster).
	for _, cr := range r.clusterRoles() {
		if grants(cr.Rules, "", "pods/portforward", "create") || grants(cr.Rules, "", "pods/portforward", "get") {
			t.Errorf("ClusterRole %s grants pods/portforward in the in-cluster install", cr.Name)
		}
	}
	checkLeaseRule(t, r)
	var cluster rbacv1.ClusterRole
	if !r.get("ClusterRole", clusterRoleName, &cluster) {
		t.Fatal("no ClusterRole dittofs-operator-cluster")
	}
	for _, rule := range cluster.Rules {
		if slices.Contains(rule.Resources, "customresourcedefinitions") &&
			!slices.Equal(rule.ResourceNames, []string{"perconapgclusters.pgv2.percona.com", "servicemonitors.monitoring.coreos.com",
				"dittoshares.dittofs.dittofs.com", "dittousers.dittofs.dittofs.com", "dittobackups.dittofs.dittofs.com",
				"dittoscheduledbackups.dittofs.dittofs.com", "volumesnapshots.snapshot.storage.k8s.io",
				"volumesnapshotcontents.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io"}) {
			t.Errorf("the CRD watch is not narrowed to the PerconaPGCluster, ServiceMonitor, DittoShare, DittoUser, backup and snapshot CRDs: %+v", rule)
		}
	}
	// kubectl applies in this order: the CRDs before the operator that
	// reads them (docs/upgrade.md).
	lastCRD, deployment := -1, -1
	for i, o := range r.objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			lastCRD = i
		case "Deployment":
			deployment = i
		}
	}
	if lastCRD > deployment {
		t.Errorf("a CRD is rendered after the Deployment")
	}
	for _, o := range r.objs {
		if o.GetLabels()[partOf] != operatorName {
			t.Errorf("%s %s lacks the label %s=%s", o.GetKind(), o.GetName(), partOf, operatorName)
		}
	}
}

// The image is a choice made in one place: the `images:` of
// artifacts/deploy/kustomization.yaml. No manifest names a tag or registry,
// the namespaced install runs the same image, and a kustomization of the
// user's own changes it for both.
func TestImageIsChosenInOnePlace(t *testing.T) {
	var lines []string
	imageLine := regexp.MustCompile(`^\s*-?\s*image:\s*(\S+)`)
	for _, dir := range []string{baseDir, namespacedDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				if m := imageLine.FindStringSubmatch(sc.Text()); m != nil {
					lines = append(lines, filepath.Base(f)+": "+m[1])
				}
			}
			_ = fh.Close()
		}
	}
	if !slices.Equal(lines, []string{"deployment.yaml: " + imageName}) {
		t.Errorf("image: lines in the manifests %v, want only deployment.yaml naming %q (no tag: kustomization.yaml sets it)", lines, imageName)
	}

	want := kustomizationImage(t)
	for _, dir := range []string{baseDir, namespacedDir} {
		if got := render(t, dir).deployment().Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("%s runs image %q, want %q", dir, got, want)
		}
	}
	for _, base := range []string{baseDir, namespacedDir} {
		dir := userKustomization(t, base, `images:
  - name: dittofs-operator
    newName: registry.example.com/platform/dittofs-operator
    newTag: v9.9.9
`)
		if got := render(t, dir).deployment().Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/platform/dittofs-operator:v9.9.9" {
			t.Errorf("a user's images: over %s renders image %q", base, got)
		}
	}
}

// The namespaced install grants nothing on a namespaced resource outside its
// namespace: the rules of the default install's ClusterRole, unchanged, as a
// Role there; cluster-wide only StorageClasses, VolumeSnapshotClasses,
// VolumeSnapshotContents and the CRDs it gates on. The
// operator watches the namespace its pod runs in, and the namespace itself is
// left to its owner.
func TestNamespacedInstallGrantsNoClusterWideSecrets(t *testing.T) {
	r := render(t, namespacedDir)
	if ns := r.all("Namespace"); len(ns) != 0 {
		t.Errorf("the namespaced install renders namespace %s: it must neither create, label nor delete it", ns[0].GetName())
	}
	for _, cr := range r.clusterRoles() {
		if cr.Name != clusterRoleName {
			t.Errorf("the namespaced install has ClusterRole %s", cr.Name)
		}
		for _, rule := range cr.Rules {
			for _, res := range rule.Resources {
				// VolumeSnapshotClasses and VolumeSnapshotContents are
				// cluster-scoped: backups and restores need them in either install.
				if !slices.Contains([]string{"storageclasses", "customresourcedefinitions", "volumesnapshotclasses", "volumesnapshotcontents"}, res) {
					t.Errorf("ClusterRole %s grants %v on %s cluster-wide", cr.Name, rule.Verbs, res)
				}
			}
		}
	}
	for _, o := range r.all("ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		r.get("ClusterRoleBinding", o.GetName(), &b)
		if b.RoleRef.Name != clusterRoleName {
			t.Errorf("ClusterRoleBinding %s binds %s %s cluster-wide", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
	}

	base := render(t, baseDir)
	var clusterWide rbacv1.ClusterRole
	base.get("ClusterRole", operatorName, &clusterWide)
	var role rbacv1.Role
	if !r.get("Role", operatorName, &role) {
		t.Fatal("no Role dittofs-operator")
	}
	if !reflect.DeepEqual(role.Rules, clusterWide.Rules) {
		t.Errorf("Role dittofs-operator differs from the default install's ClusterRole:\n role %+v\n want %+v", role.Rules, clusterWide.Rules)
	}
	dep := r.deployment()
	if role.Namespace != dep.Namespace {
		t.Errorf("Role in %q, operator in %q", role.Namespace, dep.Namespace)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--namespace=$(POD_NAMESPACE)") {
		t.Errorf("operator args %v lack --namespace=$(POD_NAMESPACE)", c.Args)
	}
	podNS := false
	for _, e := range c.Env {
		podNS = podNS || (e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace")
	}
	if !podNS {
		t.Errorf("POD_NAMESPACE is not the pod's namespace: %+v", c.Env)
	}
	checkBindings(t, r, dep.Namespace, operatorName)
}

// In a namespace of the user's choosing, as docs/install.md shows it:
// `namespace:` moves every namespaced object and every binding's subject,
// `nameSuffix:` makes the cluster-scoped names unique, and the CRDs keep
// their names.
func TestNamespacedInstallInYourNamespace(t *testing.T) {
	const ns = "team-a"
	r := render(t, userKustomization(t, namespacedDir, "namespace: team-a\nnameSuffix: -team-a\n"))
	sa := operatorName + "-team-a"
	for _, o := range r.objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			if !strings.HasSuffix(o.GetName(), ".dittofs.dittofs.com") {
				t.Errorf("CRD renamed to %s", o.GetName())
			}
		case "ClusterRole", "ClusterRoleBinding":
			if !strings.HasSuffix(o.GetName(), "-team-a") {
				t.Errorf("%s %s would clash with another install", o.GetKind(), o.GetName())
			}
		default:
			if o.GetNamespace() != ns {
				t.Errorf("%s %s in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), ns)
			}
		}
	}
	if got := r.deployment().Spec.Template.Spec.ServiceAccountName; got != sa {
		t.Errorf("the operator runs as %q, want %q", got, sa)
	}
	checkBindings(t, r, ns, sa)
}

// checkBindings: every RoleBinding and ClusterRoleBinding binds a rendered
// role of the kind it names to the rendered ServiceAccount ns/sa.
func checkBindings(t *testing.T, r *rendered, ns, sa string) {
	t.Helper()
	if len(r.all("ServiceAccount")) != 1 || r.all("ServiceAccount")[0].GetName() != sa || r.all("ServiceAccount")[0].GetNamespace() != ns {
		t.Errorf("ServiceAccount %s/%s is not the one rendered", ns, sa)
	}
	n := 0
	for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
		for _, o := range r.all(kind) {
			n++
			var b rbacv1.RoleBinding // a ClusterRoleBinding has the same fields
			r.get(kind, o.GetName(), &b)
			roleKind := b.RoleRef.Kind
			var role rbacv1.Role
			if !r.get(roleKind, b.RoleRef.Name, &role) {
				t.Errorf("%s %s refers to %s %s, which is not rendered", kind, b.Name, roleKind, b.RoleRef.Name)
			}
			if roleKind == "Role" && role.Namespace != b.Namespace {
				t.Errorf("%s %s in %q refers to Role %s in %q", kind, b.Name, b.Namespace, role.Name, role.Namespace)
			}
			want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}}
			if !reflect.DeepEqual(b.Subjects, want) {
				t.Errorf("%s %s binds %+v, want %+v", kind, b.Name, b.Subjects, want)
			}
		}
	}
	if n == 0 {
		t.Error("no bindings rendered")
	}
}

// grants reports whether a rule allows verb on group/resource (a
// subresource written as resource/sub).
func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// checkLeaseRule: the leader election Role grants get and update on the
// operator's Lease only, by name; create, which RBAC cannot restrict by name,
// on leases; nothing else.
func checkLeaseRule(t *testing.T, r *rendered) {
	t.Helper()
	var role rbacv1.Role
	if !r.get("Role", operatorName+"-leader-election", &role) {
		t.Fatal("no Role dittofs-operator-leader-election")
	}
	for _, rule := range role.Rules {
		named := slices.Equal(rule.ResourceNames, []string{"dittofs-operator"})
		switch {
		case !slices.Equal(rule.Resources, []string{"leases"}):
			t.Errorf("leader election rule on %v", rule.Resources)
		case named && !slices.Equal(rule.Verbs, []string{"get", "update"}):
			t.Errorf("the Lease dittofs-operator: verbs %v, want get and update", rule.Verbs)
		case !named && (len(rule.ResourceNames) != 0 || !slices.Equal(rule.Verbs, []string{"create"})):
			t.Errorf("leases without resourceNames %v: verbs %v, want create only", rule.ResourceNames, rule.Verbs)
		}
	}
	for _, verb := range []string{"create", "get", "update"} {
		if !grants(role.Rules, "coordination.k8s.io", "leases", verb) {
			t.Errorf("leader election needs %s on leases", verb)
		}
	}
}

// The optional manifest for an operator outside the cluster grants
// pods/portforward and nothing else.
func TestOutsideClusterRBACIsPortForwardOnly(t *testing.T) {
	r := render(t, filepath.Join(root, "artifacts", "outside-cluster"))
	crs := r.clusterRoles()
	if len(crs) != 1 || len(crs[0].Rules) != 1 || !slices.Equal(crs[0].Rules[0].Resources, []string{"pods/portforward"}) ||
		!slices.Equal(crs[0].Rules[0].Verbs, []string{"get", "create"}) {
		t.Fatalf("ClusterRoles %+v, want one granting get and create on pods/portforward", crs)
	}
	var b rbacv1.ClusterRoleBinding
	if !r.get("ClusterRoleBinding", crs[0].Name, &b) || b.RoleRef.Name != crs[0].Name || len(b.Subjects) != 1 ||
		b.Subjects[0].Name != operatorName || b.Subjects[0].Namespace != defaultNS {
		t.Errorf("binding %+v, want the install's ServiceAccount", b)
	}
	for _, o := range r.objs {
		if o.GetLabels()[partOf] != operatorName {
			t.Errorf("%s %s lacks the label %s=%s", o.GetKind(), o.GetName(), partOf, operatorName)
		}
	}
}

// kustomizationImage is the image artifacts/deploy/kustomization.yaml sets.
func kustomizationImage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(baseDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Images []struct{ Name, NewName, NewTag string } `json:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 || k.Images[0].Name != imageName || k.Images[0].NewTag == "" {
		t.Fatalf("kustomization.yaml images: %+v, want one entry for %q with a tag", k.Images, imageName)
	}
	ref := imageName
	if k.Images[0].NewName != "" {
		ref = k.Images[0].NewName
	}
	return ref + ":" + k.Images[0].NewTag
}

// userKustomization writes a kustomization of the user's own over base with
// the given fields and returns its directory (kustomize takes relative paths
// only).
func userKustomization(t *testing.T, base, fields string) string {
	t.Helper()
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n%sresources:\n  - %s\n", fields, rel)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
