package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// How a server's pods roll. Two annotations on the StatefulSet, written with
// its pod template, tell the controller why the template would change:
//
//   - TemplateRenderAnnotation hashes the pod template as the operator
//     rendered it;
//   - TemplateInputsAnnotation hashes what the user controls outside the
//     spec — the Secrets the pod reads — with TemplateRevision.
//
// The spec itself is judged by the DittoServer's status: observedGeneration
// equal to the generation says that the running template was made for the
// spec as it stands. A newer operator whose rendering differs, for a spec
// and Secrets that did not change, keeps the running template, so an
// operator upgrade restarts no server; the new rendering reaches a server
// with the next change its user makes. A rendering change that must reach
// running servers (a security fix) bumps TemplateRevision, which rolls every
// server once.
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

// TemplateInputsHash hashes the inputs resolved from the cluster (the
// Secrets' versions, the database Secret) with
// TemplateRevision. The spec is not in it: a newer CRD adds its defaults to
// every stored spec when it is read, and a default the user did not ask for
// must not count as their change (the generation, which only the user's
// writes move, judges the spec).
func TemplateInputsHash(in Inputs) string {
	return templateInputsHash(in, TemplateRevision)
}

func templateInputsHash(in Inputs, revision int) string {
	return HashJSON(struct {
		Revision int    `json:"revision"`
		Inputs   Inputs `json:"inputs"`
	}{revision, in})
}

// TemplateRenderHash hashes a pod template as the builder rendered it.
func TemplateRenderHash(t *corev1.PodTemplateSpec) string { return HashJSON(t) }

// HashJSON is a short hash of v's JSON form (map keys sorted): the hash of
// every desired object and rendered template.
func HashJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		// API structs and plain values: marshalling cannot fail.
		panic(fmt.Sprintf("marshal for hashing: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
