package controller

import (
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The server's pods, as far as the operator reads them: what the kubelet and
// the scheduler say about a pod that does not come up. A bad image, a crash
// loop or a pod that cannot be scheduled shows in the PodsHealthy condition
// with the kubelet's or the scheduler's own reason and message, and in one
// Warning event per problem and pod.

// podProblem is one reason a server pod does not run.
type podProblem struct {
	pod       string
	podUID    types.UID
	container string // "" for a pod-level problem (scheduling)
	// event is the operator's name for the kind of problem, the reason of
	// its Warning event (ReasonPodImagePullFailed…).
	event string
	// reason and message are the kubelet's or the scheduler's.
	reason, message string
}

// key identifies the problem for its one Warning: the kubelet alternates
// ErrImagePull and ImagePullBackOff, and a crash-looping container runs
// between back-offs, but it is one problem of one pod.
func (p podProblem) key() string { return string(p.podUID) + "/" + p.container + "/" + p.event }

func (p podProblem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.where(), p.reason, p.message)
}

// where names the pod (and container) with the problem, as String begins.
func (p podProblem) where() string {
	if p.container != "" {
		return "pod " + p.pod + " container " + p.container
	}
	return "pod " + p.pod
}

// imagePullReasons are the kubelet's reasons for a container whose image
// it cannot get; containerStartReasons for one it cannot create or start.
var (
	imagePullReasons      = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
	containerStartReasons = []string{"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)

// unschedulableGrace is how long the scheduler must have failed to place a
// pod whose volume claims are all bound before it counts as a problem.
const unschedulableGrace = 30 * time.Second

// claimBindGrace replaces unschedulableGrace while the pod waits for its
// volume claims: one of them is not bound yet, or the scheduler's last
// attempt found one unbound (unboundClaimsMessage) and it has not tried
// again since the claim was bound (a busy scheduler retries such a pod
// minutes later). Storage that a provisioner creating many volumes at once,
// or a loaded control plane binding them, takes minutes to deliver is no
// news; a pod still waiting after this long is worth a look.
const claimBindGrace = 5 * time.Minute

// unboundClaimsMessage is what the scheduler's volume binding says of a pod
// whose claims are not bound yet.
const unboundClaimsMessage = "unbound immediate PersistentVolumeClaims"

// podProblems lists what keeps pods from running at now, in pod and
// container order, and how soon a pod that is not a problem yet (an
// unschedulable one within its grace) should be looked at again (0: none).
// claimsUnbound tells whether one of a pod's volume claims is not bound yet
// (nil: all are). A pod being deleted is skipped: its successor is what counts.
func podProblems(pods []*corev1.Pod, now time.Time, claimsUnbound func(*corev1.Pod) bool) (out []podProblem, recheck time.Duration) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			grace := unschedulableGrace
			if strings.Contains(c.Message, unboundClaimsMessage) || (claimsUnbound != nil && claimsUnbound(pod)) {
				grace = claimBindGrace
			}
			if wait := c.LastTransitionTime.Add(grace).Sub(now); wait > 0 {
				if recheck == 0 || wait < recheck {
					recheck = wait
				}
				continue
			}
			// The scheduler's message names what is missing: nodes that
			// match, resources, or a volume claim that cannot be bound.
			out = append(out, podProblem{pod: pod.Name, podUID: pod.UID, event: ReasonPodUnschedulable, reason: c.Reason, message: c.Message})
			continue
		}
		for _, cs := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses) {
			if p, ok := containerProblem(cs); ok {
				p.pod, p.podUID, p.container = pod.Name, pod.UID, cs.Name
				out = append(out, p)
			}
		}
	}
	return out, recheck
}

