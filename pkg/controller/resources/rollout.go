package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// How a server's pods roll. Two annotations on the StatefulSet tell the
// controller why its pod template would change:
//
//   - TemplateInputsAnnotation hashes what the user controls (the spec and
//     the Secrets the pod reads) with TemplateRevision;
//   - TemplateRenderAnnotation hashes the pod template as this operator
//     version renders it.
//
// When only the rendering differs — a newer operator with another default —
// the controller keeps the running template, so an operator upgrade restarts
// no server; the new rendering reaches a server with the next change its user
// makes. A rendering change that must reach running servers (a security fix)
// bumps TemplateRevision, which rolls every server once.
const (
	TemplateInputsAnnotation = "dittofs.dittofs.com/template-inputs"
	TemplateRenderAnnotation = "dittofs.dittofs.com/template-render"
)

// TemplateRevision is bumped by a release whose rendering change must restart
// running servers; other rendering changes wait for the user's next edit.
const TemplateRevision = 1

// PodManagementPolicy is Parallel so that a server stuck on a bad revision
// recovers when its spec is reverted: with OrderedReady the StatefulSet
// controller waits for the stuck pod to become Ready before it replaces it,
// which it never does. A DittoServer runs at most one pod, so Parallel orders
// nothing away.
const PodManagementPolicy = appsv1.ParallelPodManagement

// TemplateInputsHash hashes what the user controls: the spec, by its
// generation, and the inputs resolved from the cluster (the Secrets'
// versions, the database Secret, the storage layout), with
// TemplateRevision. The generation, not the spec's content, because a newer
// CRD adds its defaults to every stored spec when it is read: a default the
// user did not ask for must not count as their change. Only the user's
// writes move the generation.
func TemplateInputsHash(ds *dittov1alpha1.DittoServer, in Inputs) string {
	return templateInputsHash(ds, in, TemplateRevision)
}

func templateInputsHash(ds *dittov1alpha1.DittoServer, in Inputs, revision int) string {
	return hashJSON(struct {
		Revision   int    `json:"revision"`
		Generation int64  `json:"generation"`
		Inputs     Inputs `json:"inputs"`
	}{revision, ds.Generation, in})
}

// TemplateRenderHash hashes a pod template as the builder rendered it.
func TemplateRenderHash(t *corev1.PodTemplateSpec) string { return hashJSON(t) }

// hashJSON is a short hash of v's JSON form (map keys sorted).
func hashJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		// API structs and plain values: marshalling cannot fail.
		panic(fmt.Sprintf("marshal for hashing: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
