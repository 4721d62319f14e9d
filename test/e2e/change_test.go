package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// A spec edit that changes the server's configuration rolls the pod once,
// with one ConfigUpdated event; an edit the pod does not see rolls nothing.
func TestChangeConfigRollsPodOnce(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("minimal")
	before := n.waitReady(name)
	pod := n.runningPod(name + "-0")
	if got := n.statefulSet(name).Spec.Template.Annotations[resources.ConfigHashAnnotation]; got != before.Status.ConfigHash {
		t.Fatalf("pod template hash %q, status.configHash %q", got, before.Status.ConfigHash)
	}

	n.patchDS(name, `{"spec":{"shutdownTimeout":"45s"}}`)
	after := n.waitDS(name, "a new config hash, Ready on the new generation", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		ok := ds.Status.ConfigHash != before.Status.ConfigHash && ds.Status.ObservedGeneration == ds.Generation &&
			hasCondition(ds, controller.ConditionReady, metav1.ConditionTrue, "")
		return ok, statusSummary(ds)
	})
	n.waitPodReplaced(name+"-0", pod.UID)
	if got := n.statefulSet(name).Spec.Template.Annotations[resources.ConfigHashAnnotation]; got != after.Status.ConfigHash {
		t.Errorf("pod template hash %q, want status.configHash %q", got, after.Status.ConfigHash)
	}
	if cfg := n.configYAML(name); !strings.Contains(cfg, "shutdown_timeout: 45s") {
		t.Errorf("config.yaml does not carry the new shutdown timeout:\n%s", cfg)
	}
	n.assertConfigUpdatedOnce(after)
	rolled := n.waitReady(name)
	pod = n.runningPod(name + "-0")
	stsGeneration := n.statefulSet(name).Generation

	// Invisible to the pod: a label on the DittoServer, an annotation of the
	// file Service, and the liveness delay and the grace period set
	// explicitly to the values the operator defaults them to (5 + 3 × 45 + 10).
	n.patchDS(name, `{"metadata":{"labels":{"team":"storage"}},"spec":{`+
		`"probes":{"liveness":{"initialDelaySeconds":15}},"terminationGracePeriodSeconds":150,`+
		`"service":{"annotations":{"example.com/team":"storage"}}}}`)
	n.waitDS(name, "the edit observed", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return ds.Generation > rolled.Generation && ds.Status.ObservedGeneration == ds.Generation, statusSummary(ds)
	})
	eventually(t, waitShort, "the file Service annotated", func() (bool, string) {
		svc, err := env.kube.CoreV1().Services(n.name).Get(t.Context(), name+"-file", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return svc.Annotations["example.com/team"] == "storage", fmt.Sprint(svc.Annotations)
	})
	consistently(t, resyncPeriod+5*time.Second, "no rollout after an edit the pod does not see", func() (bool, string) {
		ds := n.ds(name)
		if ds.Status.ConfigHash != after.Status.ConfigHash {
			return false, "config hash changed: " + statusSummary(ds)
		}
		if g := n.statefulSet(name).Generation; g != stsGeneration {
			return false, fmt.Sprintf("StatefulSet generation %d → %d", stsGeneration, g)
		}
		if p := n.pod(name + "-0"); p.UID != pod.UID {
			return false, "pod replaced"
		}
		if c := countEvents(n.events(ds.UID), controller.ReasonConfigUpdated); c != 1 {
			return false, fmt.Sprintf("%d ConfigUpdated events", c)
		}
		return true, ""
	})
}

// A change to the data of a Secret the pod reads rolls the pod, although the
// rendered configuration stays the same.
func TestChangeReferencedSecretRollsPod(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("user-secrets")
	before := n.waitReady(name)
	pod := n.runningPod(name + "-0")
	cm, err := env.kube.CoreV1().ConfigMaps(n.name).Get(t.Context(), name+"-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	secret, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), "dittofs-identity", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data["admin-password"] = []byte("a-new-initial-password")
	if _, err := env.kube.CoreV1().Secrets(n.name).Update(t.Context(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	after := n.waitDS(name, "a new config hash, Ready", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		ok := ds.Status.ConfigHash != before.Status.ConfigHash && hasCondition(ds, controller.ConditionReady, metav1.ConditionTrue, "")
		return ok, statusSummary(ds)
	})
	n.waitPodReplaced(name+"-0", pod.UID)
	n.assertConfigUpdatedOnce(after)
	n.waitReady(name)
	if cm2, err := env.kube.CoreV1().ConfigMaps(n.name).Get(t.Context(), name+"-config", metav1.GetOptions{}); err != nil || cm2.ResourceVersion != cm.ResourceVersion {
		t.Errorf("ConfigMap rewritten (resourceVersion %s → %v, %v): only the Secret changed", cm.ResourceVersion, cm2.GetResourceVersion(), err)
	}
}

func (n *testNS) patchDS(name, patch string) {
	n.t.Helper()
	_, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Patch(n.t.Context(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		n.t.Fatalf("patch DittoServer %s with %s: %v", name, patch, err)
	}
}

func (n *testNS) configYAML(name string) string {
	n.t.Helper()
	cm, err := env.kube.CoreV1().ConfigMaps(n.name).Get(n.t.Context(), name+"-config", metav1.GetOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	return cm.Data["config.yaml"]
}

// runningPod waits until the pod is Running and Ready on the kwok node.
func (n *testNS) runningPod(name string) *corev1.Pod {
	n.t.Helper()
	var pod *corev1.Pod
	eventually(n.t, waitLong, "pod "+name+" Running and Ready", func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		return podRunning(p), fmt.Sprintf("phase %s node %q", p.Status.Phase, p.Spec.NodeName)
	})
	return pod
}

// waitPodReplaced waits for a new pod (another UID) of that name, Running.
func (n *testNS) waitPodReplaced(name string, old types.UID) {
	n.t.Helper()
	eventually(n.t, waitLong, "pod "+name+" replaced by the StatefulSet controller", func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.UID != old && podRunning(p), fmt.Sprintf("uid %s phase %s", p.UID, p.Status.Phase)
	})
}

// assertConfigUpdatedOnce checks, over a resync period, that the rollout to
// ds's hash produced exactly one ConfigUpdated event naming that hash.
func (n *testNS) assertConfigUpdatedOnce(ds *dittov1alpha1.DittoServer) {
	n.t.Helper()
	evs := n.waitEvents(ds.UID, controller.ReasonConfigUpdated, 1)
	want := fmt.Sprintf("Configuration updated, pods will restart (hash: %s)", shortHash(ds.Status.ConfigHash))
	found := false
	for _, e := range evs {
		found = found || (e.Reason == controller.ReasonConfigUpdated && e.Message == want && e.Type == "Normal")
	}
	if !found {
		n.t.Errorf("no Normal ConfigUpdated event %q; events: %s", want, eventSummary(evs))
	}
	consistently(n.t, resyncPeriod+5*time.Second, "a single ConfigUpdated event", func() (bool, string) {
		evs := n.events(ds.UID)
		return countEvents(evs, controller.ReasonConfigUpdated) == 1, eventSummary(evs)
	})
}
