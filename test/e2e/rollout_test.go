package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// badImage is an image no registry has. kwok pulls nothing: the test plays
// the kubelet and reports the pull failure on the pod's status.
const badImage = "registry.invalid/dittofs:does-not-exist"

// A bad image shows in PodsHealthy with the kubelet's reason and message and
// one Warning; reverting the spec brings the server back on the real
// StatefulSet controller, with nobody deleting the stuck pod.
func TestBadImageIsVisibleAndRevertRecovers(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("minimal")
	good := n.waitReady(name)
	if p := n.statefulSet(name).Spec.PodManagementPolicy; p != appsv1.ParallelPodManagement {
		t.Fatalf("pod management policy %s, want Parallel", p)
	}
	first := n.runningPod(name + "-0")

	n.patchDS(name, fmt.Sprintf(`{"spec":{"image":%q}}`, badImage))
	stuck := n.podWithImage(name+"-0", badImage, first.UID)
	pullMsg := fmt.Sprintf(`failed to pull and unpack image %q: not found`, badImage)
	n.playKubelet(stuck, "ErrImagePull", pullMsg)
	ds := n.waitDS(name, "PodsHealthy=False/ErrImagePull with the kubelet's message", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		c := meta.FindStatusCondition(ds.Status.Conditions, controller.ConditionPodsHealthy)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "ErrImagePull" && strings.Contains(c.Message, pullMsg), statusSummary(ds)
	})
	// The kubelet backs off and alternates its reason: still one problem.
	n.playKubelet(stuck, "ImagePullBackOff", fmt.Sprintf(`Back-off pulling image %q`, badImage))
	n.waitDS(name, "PodsHealthy=False/ImagePullBackOff", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionPodsHealthy, metav1.ConditionFalse, "ImagePullBackOff"), statusSummary(ds)
	})
	if out := n.kubectl("get", "ditto", name, "-o", "jsonpath={.status.conditions[?(@.type==\"PodsHealthy\")].reason}"); out != "ImagePullBackOff" {
		t.Errorf("kubectl shows PodsHealthy reason %q", out)
	}
	consistently(t, resyncPeriod+5*time.Second, "one PodImagePullFailed Warning", func() (bool, string) {
		evs := n.events(ds.UID)
		return warningsFor(evs, controller.ReasonPodImagePullFailed) == 1, eventSummary(evs)
	})

	// Revert. Under OrderedReady the StatefulSet controller would wait for
	// the stuck pod to become Ready, forever.
	n.patchDS(name, fmt.Sprintf(`{"spec":{"image":%q}}`, good.Spec.Image))
	n.waitPodReplaced(name+"-0", stuck.UID)
	if img := n.pod(name + "-0").Spec.Containers[0].Image; img != good.Spec.Image {
		t.Errorf("replacement runs %s, want %s", img, good.Spec.Image)
	}
	n.waitDS(name, "Ready, PodsHealthy=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return ds.Status.ObservedGeneration == ds.Generation && hasCondition(ds, controller.ConditionReady, metav1.ConditionTrue, "") &&
			hasCondition(ds, controller.ConditionPodsHealthy, metav1.ConditionTrue, controller.ReasonPodsHealthy), statusSummary(ds)
	})
	for _, e := range operatorWrites(t, good.CreationTimestamp.Time) {
		if e.Resource == "pods" {
			t.Errorf("the operator wrote a pod: %s %s/%s", e.Verb, e.Namespace, e.Name)
		}
	}
}

