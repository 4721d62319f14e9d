package e2e

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// The Helm chart installs a working operator: `helm install` of
// artifacts/charts/dittofs-operator (helm built from the Go module proxy by
// hack/build-helm.sh) with the chart's defaults, into a namespace of its own
// and under a release name that keeps its cluster-scoped objects apart from
// the suite's install. The operator then runs with a token of the chart's
// ServiceAccount and the arguments of the chart's Deployment (leader election
// included), takes a DittoServer to Ready and deletes it, and RBAC forbids it
// nothing. `helm uninstall` removes the release and keeps the CRDs, and with
// them every DittoServer.
func TestHelmInstall(t *testing.T) {
	bin, err := proc.BuildScript("build-helm.sh")
	if err != nil {
		t.Fatalf("helm is a prerequisite (hack/build-helm.sh needs Go and the Go module proxy): %v", err)
	}
	stopSuiteOperator(t)
	n := newNamespace(t, nil)
	ctx := t.Context()
	home := t.TempDir()
	helm := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append(args, "--kubeconfig", env.cluster.Kubeconfig, "--namespace", n.name)...)
		cmd.Env = append(cmd.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
			"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, out)
		}
	}
	const release = "e2e"
	helm("install", release, filepath.Join(env.root, "artifacts", "charts", "dittofs-operator"))
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			helm("uninstall", release, "--wait")
		}
	})

	dep, err := env.kube.AppsV1().Deployments(n.name).Get(ctx, release+"-dittofs-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's Deployment: %v", err)
	}
	sa := dep.Spec.Template.Spec.ServiceAccountName
	args := podArgs(t, dep, n.name)
	if !slices.Contains(args, "--leader-elect=true") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--namespace=") }) {
		t.Errorf("the chart's operator runs with %v, want leader election over every namespace", args)
	}
	if err := operator.WaitAuthorized(ctx, env.kube, n.name, sa,
		authorizationv1.ResourceAttributes{Verb: "list", Group: "dittofs.dittofs.com", Resource: "dittoservers"},
		authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: n.name},
		authorizationv1.ResourceAttributes{Verb: "list", Group: "storage.k8s.io", Resource: "storageclasses"},
		authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: n.name, Name: "dittofs-operator"},
	); err != nil {
		t.Fatal(err)
	}

	lifecycleAsInstalled(t, n, sa, args, "helm")
	if got := operatorRequestsOf(t, operator.ServiceAccountUser(n.name, sa)); got == 0 {
		t.Error("the audit log holds no request of the chart's operator: it did not run as the chart's ServiceAccount")
	} else {
		t.Logf("the chart's operator made %d requests, none forbidden", got)
	}

	helm("uninstall", release, "--wait")
	uninstalled = true
	if _, err := env.kube.RbacV1().ClusterRoles().Get(ctx, release+"-dittofs-operator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the release's ClusterRole after helm uninstall: %v, want NotFound", err)
	}
	if _, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("DittoServers after helm uninstall: %v (the CRDs must stay)", err)
	}
}
