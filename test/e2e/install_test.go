package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/dittofs/dittofs-operator/test/harness/audit"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// The default install (artifacts/deploy): where it puts the operator and who
// the operator is once installed.
const (
	installNamespace      = "dittofs-system"
	installServiceAccount = "dittofs-operator"
	installDeployment     = "dittofs-operator"
)

// operatorUser is the user the API server sees for the suite's operator.
var operatorUser = operator.ServiceAccountUser(installNamespace, installServiceAccount)

// installOperator installs the operator as docs/install.md says, with the
// cluster's kubectl, and writes a kubeconfig holding a token of the install's
// ServiceAccount: the credentials a pod of the Deployment would get.
func (e *testEnv) installOperator(ctx context.Context) error {
	base := filepath.Join(e.root, "artifacts", "deploy")
	out, err := e.cluster.Kubectl(ctx, "apply", "--server-side", "-k", base).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl apply --server-side -k artifacts/deploy: %w\n%s", err, out)
	}
	e.operatorKubeconfig = filepath.Join(e.cluster.WorkDir, "dittofs-operator.kubeconfig")
	if err := operator.ServiceAccountKubeconfig(ctx, e.kube, e.cluster.RESTConfig(),
		installNamespace, installServiceAccount, e.operatorKubeconfig, 12*time.Hour); err != nil {
		return err
	}
	// One request of each binding the install creates.
	return operator.WaitAuthorized(ctx, e.kube, installNamespace, installServiceAccount,
		authorizationv1.ResourceAttributes{Verb: "list", Group: "dittofs.dittofs.com", Resource: "dittoservers"},
		authorizationv1.ResourceAttributes{Verb: "list", Group: "storage.k8s.io", Resource: "storageclasses"},
		authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: installNamespace, Name: "dittofs-operator"},
	)
}

// checkOperatorNeverForbidden reads the whole audit log after the tests: the
// operator made requests with its ServiceAccount's token, and RBAC allowed
// every one of them. Other 403s (admission refusing a write into a
// terminating namespace) are not permission problems; they are counted.
func (e *testEnv) checkOperatorNeverForbidden() error {
	events, err := e.cluster.Audit()
	if err != nil {
		return err
	}
	mine := audit.Filter(events, audit.ByUser(operatorUser))
	if len(mine) == 0 {
		return fmt.Errorf("the audit log holds no request of %s: the operator did not run as its ServiceAccount", operatorUser)
	}
	forbidden := map[string]int{}
	refused := 0
	for _, ev := range mine {
		switch {
		case ev.Forbidden():
			forbidden[fmt.Sprintf("%s %s", ev.Verb, resourceOf(ev))]++
		case ev.Code == 403:
			refused++
		}
	}
	if len(forbidden) > 0 {
		var lines []string
		for req, n := range forbidden {
			lines = append(lines, fmt.Sprintf("%s (%d×)", req, n))
		}
		sort.Strings(lines)
		return fmt.Errorf("RBAC forbade requests of the operator; artifacts/deploy lacks:\n  %s", strings.Join(lines, "\n  "))
	}
	fmt.Fprintf(os.Stderr, "e2e: %d requests of %s, none forbidden by RBAC (%d refused by admission)\n", len(mine), operatorUser, refused)
	return nil
}

// resourceOf names what a request was about: group/resource/subresource in
// a namespace, or its URI when it names no object.
func resourceOf(ev audit.Event) string {
	if ev.Resource == "" {
		return ev.RequestURI
	}
	r := ev.Resource
	if ev.APIGroup != "" {
		r = ev.APIGroup + "/" + r
	}
	if ev.Subresource != "" {
		r += "/" + ev.Subresource
	}
	if ev.Namespace != "" {
		r += " in " + ev.Namespace
	}
	return r
}

// `kubectl apply --server-side -k artifacts/deploy` (done by the suite's
// setup) installs a Deployment the restricted Pod Security level admits, with
// the image set in one place, and a ServiceAccount that may do what the
// operator does and nothing more: Secrets everywhere (the documented price
// of the default install), the finalizers subresource that owner references
// need where that is enforced, and of all CRDs the PerconaPGCluster one only.
func TestDefaultInstall(t *testing.T) {
	ctx := t.Context()
	out, err := kubectl(ctx, "rollout", "status", "deployment/"+installDeployment, "-n", installNamespace, "--timeout=2m").CombinedOutput()
	if err != nil {
		t.Fatalf("the install's Deployment did not roll out: %v\n%s", err, out)
	}
	dep, err := env.kube.AppsV1().Deployments(installNamespace).Get(ctx, installDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := kustomizeImage(t, filepath.Join(env.root, "artifacts", "deploy", "kustomization.yaml"), "dittofs-operator"); dep.Spec.Template.Spec.Containers[0].Image != want {
		t.Errorf("the Deployment runs image %q, want %q (kustomization.yaml images:)", dep.Spec.Template.Spec.Containers[0].Image, want)
	}
	if sa := dep.Spec.Template.Spec.ServiceAccountName; sa != installServiceAccount {
		t.Errorf("the Deployment runs as ServiceAccount %q, want %q", sa, installServiceAccount)
	}

	for _, c := range []struct {
		what    string
		attrs   authorizationv1.ResourceAttributes
		allowed bool
	}{
		{"get a Secret in any namespace", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: "anywhere"}, true},
		{"update dittoservers/finalizers", authorizationv1.ResourceAttributes{Verb: "update", Group: "dittofs.dittofs.com", Resource: "dittoservers", Subresource: "finalizers", Namespace: "anywhere"}, true},
		{"watch the PerconaPGCluster CRD", authorizationv1.ResourceAttributes{Verb: "watch", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Name: "perconapgclusters.pgv2.percona.com"}, true},
		{"watch every CRD", authorizationv1.ResourceAttributes{Verb: "watch", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, false},
		{"get the DittoServer CRD", authorizationv1.ResourceAttributes{Verb: "get", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Name: "dittoservers.dittofs.dittofs.com"}, false},
		{"update a Secret", authorizationv1.ResourceAttributes{Verb: "update", Resource: "secrets", Namespace: "anywhere"}, false},
		{"create a pod", authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: "anywhere"}, false},
		{"update a DittoServer's spec", authorizationv1.ResourceAttributes{Verb: "update", Group: "dittofs.dittofs.com", Resource: "dittoservers", Namespace: "anywhere"}, false},
	} {
		got, err := operator.Allowed(ctx, env.kube, installNamespace, installServiceAccount, c.attrs)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.allowed {
			t.Errorf("the operator's ServiceAccount may %s: %v, want %v", c.what, got, c.allowed)
		}
	}
}

// kustomizeImage returns the image a kustomization sets for name: newName (or
// name) and newTag.
func kustomizeImage(t *testing.T, path, name string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Images []struct {
			Name, NewName, NewTag, Digest string
		} `json:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, img := range k.Images {
		if img.Name != name {
			continue
		}
		ref := img.Name
		if img.NewName != "" {
			ref = img.NewName
		}
		switch {
		case img.Digest != "":
			return ref + "@" + img.Digest
		case img.NewTag != "":
			return ref + ":" + img.NewTag
		}
		return ref
	}
	t.Fatalf("%s sets no image %q", path, name)
	return ""
}
