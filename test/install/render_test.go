// Package install checks the install manifests as kustomize renders them
// (artifacts/deploy, artifacts/namespaced) and keeps docs/install.md true to
// them. It runs the kubectl of the local control plane (built and cached by
// hack/build-control-plane.sh) and needs no cluster.
package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// root is the repository root, found from the working directory.
var root = func() string {
	r, err := localcluster.RepoRoot()
	if err != nil {
		panic(err)
	}
	return r
}()

// kubectlPath returns the cached kubectl, building the control plane's
// binaries first when they are missing.
func kubectlPath(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	b, err := localcluster.EnsureBinaries(ctx, localcluster.Binaries{}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return b.Kubectl
}

// rendered is what `kubectl kustomize` makes of a directory.
type rendered struct {
	t    *testing.T
	objs []*unstructured.Unstructured
}

func render(t *testing.T, dir string) *rendered {
	t.Helper()
	out, err := exec.Command(kubectlPath(t), "kustomize", dir).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
	}
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := operator.ReadObjects(path)
	if err != nil {
		t.Fatal(err)
	}
	return &rendered{t: t, objs: objs}
}

// all returns the objects of a kind.
func (r *rendered) all(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// get returns the one object of a kind and name, converted into out.
func (r *rendered) get(kind, name string, out any) bool {
	r.t.Helper()
	for _, o := range r.all(kind) {
		if o.GetName() != name {
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
			r.t.Fatalf("%s %s: %v", kind, name, err)
		}
		return true
	}
	return false
}

func (r *rendered) deployment() *appsv1.Deployment {
	r.t.Helper()
	deps := r.all("Deployment")
	if len(deps) != 1 {
		r.t.Fatalf("%d Deployments rendered, want 1", len(deps))
	}
	var d appsv1.Deployment
	if !r.get("Deployment", deps[0].GetName(), &d) {
		r.t.Fatal("no Deployment")
	}
	return &d
}

func (r *rendered) clusterRoles() []rbacv1.ClusterRole {
	var out []rbacv1.ClusterRole
	for _, o := range r.all("ClusterRole") {
		var cr rbacv1.ClusterRole
		r.get("ClusterRole", o.GetName(), &cr)
		out = append(out, cr)
	}
	return out
}
