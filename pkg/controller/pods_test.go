package controller

// A server pod that does not come up is visible: the PodsHealthy condition
// carries the kubelet's or the scheduler's own reason and message, each
// problem of each pod gives one Warning, and a pod event requeues its
// DittoServer.

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// serverPod is pod 0 of the fixture's StatefulSet at revision rev, with the
// labels the StatefulSet controller gives it, and the status set by mods.
func (f *fixture) serverPod(rev string, mods ...func(*corev1.Pod)) *corev1.Pod {
	f.t.Helper()
	sts := f.statefulSet()
	labels := resources.Labels(f.dittoServer(), resources.ComponentServer)
	labels[appsv1.ControllerRevisionHashLabelKey] = rev
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: testName + "-0", Namespace: testNamespace, UID: types.UID("pod-" + rev), Labels: labels,
			Annotations: map[string]string{"kubectl.kubernetes.io/default-container": resources.ContainerName},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: sts.Name, UID: sts.UID,
				Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: resources.ContainerName, Image: "example.com/dittofs:bad"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"},
		}},
	}
	for _, mod := range mods {
		mod(pod)
	}
	return pod
}

// putPod creates or replaces the pod in the fake cluster.
func (f *fixture) putPod(pod *corev1.Pod) {
	f.t.Helper()
	if cur, err := f.kube.Get(gvrPods, pod.Namespace, pod.Name); err == nil {
		pod = pod.DeepCopy()
		pod.ResourceVersion = cur.(*corev1.Pod).ResourceVersion
		if err := f.kube.Update(gvrPods, pod, pod.Namespace); err != nil {
			f.t.Fatalf("update pod: %v", err)
		}
		return
	}
	if err := f.kube.Create(gvrPods, pod, pod.Namespace); err != nil {
		f.t.Fatalf("create pod: %v", err)
	}
}

func waiting(reason, message string) func(*corev1.Pod) {
	return func(pod *corev1.Pod) {
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerName, Image: "example.com/dittofs:bad",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

func lastExit(reason string, code int32, message string) func(*corev1.Pod) {
	return func(pod *corev1.Pod) {
		pod.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			Reason: reason, ExitCode: code, Message: message}
	}
}

func running(pod *corev1.Pod) {
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerName,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func ready(pod *corev1.Pod) {
	running(pod)
	pod.Status.ContainerStatuses[0].Ready = true
	pod.Status.Conditions[1] = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

func unschedulable(message string) func(*corev1.Pod) {
	return func(pod *corev1.Pod) {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: message}}
	}
}

// passWith puts the pod, lets the caches catch up and runs one pass.
func (f *fixture) passWith(pod *corev1.Pod) {
	f.t.Helper()
	f.putPod(pod)
	f.catchUp()
	expectErr(f.t, f.sync(), nil)
}

// An image the kubelet cannot pull: PodsHealthy=False with the kubelet's
// reason and message, one Warning for the pod however often the kubelet
// alternates ErrImagePull and ImagePullBackOff, and True once the pod is Ready.
func TestImagePullFailureIsReportedOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")

	const pullMsg = `failed to pull and unpack image "example.com/dittofs:bad": not found`
	f.passWith(f.serverPod("nas-1", waiting("ErrImagePull", pullMsg)))
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Warning PodImagePullFailed pod nas-0 container dittofs: ErrImagePull: "+pullMsg)
	if msg := condition(f.dittoServer(), ConditionReady).Message; msg != "A server pod reports a problem: see PodsHealthy" {
		t.Errorf("Ready message %q, want it to point at PodsHealthy", msg)
	}
	c := condition(f.dittoServer(), ConditionPodsHealthy)
	if c.Status != metav1.ConditionFalse || c.Reason != "ErrImagePull" || c.Message != "pod nas-0 container dittofs: ErrImagePull: "+pullMsg {
		t.Errorf("PodsHealthy = %+v", c)
	}

	f.passWith(f.serverPod("nas-1", waiting("ImagePullBackOff", `Back-off pulling image "example.com/dittofs:bad"`)))
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events())
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=False/ImagePullBackOff")
	f.passWith(f.serverPod("nas-1", waiting("ErrImagePull", pullMsg)))
	expectEvents(t, f.events())
	f.expectQuiet(t)

	f.passWith(f.serverPod("nas-1", ready))
	expectEvents(t, f.events())
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")
	if n := len(f.c.podWarnings.m); n != 0 {
		t.Errorf("%d DittoServers still remembered with pod warnings after the pod became Ready", n)
	}
}

