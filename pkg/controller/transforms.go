package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Transforms that shrink what the informers cache to what the operator
// reads. A cache holds one copy of every child of every DittoServer, so each
// field dropped here is saved as many times as there are servers
// (docs/benchmarks.md). Each transform lists what it keeps; anything else is
// never read from the cache (the readers are named beside each field).

// digestPrefix marks a ConfigMap value the cache holds as its digest.
const digestPrefix = "sha256:"

// digestConfigMap keeps a ConfigMap's metadata and replaces each data value
// with its SHA-256 digest: the only reader of a cached ConfigMap's data is
// the ConfigMap writer's inSync, which compares digests (dataDigests). Binary
// data is dropped: nothing reads it (the operator writes none).
func digestConfigMap(obj interface{}) (interface{}, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return obj, nil
	}
	cm.ManagedFields = nil
	cm.Data = dataDigests(cm.Data)
	cm.BinaryData = nil
	return cm, nil
}

// dataDigests maps each value of data to its digest. A value that already is
// a digest (from the cache) is kept, so that a cached and a live ConfigMap
// compare alike; the operator's own values (config.yaml) never look like one.
func dataDigests(data map[string]string) map[string]string {
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
	return digestPrefix + hex.EncodeToString(sum[:])
}

func isDigest(v string) bool {
	if len(v) != len(digestPrefix)+sha256.Size*2 || !strings.HasPrefix(v, digestPrefix) {
		return false
	}
	_, err := hex.DecodeString(v[len(digestPrefix):])
	return err == nil
}

// trimClaim keeps what the operator reads of a server's volume claim:
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
func trimClaim(obj interface{}) (interface{}, error) {
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
