package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Adoption of orphans. `kubectl delete ditto x --cascade=orphan` deletes
// the DittoServer and leaves its children: the garbage collector removes
// their owner references and nothing else. A DittoServer re-created under
// the same name takes them back, as Kubernetes' own controllers do
// (ControllerRefManager): a child with no controller that carries this
// operator's labels for the DittoServer's name is adopted — its owner
// reference is set through the child's usual write path, and one Normal
// Adopted event says so. A child another owner controls, or one without
// these labels, is still refused (ResourceNotOwned).

// adoptable reports whether obj is an orphan of a DittoServer named like ds:
// no controller reference, the operator's managed-by label, and the
// instance label naming ds.
func adoptable(obj metav1.Object, ds *dittov1alpha1.DittoServer) bool {
	l := obj.GetLabels()
	return metav1.GetControllerOf(obj) == nil &&
		l[resources.ManagedByLabel] == resources.ManagedByValue && l[resources.InstanceLabel] == ds.Name
}

// controlledOrAdoptable is the writer's test for children that ds may write:
// those it controls, and orphans left by an earlier DittoServer of its name.
func controlledOrAdoptable[T object](obj T, ds *dittov1alpha1.DittoServer) bool {
	return controlledBy(obj, ds) || adoptable(obj, ds)
}