// A crash loop names the last exit and the end of the termination message
// (the server's last log lines). The container running between two
// back-offs is the same problem: no second Warning.
func TestCrashLoopCarriesTheLastExit(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	backOff := "back-off 40s restarting failed container=dittofs pod=nas-0_storage(pod-nas-1)"
	f.passWith(f.serverPod("nas-1", waiting("CrashLoopBackOff", backOff), lastExit("Error", 1, "config: invalid shutdown_timeout\n")))
	want := "pod nas-0 container dittofs: CrashLoopBackOff: " + backOff + "; last exit: Error (exit code 1): config: invalid shutdown_timeout"
	expectEvents(t, f.events(), "Warning PodCrashLooping "+want)
	if c := condition(f.dittoServer(), ConditionPodsHealthy); c.Reason != "CrashLoopBackOff" || c.Message != want {
		t.Errorf("PodsHealthy = %+v, want message %q", c, want)
	}

	f.passWith(f.serverPod("nas-1", running))
	expectEvents(t, f.events())
	f.passWith(f.serverPod("nas-1", waiting("CrashLoopBackOff", backOff), lastExit("Error", 1, "config: invalid shutdown_timeout\n")))
	expectEvents(t, f.events())

	// A long termination message is cut to its end, where the reason is.
	long := strings.Repeat("x", 2000) + " the reason"
	f.passWith(f.serverPod("nas-1", waiting("CrashLoopBackOff", backOff), lastExit("Error", 1, long)))
	if msg := condition(f.dittoServer(), ConditionPodsHealthy).Message; !strings.HasSuffix(msg, "x the reason") || len(msg) > 800 {
		t.Errorf("message of %d bytes: %q…", len(msg), msg[:80])
	}
}

// A pod the scheduler cannot place (here no node matches) carries the
// scheduler's reason and message once its claims are bound and the
// scheduler has failed for unschedulableGrace.
func TestUnschedulablePodCarriesTheSchedulersMessage(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.bindClaims()

	const msg = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available."
	pod := f.serverPod("nas-1", unschedulable(msg))
	pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock.Add(-10 * time.Second))
	f.passWith(pod)
	expectEvents(t, f.events())
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")
	f.clock = f.clock.Add(20 * time.Second)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), "Warning PodUnschedulable pod nas-0: Unschedulable: "+msg)
	if c := condition(f.dittoServer(), ConditionPodsHealthy); c.Reason != "Unschedulable" || c.Message != "pod nas-0: Unschedulable: "+msg {
		t.Errorf("PodsHealthy = %+v", c)
	}
	f.expectQuiet(t)
}

// A pod that waits for its volume claims to be bound only waits for
// storage: a provisioner creating many volumes, or a loaded control plane
// binding them, can take minutes. No Warning and PodsHealthy stays True for
// claimBindGrace; a claim still unbound after that is reported with the
// scheduler's message, and the pod is looked at again when the grace ends.
func TestPodWaitingForItsClaimsIsNotAProblemYet(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	const msg = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available."
	pod := f.serverPod("nas-1", unschedulable(msg))
	pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock)
	f.passWith(pod)
	for _, after := range []time.Duration{time.Minute, 4 * time.Minute} {
		f.clock = t0.Add(after)
		f.catchUp()
		expectErr(t, f.sync(), nil)
		expectEvents(t, f.events())
		expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")
	}

	f.clock = t0.Add(claimBindGrace)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), "Warning PodUnschedulable pod nas-0: Unschedulable: "+msg)
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=False/Unschedulable")
}

