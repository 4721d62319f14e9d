package resources

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// What spec.podMetadata, spec.env and the placement fields add to the server
// pod. The CRD refuses values that would override what the operator sets; the
// builders still apply the operator's own values last, so that an object
// admitted some other way (an older CRD, a fake clientset) can neither
// unselect the pod from its StatefulSet nor replace a credential.

// podLabels are the server pod's labels: spec.podMetadata.labels under the
// operator's (which win).
func podLabels(ds *dittov1alpha1.DittoServer) map[string]string {
	return overlay(podMetadata(ds).Labels, Labels(ds, ComponentServer))
}

// podAnnotations are the server pod's annotations:
// spec.podMetadata.annotations under the operator's (which win).
func podAnnotations(ds *dittov1alpha1.DittoServer, configHash string) map[string]string {
	return overlay(podMetadata(ds).Annotations, map[string]string{
		ConfigHashAnnotation: configHash,
		// kubectl logs/exec pick the server, not the init container.
		"kubectl.kubernetes.io/default-container": ContainerName,
	})
}

func podMetadata(ds *dittov1alpha1.DittoServer) dittov1alpha1.PodMetadata {
	if ds.Spec.PodMetadata == nil {
		return dittov1alpha1.PodMetadata{}
	}
	return *ds.Spec.PodMetadata
}

// overlay returns base with every key of top set to top's value.
func overlay(base, top map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(top))
	maps.Copy(out, base)
	maps.Copy(out, top)
	return out
}

// withUserEnv appends spec.env to the operator's environment, leaving out
// the variables the operator already sets: a credential or a setting the
// operator renders from the spec keeps the operator's value.
func withUserEnv(ds *dittov1alpha1.DittoServer, env []corev1.EnvVar) []corev1.EnvVar {
	for _, e := range ds.Spec.Env {
		if slices.ContainsFunc(env, func(o corev1.EnvVar) bool { return o.Name == e.Name }) {
			continue
		}
		env = append(env, *e.DeepCopy())
	}
	return env
}

func topologySpreadConstraints(ds *dittov1alpha1.DittoServer) []corev1.TopologySpreadConstraint {
	var out []corev1.TopologySpreadConstraint
	for _, c := range ds.Spec.TopologySpreadConstraints {
		out = append(out, *c.DeepCopy())
	}
	return out
}