func containerProblem(cs corev1.ContainerStatus) (podProblem, bool) {
	w := cs.State.Waiting
	if w == nil {
		return podProblem{}, false
	}
	switch {
	case slices.Contains(imagePullReasons, w.Reason):
		return podProblem{event: ReasonPodImagePullFailed, reason: w.Reason, message: w.Message}, true
	case w.Reason == "CrashLoopBackOff":
		msg := w.Message
		if t := cs.LastTerminationState.Terminated; t != nil {
			msg += fmt.Sprintf("; last exit: %s (exit code %d)", t.Reason, t.ExitCode)
			if m := strings.TrimSpace(t.Message); m != "" {
				msg += ": " + caches.Tail(m, caches.MaxTerminationMessage)
			}
		}
		return podProblem{event: ReasonPodCrashLooping, reason: w.Reason, message: msg}, true
	case slices.Contains(containerStartReasons, w.Reason):
		return podProblem{event: ReasonPodContainerFailed, reason: w.Reason, message: w.Message}, true
	}
	return podProblem{}, false
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func podReady(pod *corev1.Pod) bool {
	c := podCondition(pod, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// serverPods are the cached pods of the server's StatefulSet, by name.
func (c *Controller) serverPods(ds *dittov1alpha1.DittoServer, sts *appsv1.StatefulSet) []*corev1.Pod {
	if sts == nil {
		return nil
	}
	// By the controller index, not a List of the namespace: a pass costs the
	// same however many servers share the namespace.
	owned, err := c.podIndexer.ByIndex(podControllerIndex, string(sts.UID))
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("list pods of DittoServer %s/%s: %w", ds.Namespace, ds.Name, err))
		return nil
	}
	selector := labels.SelectorFromSet(resources.SelectorLabels(ds))
	var pods []*corev1.Pod
	for _, obj := range owned {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Namespace == ds.Namespace && selector.Matches(labels.Set(pod.Labels)) {
			pods = append(pods, pod)
		}
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods
}

// observePods reads the server's pods into obs and warns once about each
// new problem. It writes nothing to the cluster, so it runs while paused too.
func (c *Controller) observePods(ds *dittov1alpha1.DittoServer, obs *observation) {
	obs.pods = c.serverPods(ds, obs.sts)
	var recheck time.Duration
	obs.podProblems, recheck = podProblems(obs.pods, c.now(), func(pod *corev1.Pod) bool { return c.claimsUnbound(obs.sts, pod) })
	if recheck > 0 {
		c.queue.AddAfter(cache.MetaObjectToName(ds), recheck)
	}
	var reported string // what the status already says of the pods' problems
	if cond := meta.FindStatusCondition(ds.Status.Conditions, ConditionPodsHealthy); cond != nil && cond.Status == metav1.ConditionFalse {
		reported = cond.Message
	}
	for _, p := range c.podWarnings.fresh(cache.MetaObjectToName(ds), obs.podProblems, obs.pods, reported) {
		c.recorder.Event(ds, corev1.EventTypeWarning, p.event, p.String())
	}
}

// claimsUnbound tells whether one of the volume claims the StatefulSet's
// templates give pod (<template>-<pod>) is missing from the cache or not
// Bound yet: the StatefulSet controller creates them just before the pod,
// and the binder or a provisioner binds them after.
func (c *Controller) claimsUnbound(sts *appsv1.StatefulSet, pod *corev1.Pod) bool {
	if sts == nil {
		return false
	}
	for _, t := range sts.Spec.VolumeClaimTemplates {
		pvc, err := c.pvcLister.PersistentVolumeClaims(pod.Namespace).Get(t.Name + "-" + pod.Name)
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return true
		}
	}
	return false
}

// setPodsHealthy sets the PodsHealthy condition once the server has a
// StatefulSet: False with the first problem's own reason and every problem
// in the message, True otherwise.
func setPodsHealthy(st *dittov1alpha1.DittoServerStatus, obs observation, generation int64, now metav1.Time) {
	if obs.sts == nil {
		return
	}
	c := metav1.Condition{Type: ConditionPodsHealthy, Status: metav1.ConditionTrue, Reason: ReasonPodsHealthy,
		Message: "No server pod reports a problem", ObservedGeneration: generation, LastTransitionTime: now}
	if len(obs.podProblems) > 0 {
		msgs := make([]string, 0, len(obs.podProblems))
		for _, p := range obs.podProblems {
			msgs = append(msgs, p.String())
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, obs.podProblems[0].reason, strings.Join(msgs, "; ")
	}
	meta.SetStatusCondition(&st.Conditions, c)
}

// handlePod requeues the DittoServer of a pod: the pod's controller is a
// StatefulSet (checked by UID against the cache), whose controller is the
// DittoServer.
func (c *Controller) handlePod(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(m)
	if ref == nil || ref.Kind != "StatefulSet" || ref.APIVersion != appsv1.SchemeGroupVersion.String() {
		return
	}
	sts, err := c.stsLister.StatefulSets(m.GetNamespace()).Get(ref.Name)
	if err != nil || sts.UID != ref.UID {
		return
	}
	c.handleOwnedObject(sts)
}

func (c *Controller) registerPodHandler(pods cache.SharedIndexInformer) error {
	if err := pods.AddIndexers(cache.Indexers{podControllerIndex: indexByController}); err != nil {
		return fmt.Errorf("add Pod index: %w", err)
	}
	c.podIndexer = pods.GetIndexer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.handlePod,
		UpdateFunc: func(oldObj, newObj interface{}) {
			if !caches.Unchanged(oldObj, newObj) {
				c.handlePod(newObj)
			}
		},
		DeleteFunc: c.handlePod,
	}); err != nil {
		return fmt.Errorf("add Pod handler: %w", err)
	}
	return nil
}

// podControllerIndex indexes pods by the UID of their controller (the
// StatefulSet).
const podControllerIndex = "byController"

func indexByController(obj interface{}) ([]string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}