// The claims are bound, but the scheduler has not tried the pod again since
// (a busy scheduler retries minutes later): its condition still says it
// waits for unbound claims. That is the same wait, not a problem after
// unschedulableGrace; the scheduler's next attempt decides.
func TestStaleUnboundClaimsConditionIsStillAWait(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.bindClaims()

	const msg = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available."
	pod := f.serverPod("nas-1", unschedulable(msg))
	pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock.Add(-2 * time.Minute))
	f.passWith(pod)
	expectEvents(t, f.events())
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")

	// The scheduler tries again and now finds another reason: that one
	// counts from the condition's transition, long past.
	f.passWith(f.serverPod("nas-1", unschedulable("0/1 nodes are available: 1 Insufficient memory."), func(p *corev1.Pod) {
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock.Add(-2 * time.Minute))
	}))
	expectEvents(t, f.events(), "Warning PodUnschedulable pod nas-0: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.")
}

// With its claims bound, the same pod counts after unschedulableGrace.
func TestPodWithBoundClaimsUsesTheShortGrace(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.bindClaims()
	pod := f.serverPod("nas-1", unschedulable("0/1 nodes are available: 1 Insufficient memory."))
	pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(f.clock)
	f.passWith(pod)
	f.clock = t0.Add(unschedulableGrace)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), "Warning PodUnschedulable pod nas-0: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.")
}

// A restarted operator finds the pod's problem already in the status: no
// second Warning for it. A problem the status does not report yet is still
// announced.
func TestPodProblemIsNotAnnouncedAgainAfterARestart(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.passWith(f.serverPod("nas-1", waiting("ImagePullBackOff", "Back-off")))
	expectEvents(t, f.events(), "Warning PodImagePullFailed pod nas-0 container dittofs: ImagePullBackOff: Back-off")
	f.catchUp()

	// The kubelet alternates the reasons of a pull failure: the same problem.
	pod := f.serverPod("nas-1", waiting("ErrImagePull", "not found"))
	f.putPod(pod)
	withPods := func(f *fixture) []runtime.Object {
		return append(f.clusterObjects(), f.list(f.kube, gvrPods, "Pod")...)
	}
	restarted := newFixture(t, false, withPods(f)...)
	expectErr(t, restarted.sync(), nil)
	if c := condition(restarted.dittoServer(), ConditionPodsHealthy); c.Status != metav1.ConditionFalse {
		t.Fatalf("the restarted operator does not see the pod's problem: %+v", c)
	}
	expectEvents(t, restarted.events())

	// Another problem of the same container, found by the restarted
	// operator's first pass, is news.
	f.putPod(f.serverPod("nas-1", waiting("CreateContainerConfigError", `secret "x" not found`)))
	f = newFixture(t, false, withPods(f)...) // the status still reports the pull failure
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), `Warning PodContainerFailed pod nas-0 container dittofs: CreateContainerConfigError: secret "x" not found`)
}

// A new pod with the same problem is a new problem: one more Warning.
func TestSameProblemOnANewPodWarnsAgain(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.passWith(f.serverPod("nas-1", waiting("ImagePullBackOff", "Back-off")))
	expectEvents(t, f.events(), "Warning PodImagePullFailed pod nas-0 container dittofs: ImagePullBackOff: Back-off")

	if err := f.kube.Delete(gvrPods, testNamespace, "nas-0"); err != nil {
		t.Fatal(err)
	}
	f.passWith(f.serverPod("nas-2", waiting("ImagePullBackOff", "Back-off")))
	expectEvents(t, f.events(), "Warning PodImagePullFailed pod nas-0 container dittofs: ImagePullBackOff: Back-off")
}

