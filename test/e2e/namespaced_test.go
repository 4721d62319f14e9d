package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dittofs/dittofs-operator/test/harness/audit"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// The namespaced install in a namespace of the user's choosing, the way
// docs/install.md shows it: a kustomization with `namespace:` and
// `nameSuffix:` on top of artifacts/namespaced, applied with kubectl. The
// operator then runs with a token of that install's ServiceAccount and the
// arguments of that install's Deployment, takes a DittoServer of its
// namespace to Ready and deletes it again, and RBAC refuses it nothing. The
// same ServiceAccount may not read a Secret anywhere else.
func TestNamespacedInstall(t *testing.T) {
	stopSuiteOperator(t)
	n := newNamespace(t, nil)
	ctx := t.Context()

	dir := userKustomization(t, n.name)
	t.Cleanup(func() { deleteClusterScoped(t, dir) })
	if out, err := kubectl(ctx, "apply", "--server-side", "-k", dir).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side -k (namespaced install in %s): %v\n%s", n.name, err, out)
	}
	dep := renderedDeployment(t, dir)
	if dep.Namespace != n.name {
		t.Fatalf("the install's Deployment is in %q, want %q", dep.Namespace, n.name)
	}
	sa := dep.Spec.Template.Spec.ServiceAccountName
	args := podArgs(t, dep, n.name)
	if !slices.Contains(args, "--namespace="+n.name) {
		t.Fatalf("the namespaced install's operator runs with %v, want --namespace=%s", args, n.name)
	}

	// What RBAC gives the install's ServiceAccount: its namespace, and
	// outside it StorageClasses and the Percona CRD only.
	if err := operator.WaitAuthorized(ctx, env.kube, n.name, sa,
		authorizationv1.ResourceAttributes{Verb: "list", Group: "dittofs.dittofs.com", Resource: "dittoservers", Namespace: n.name},
		authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: n.name},
		authorizationv1.ResourceAttributes{Verb: "list", Group: "storage.k8s.io", Resource: "storageclasses"},
		authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: n.name, Name: "dittofs-operator"},
	); err != nil {
		t.Fatal(err)
	}
	for what, attrs := range map[string]authorizationv1.ResourceAttributes{
		"get a Secret of namespace default":    {Verb: "get", Resource: "secrets", Namespace: "default"},
		"get a Secret of the default install":  {Verb: "get", Resource: "secrets", Namespace: installNamespace},
		"list Secrets of every namespace":      {Verb: "list", Resource: "secrets"},
		"list DittoServers of every namespace": {Verb: "list", Group: "dittofs.dittofs.com", Resource: "dittoservers"},
	} {
		allowed, err := operator.Allowed(ctx, env.kube, n.name, sa, attrs)
		if err != nil {
			t.Fatal(err)
		}
		if allowed {
			t.Errorf("the namespaced install's ServiceAccount may %s", what)
		}
	}

	kubeconfig := lifecycleAsInstalled(t, n, sa, args, "namespaced")

	// The audit check tells a denial when it sees one: a request of the
	// same ServiceAccount for a Secret of another namespace.
	probe := kubeClient(t, kubeconfig, "dittofs-e2e-probe")
	if _, err := probe.CoreV1().Secrets("default").Get(ctx, "any", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the namespaced install's ServiceAccount reading a Secret of namespace default: %v, want Forbidden", err)
	}
	events, err := env.cluster.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var operatorRequests, probeDenials int
	for _, ev := range audit.Filter(events, audit.ByUser(operator.ServiceAccountUser(n.name, sa))) {
		switch {
		case strings.HasPrefix(ev.UserAgent, operatorUserAgent):
			operatorRequests++
			if ev.Forbidden() {
				t.Errorf("RBAC forbade the namespaced operator: %s %s", ev.Verb, resourceOf(ev))
			}
		case strings.HasPrefix(ev.UserAgent, "dittofs-e2e-probe") && ev.Forbidden():
			probeDenials++
		}
	}
	if operatorRequests == 0 || probeDenials != 1 {
		t.Errorf("audit log: %d requests of the namespaced operator, %d denials of the probe; want some and 1", operatorRequests, probeDenials)
	}
	t.Logf("the namespaced operator made %d requests, none forbidden", operatorRequests)
}

// userKustomization writes a kustomization that installs artifacts/namespaced
// into namespace ns, as docs/install.md tells a user to, and returns its
// directory. kustomize takes relative paths only.
func userKustomization(t *testing.T, ns string) string {
	t.Helper()
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, filepath.Join(env.root, "artifacts", "namespaced"))
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
nameSuffix: -%s
resources:
  - %s
