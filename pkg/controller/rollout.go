package controller

import (
	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// settleStatefulSet fits the desired StatefulSet to the one the server runs
// (nil when there is none yet), so that writing it rolls the pods only when
// the user asked for a change:
//
//   - the pod template is kept as it runs when only the operator's rendering
//     changed (keepTemplate), with the render hash it was written with.
//
// It reports whether the running template was kept.
func settleStatefulSet(desired, existing *appsv1.StatefulSet, ds *dittov1alpha1.DittoServer) bool {
	if existing == nil {
		return false
	}
	if !keepTemplate(desired, existing, ds) {
		return false
	}
	desired.Spec.Template = *existing.Spec.Template.DeepCopy()
	desired.Annotations[resources.TemplateRenderAnnotation] = existing.Annotations[resources.TemplateRenderAnnotation]
	return true
}

// keepTemplate reports whether existing's pod template differs from desired's
// only because this operator renders it differently:
//
//   - the rendering is the one existing was written with: no, desired is
//     what existing should hold, and an edit behind the operator's back is
//     repaired;
//   - the user changed the spec since the running template was applied
//     (status.observedGeneration behind the generation): no, the change
//     rolls the pods with the current rendering;
//   - a Secret the pod reads changed, or TemplateRevision was bumped: no;
//   - otherwise the operator was upgraded and renders differently: yes.
func keepTemplate(desired, existing *appsv1.StatefulSet, ds *dittov1alpha1.DittoServer) bool {
	if existing.Annotations[resources.TemplateRenderAnnotation] == desired.Annotations[resources.TemplateRenderAnnotation] ||
		ds.Status.ObservedGeneration != ds.Generation {
		return false
	}
	return existing.Annotations[resources.TemplateInputsAnnotation] == desired.Annotations[resources.TemplateInputsAnnotation]
}
