package caches

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Transforms that shrink what the informers cache to what the operator
// reads. A cache holds one copy of every child of every DittoServer, so each
// field dropped here is saved as many times as there are servers
// (docs/benchmarks.md). Each transform lists what it keeps; anything else is
// never read from the cache (the readers are named beside each field).

// DigestPrefix marks a ConfigMap value the cache holds as its digest.
const DigestPrefix = "sha256:"

// DigestConfigMap keeps a ConfigMap's metadata and replaces each data value
// with its SHA-256 digest: the only reader of a cached ConfigMap's data is
// the ConfigMap writer's inSync, which compares digests (DataDigests). Binary
// data is dropped: nothing reads it (the operator writes none).
func DigestConfigMap(obj interface{}) (interface{}, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return obj, nil
	}
	cm.ManagedFields = nil
	cm.Data = DataDigests(cm.Data)
	cm.BinaryData = nil
	return cm, nil
}

// DataDigests maps each value of data to its digest. A value that already is
// a digest (from the cache) is kept, so that a cached and a live ConfigMap
// compare alike; the operator's own values (config.yaml) never look like one.
func DataDigests(data map[string]string) map[string]string {
	if data == nil {
		return nil
	}
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = valueDigest(v)
	}
	return out
}

func valueDigest(v string) string {
	if isDigest(v) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return DigestPrefix + hex.EncodeToString(sum[:])
}

func isDigest(v string) bool {
	if len(v) != len(DigestPrefix)+sha256.Size*2 || !strings.HasPrefix(v, DigestPrefix) {
		return false
	}
	_, err := hex.DecodeString(v[len(DigestPrefix):])
	return err == nil
}

// TrimClaim keeps what the operator reads of a server's volume claim:
//   - name, namespace, UID, resourceVersion (the read-your-writes check and
//     the patch that grows the claim), labels (handleClaim maps a claim to
//     its DittoServer), owner references and deletion timestamp (claimSizes
//     skips a claim being deleted);
//   - spec.resources and spec.storageClassName (requestOf, expansionClass);
//   - status.phase (claimsUnbound: a pod waiting for its claims to be bound),
//     status.capacity and status.conditions' type, status, reason and
//     message (resizeProgress).
//
// Annotations, finalizers, access modes, volume mode and name, data sources,
// selectors and the rest of the status are dropped.
func TrimClaim(obj interface{}) (interface{}, error) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.PersistentVolumeClaim{
		TypeMeta:   pvc.TypeMeta,
		ObjectMeta: trimmedMeta(&pvc.ObjectMeta),
		Spec: corev1.PersistentVolumeClaimSpec{
			Resources:        pvc.Spec.Resources,
			StorageClassName: pvc.Spec.StorageClassName,
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: pvc.Status.Phase, Capacity: pvc.Status.Capacity},
	}
	if len(pvc.Status.Conditions) > 0 {
		trimmed.Status.Conditions = make([]corev1.PersistentVolumeClaimCondition, 0, len(pvc.Status.Conditions))
		for _, c := range pvc.Status.Conditions {
			trimmed.Status.Conditions = append(trimmed.Status.Conditions, corev1.PersistentVolumeClaimCondition{
				Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
		}
	}
	return trimmed, nil
}

// trimmedMeta is the metadata a trimmed cached child keeps: its identity,
// resourceVersion (the read-your-writes check and guarded writes), labels
// (the handlers map it to its DittoServer), owner references and deletion
// timestamp.
func trimmedMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Labels: m.Labels, OwnerReferences: m.OwnerReferences, DeletionTimestamp: m.DeletionTimestamp}
}

// DropManagedFields drops managed fields from cached objects: the operator
// never reads them, and an update that omits them leaves them unchanged on
// the server. They are a large part of every cached StatefulSet and Service.
func DropManagedFields(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// StripMetadata drops managed fields and annotations from cached Secret
// metadata: the operator needs names, owners and resourceVersions only.
func StripMetadata(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	return obj, nil
}

// TrimPod is the pod informer's transform: it keeps only what the operator
// reads (identity, labels, owners, deletion, conditions and the containers'
// states) so that a cached pod costs little memory.
func TrimPod(obj interface{}) (interface{}, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: trimmedMeta(&pod.ObjectMeta),
		Status: corev1.PodStatus{
			Conditions:            make([]corev1.PodCondition, 0, len(pod.Status.Conditions)),
			InitContainerStatuses: trimContainerStatuses(pod.Status.InitContainerStatuses),
			ContainerStatuses:     trimContainerStatuses(pod.Status.ContainerStatuses),
		},
	}
	for _, c := range pod.Status.Conditions {
		trimmed.Status.Conditions = append(trimmed.Status.Conditions,
			corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime})
	}
	return trimmed, nil
}

func trimContainerStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if in == nil {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(in))
	for _, cs := range in {
		t := corev1.ContainerStatus{Name: cs.Name, Ready: cs.Ready, Image: cs.Image, RestartCount: cs.RestartCount}
		if w := cs.State.Waiting; w != nil {
			t.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
		if cs.State.Running != nil {
			t.State.Running = &corev1.ContainerStateRunning{}
		}
		t.State.Terminated = trimTerminated(cs.State.Terminated)
		t.LastTerminationState.Terminated = trimTerminated(cs.LastTerminationState.Terminated)
		out = append(out, t)
	}
	return out
}

func trimTerminated(t *corev1.ContainerStateTerminated) *corev1.ContainerStateTerminated {
	if t == nil {
		return nil
	}
	return &corev1.ContainerStateTerminated{Reason: t.Reason, ExitCode: t.ExitCode, Message: Tail(t.Message, MaxTerminationMessage)}
}

// MaxTerminationMessage bounds the part of a crashed container's
// termination message (its last log lines) that the cache keeps and the
// status repeats.
const MaxTerminationMessage = 512

// Tail keeps the last n bytes of s: a server that exits says why last.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Unchanged tells an informer resync apart from a real change: the same
// resourceVersion (tombstones unwrapped).
func Unchanged(oldObj, newObj interface{}) bool {
	o, ok1 := metaOf(oldObj)
	n, ok2 := metaOf(newObj)
	return ok1 && ok2 && o.GetResourceVersion() == n.GetResourceVersion()
}

func metaOf(obj interface{}) (metav1.Object, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(metav1.Object)
	return m, ok
}