`, ns, ns, rel)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// renderedDeployment is the Deployment of a kustomization, as kubectl
// kustomize renders it.
func renderedDeployment(t *testing.T, dir string) *appsv1.Deployment {
	t.Helper()
	out, err := kubectl(t.Context(), "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := operator.ReadObjects(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		var dep appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep); err != nil {
			t.Fatal(err)
		}
		return &dep
	}
	t.Fatalf("kubectl kustomize %s renders no Deployment", dir)
	return nil
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// podArgs returns the operator container's arguments as the kubelet would
// pass them in namespace ns: $(VAR) expanded from the container's
// environment. The health and metrics addresses are left out: operator.Start
// binds them to loopback ports of its own.
func podArgs(t *testing.T, dep *appsv1.Deployment, ns string) []string {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	vars := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			vars[e.Name] = ns
		}
	}
	var args []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--metrics-bind-address") || strings.HasPrefix(a, "--health-probe-bind-address") {
			continue
		}
		args = append(args, varRef.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := vars[varRef.FindStringSubmatch(ref)[1]]; ok {
				return v
			}
			return ref // the kubelet leaves an unknown reference as it is
		}))
	}
	return args
}

// deleteClusterScoped deletes the cluster-scoped objects a kustomization
// created (the namespaced ones go with their namespace).
func deleteClusterScoped(t *testing.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := kubectl(ctx, "kustomize", dir).Output()
	if err != nil {
		t.Errorf("kubectl kustomize %s: %v", dir, err)
		return
	}
	path := filepath.Join(dir, "rendered.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Error(err)
		return
	}
	objs, err := operator.ReadObjects(path)
	if err != nil {
		t.Error(err)
		return
	}
	for _, o := range objs {
		var err error
		switch o.GetKind() {
		case "ClusterRole":
			err = env.kube.RbacV1().ClusterRoles().Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		case "ClusterRoleBinding":
			err = env.kube.RbacV1().ClusterRoleBindings().Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

// deleteDittoServers deletes the namespace's DittoServers and waits until
// they are gone.
func deleteDittoServers(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	client := env.ditto.DittofsV1alpha1().DittoServers(ns)
	if err := client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Errorf("delete the DittoServers of %s: %v", ns, err)
		return
	}
	for {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err == nil && len(list.Items) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("DittoServers of %s not gone: %v", ns, ctx.Err())
			return
		case <-time.After(pollEvery):
		}
	}
}

// kubeClient is a client with the credentials of a kubeconfig.
func kubeClient(t *testing.T, kubeconfig, userAgent string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.UserAgent = userAgent
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lifecycleAsInstalled runs the operator binary the way an install runs it:
// with a token of the install's ServiceAccount sa (in n) and the arguments of
// its Deployment, except that no pod here runs a server for the server state
// controller to talk to (as in the rest of the suite). The operator takes the
// minimal sample to Ready and deletes it again. It returns the kubeconfig
// with the ServiceAccount's token.
func lifecycleAsInstalled(t *testing.T, n *testNS, sa string, args []string, logName string) string {
	t.Helper()
	ctx := t.Context()
	kubeconfig := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := operator.ServiceAccountKubeconfig(ctx, env.kube, env.cluster.RESTConfig(), n.name, sa, kubeconfig, time.Hour); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(env.logDir, "operator-"+logName+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	p, err := operator.Start(ctx, operator.Options{
		Binary:     env.binary,
		Kubeconfig: kubeconfig,
		Args:       append(slices.Clip(args), "--manage-server-state=false"),
		Env:        []string{"POD_NAMESPACE=" + n.name},
		Log:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(30 * time.Second) })
	// If the test stops early, its DittoServers still go while their
	// operator runs: their finalizer would hold the namespace otherwise.
	t.Cleanup(func() { deleteDittoServers(t, n.name) })

	name := n.applySample("minimal")
	n.waitReady(name)
	if err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "the DittoServer to be gone", func() (bool, string) {
		_, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), errString(err)
	})
	return kubeconfig
}

// operatorRequestsOf counts the requests the operator made as user, and
// fails the test for each one RBAC forbade.
func operatorRequestsOf(t *testing.T, user string) int {
	t.Helper()
	events, err := env.cluster.Audit()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range audit.Filter(events, audit.ByUser(user)) {
		if strings.HasPrefix(ev.UserAgent, operatorUserAgent) {
			n++
			if ev.Forbidden() {
				t.Errorf("RBAC forbade the operator running as %s: %s %s", user, ev.Verb, resourceOf(ev))
			}
		}
	}
	return n
}