// A pod event requeues the DittoServer that controls the pod's StatefulSet,
// checked by UID at each step; other pods requeue nothing.
func TestPodEventsRequeueTheDittoServer(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.queued()

	pod := f.serverPod("nas-1")
	f.c.handlePod(pod)
	expectQueued(t, f.queued(), "storage/nas")

	stale := pod.DeepCopy()
	stale.OwnerReferences[0].UID = "old-statefulset"
	f.c.handlePod(stale)
	orphan := pod.DeepCopy()
	orphan.OwnerReferences = nil
	f.c.handlePod(orphan)
	rs := pod.DeepCopy()
	rs.OwnerReferences[0].Kind = "ReplicaSet"
	f.c.handlePod(rs)
	expectQueued(t, f.queued())
}

// The pod cache keeps what the operator reads and nothing else.
func TestTrimPodKeepsWhatTheOperatorReads(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nas-0", Namespace: "storage", UID: "u", ResourceVersion: "7",
			Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"big": strings.Repeat("x", 1000)},
			OwnerReferences: []metav1.OwnerReference{{Kind: "StatefulSet", Name: "nas", UID: "s", Controller: ptr.To(true)}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "dittofs", Image: "x", Env: []corev1.EnvVar{{Name: "A", Value: "B"}}}}},
		Status: corev1.PodStatus{
			PodIP:      "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "no node"}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "dittofs", Image: "x", ImageID: "sha256:…",
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2, Message: "bad", ContainerID: "c"}}}},
		},
	}
	out, err := caches.TrimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Pod)
	if got.Name != "nas-0" || got.Namespace != "storage" || got.UID != "u" || got.ResourceVersion != "7" ||
		got.Labels["a"] != "b" || len(got.OwnerReferences) != 1 {
		t.Errorf("identity lost: %+v", got.ObjectMeta)
	}
	if got.Annotations != nil || got.ManagedFields != nil || len(got.Spec.Containers) != 0 || got.Status.PodIP != "" {
		t.Errorf("kept what the operator does not read: %+v", got)
	}
	if p, _ := podProblems([]*corev1.Pod{got}, t0, nil); len(p) != 1 || p[0].reason != "Unschedulable" || p[0].message != "no node" {
		t.Errorf("problems of the trimmed pod = %+v", p)
	}
	cs := got.Status.ContainerStatuses[0]
	if cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.LastTerminationState.Terminated.ExitCode != 2 ||
		cs.LastTerminationState.Terminated.Message != "bad" || cs.LastTerminationState.Terminated.ContainerID != "" || cs.ImageID != "" {
		t.Errorf("container status = %+v", cs)
	}
	if pod.Annotations == nil || pod.Status.PodIP == "" {
		t.Error("caches.TrimPod changed its input")
	}
}

// The server's pods are those its StatefulSet controls and its selector
// picks (found through the controller index, whatever the namespace holds):
// a failing pod with the same labels under another controller, or one the
// StatefulSet controls that lost its labels, is not the server's problem.
func TestOnlyTheStatefulSetsPodsCount(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	const pullMsg = "not found"
	stranger := f.serverPod("nas-1", waiting("ErrImagePull", pullMsg), func(p *corev1.Pod) {
		p.Name, p.UID = "stranger-0", "pod-stranger"
		p.OwnerReferences[0].Name, p.OwnerReferences[0].UID = "stranger", "sts-stranger"
	})
	relabelled := f.serverPod("nas-1", waiting("ErrImagePull", pullMsg), func(p *corev1.Pod) {
		p.Name, p.UID = testName+"-1", "pod-relabelled"
		p.Labels = map[string]string{resources.ManagedByLabel: resources.ManagedByValue}
	})
	f.putPod(stranger)
	f.passWith(relabelled)
	expectEvents(t, f.events())
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=True/PodsHealthy")

	f.passWith(f.serverPod("nas-1", waiting("ErrImagePull", pullMsg)))
	expectEvents(t, f.events(), "Warning PodImagePullFailed pod nas-0 container dittofs: ErrImagePull: "+pullMsg)
}
