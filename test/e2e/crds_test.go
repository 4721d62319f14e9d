package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Installed with the DittoServer CRD only, as a `helm upgrade` from a
// release without the DittoShare and DittoUser CRDs leaves it (Helm never
// upgrades crds/): the operator is ready, says once which CRDs its server
// state controller waits for and how to install them (in its log and in
// /readyz), and takes a DittoServer to Ready. Once the CRDs are applied
// with that command, the server state controller starts: a DittoShare and a
// DittoUser get its finalizer and a Ready condition.
func TestMissingShareCRDsHoldBackOnlyTheServerStateController(t *testing.T) {
	missing := []string{"dittoshares.dittofs.dittofs.com", "dittousers.dittofs.dittofs.com"}
	if code := env.stopOperator(); code != 0 {
		t.Fatalf("the suite's operator exited with %d when stopped", code)
	}
	crdsDir := filepath.Join(env.root, "artifacts", "crds")
	t.Cleanup(func() {
		env.stopOperator()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := env.applier.InstallCRDs(ctx, crdsDir); err != nil {
			t.Errorf("re-install the CRDs: %v", err)
		}
		if err := env.startOperator(ctx); err != nil {
			t.Errorf("restart the suite's operator: %v", err)
		}
	})
	for _, name := range missing {
		deleteCRD(t, name)
	}

	// startOperator waits for /readyz to answer 200.
	// No DittoFS server runs behind the sample: the operator reaches for it
	// by its Service name, as in a pod, not through a port-forward (which
	// the in-cluster install does not grant).
	if err := env.startOperator(t.Context(), "--manage-server-state=true", "--server-access=service"); err != nil {
		t.Fatal(err)
	}
	waitsFor := "waiting for CRDs " + strings.Join(missing, ", ") + " (install them: " + crdwatch.InstallCRDsCommand + ")"
	code, body := readyz(t)
	if code != 200 || !strings.Contains(body, controller.ControllerName+": ready") ||
		!strings.Contains(body, serverstate.ControllerName+": "+waitsFor) {
		t.Errorf("/readyz with the DittoShare and DittoUser CRDs missing = %d %q, want 200 naming what the server state controller waits for", code, body)
	}

	n := newNamespace(t, nil)
	sample := readSample(t, "shares")
	var later []*unstructured.Unstructured // the DittoUser and DittoShare, once their CRDs exist
	for _, o := range sample {
		switch o.GetKind() {
		case "DittoShare", "DittoUser":
			later = append(later, o)
		default:
			n.create(o)
		}
	}
	name := sampleDittoServer(t, sample).GetName()
	n.waitReady(name)

	eventually(t, waitShort, "the operator says it waits for CRDs", func() (bool, string) {
		return strings.Contains(operatorLogs(), "Waiting for CRDs to be installed"), "not yet"
	})
	// The backup controller waits for its own CRDs too; this counts the
	// server state controller's lines.
	waits := 0
	for _, line := range strings.Split(operatorLogs(), "\n") {
		if strings.Contains(line, "Waiting for CRDs to be installed") && strings.Contains(line, serverstate.ControllerName) {
			waits++
		}
	}
	if waits != 1 {
		t.Errorf("the server state controller said %d times that it waits for CRDs, want once:\n%s", waits, operatorLogs())
	}
	if logs := operatorLogs(); !strings.Contains(logs, crdwatch.InstallCRDsCommand) || !strings.Contains(logs, missing[0]) {
		t.Errorf("the operator's log does not name the missing CRD and the command that installs it:\n%s", logs)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := kubectl(ctx, "apply", "--server-side", "-f", crdsDir).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side -f %s: %v\n%s", crdsDir, err, out)
	}
	if out, err := kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+missing[0], "crd/"+missing[1]).CombinedOutput(); err != nil {
		t.Fatalf("kubectl wait for the CRDs: %v\n%s", err, out)
	}
	n.create(later...)
	for _, o := range later {
		gvr := gvrOf(t, o)
		eventually(t, waitShort, fmt.Sprintf("%s %s has the server state controller's finalizer and a Ready condition", o.GetKind(), o.GetName()),
			func() (bool, string) {
				got, err := env.dyn.Resource(gvr).Namespace(n.name).Get(t.Context(), o.GetName(), metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				conditions, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
				ready := slices.ContainsFunc(conditions, func(c interface{}) bool {
					m, _ := c.(map[string]interface{})
					return m["type"] == serverstate.ConditionReady
				})
				return ready && slices.Contains(got.GetFinalizers(), serverstate.Finalizer),
					fmt.Sprintf("finalizers %v conditions %v", got.GetFinalizers(), conditions)
			})
	}
	eventually(t, waitShort, "/readyz says the server state controller is ready", func() (bool, string) {
		code, body := readyz(t)
		return code == 200 && strings.Contains(body, serverstate.ControllerName+": ready"), fmt.Sprintf("%d %q", code, body)
	})
	if !strings.Contains(operatorLogs(), "CRDs installed; starting the controller") {
		t.Errorf("the operator did not say that the server state controller starts:\n%s", operatorLogs())
	}
}

// deleteCRD deletes a CRD and waits until it is gone.
func deleteCRD(t *testing.T, name string) {
	t.Helper()
	err := env.dyn.Resource(crdGVR).Delete(t.Context(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete CRD %s: %v", name, err)
	}
	eventually(t, waitShort, "CRD "+name+" gone", func() (bool, string) {
		_, err := env.dyn.Resource(crdGVR).Get(t.Context(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// readyz fetches the running operator's /readyz.
func readyz(t *testing.T) (int, string) {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.op == nil {
		t.Fatal("the operator is not running")
	}
	code, body, err := env.op.Get("/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	return code, body
}

// operatorLogs is the running operator's recent output.
func operatorLogs() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.op == nil {
		return ""
	}
	return env.op.Logs()
}