// spec.paused holds the children: an edit made while paused reaches no
// object, the status says Paused, and resuming applies the edit.
func TestPausedHoldsEditsUntilResumed(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("minimal")
	before := n.waitReady(name)
	pod := n.runningPod(name + "-0")
	sts := n.statefulSet(name)

	n.patchDS(name, `{"spec":{"paused":true}}`)
	paused := n.waitDS(name, "Paused=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionPaused, metav1.ConditionTrue, controller.ReasonPaused), statusSummary(ds)
	})
	since := time.Now()
	n.patchDS(name, `{"spec":{"shutdownTimeout":"45s"}}`)
	n.waitDS(name, "the edit seen while paused", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		c := meta.FindStatusCondition(ds.Status.Conditions, controller.ConditionPaused)
		return ds.Generation > paused.Generation && c != nil && c.ObservedGeneration == ds.Generation, statusSummary(ds)
	})
	consistently(t, resyncPeriod+5*time.Second, "no child written while paused", func() (bool, string) {
		if strings.Contains(n.configYAML(name), "45s") {
			return false, "config.yaml changed"
		}
		if g := n.statefulSet(name).Generation; g != sts.Generation {
			return false, fmt.Sprintf("StatefulSet generation %d → %d", sts.Generation, g)
		}
		if p := n.pod(name + "-0"); p.UID != pod.UID {
			return false, "pod replaced"
		}
		for _, e := range operatorWrites(t, since) {
			if e.Resource != "events" && !(e.Resource == "dittoservers" && e.Subresource == "status") {
				return false, "operator wrote " + auditSummary([]localcluster.AuditEvent{e})
			}
		}
		return true, ""
	})
	if out := n.kubectl("get", "ditto", name, "-o", "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}"); out != controller.ReasonPaused {
		t.Errorf("Progressing reason %q, want Paused", out)
	}

	n.patchDS(name, `{"spec":{"paused":false}}`)
	n.waitPodReplaced(name+"-0", pod.UID)
	after := n.waitDS(name, "Ready on the resumed spec, Paused gone", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return ds.Status.ObservedGeneration == ds.Generation && ds.Status.ConfigHash != before.Status.ConfigHash &&
			meta.FindStatusCondition(ds.Status.Conditions, controller.ConditionPaused) == nil &&
			hasCondition(ds, controller.ConditionReady, metav1.ConditionTrue, ""), statusSummary(ds)
	})
	if !strings.Contains(n.configYAML(name), "shutdown_timeout: 45s") {
		t.Error("config.yaml does not carry the edit made while paused")
	}
	evs := n.events(after.UID)
	for _, reason := range []string{controller.ReasonPaused, controller.ReasonResumed} {
		if c := countEvents(evs, reason); c != 1 {
			t.Errorf("%d %s events, want 1: %s", c, reason, eventSummary(evs))
		}
	}
}

// podWithImage waits for the StatefulSet controller's pod running image (not
// the pod old), Running on kwok.
func (n *testNS) podWithImage(name, image string, old types.UID) *corev1.Pod {
	n.t.Helper()
	var pod *corev1.Pod
	eventually(n.t, waitLong, "pod "+name+" with image "+image, func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		return p.UID != old && p.Spec.Containers[0].Image == image && podRunning(p), fmt.Sprintf("uid %s image %s phase %s", p.UID, p.Spec.Containers[0].Image, p.Status.Phase)
	})
	return pod
}

// playKubelet reports on the pod's status what a kubelet that cannot pull
// its image reports: the container waiting with reason and message, the pod
// not Ready. The phase stays Running, which no kwok stage acts on, so the
// report stays as written.
func (n *testNS) playKubelet(pod *corev1.Pod, reason, message string) {
	n.t.Helper()
	eventually(n.t, waitShort, "pod status "+reason+" written", func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(n.t.Context(), pod.Name, metav1.GetOptions{})
		if err != nil || p.UID != pod.UID {
			return false, fmt.Sprintf("pod: %v", err)
		}
		for i := range p.Status.Conditions {
			if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
				c.Status, c.Reason = corev1.ConditionFalse, "ContainersNotReady"
			}
		}
		for i := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[i]
			cs.Ready, cs.Started = false, nil
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
		}
		if _, err := env.kube.CoreV1().Pods(n.name).UpdateStatus(n.t.Context(), p, metav1.UpdateOptions{}); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// warningsFor counts the Warnings with reason, repeats included.
func warningsFor(evs []corev1.Event, reason string) int {
	n := 0
	for _, e := range evs {
		if e.Type == corev1.EventTypeWarning && e.Reason == reason {
			n += max(int(e.Count), 1)
		}
	}
	return n
}
