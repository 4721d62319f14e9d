package resources

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Labels every object of a DittoServer carries. The operator's informers for
// children filter on ManagedByLabel, so unrelated objects are never cached.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "dittofs-operator"
	ComponentLabel = "app.kubernetes.io/component"
	InstanceLabel  = "app.kubernetes.io/instance"
	NameLabel      = "app.kubernetes.io/name"

	// nameValue is the application name shared by all DittoServers.
	nameValue = "dittofs"
)

// ConfigHashAnnotation on the pod template carries ConfigHash: a change of the
// rendered configuration or of a Secret the pod reads rolls the pods, and
// nothing else does.
const ConfigHashAnnotation = "dittofs.dittofs.com/config-hash"

// Values of ComponentLabel.
const (
	ComponentServer      = "server"      // StatefulSet, its pods and the Services in front of them
	ComponentMetrics     = "metrics"     // the metrics Service, selectable by a ServiceMonitor
	ComponentConfig      = "config"      // the ConfigMap with config.yaml
	ComponentCredentials = "credentials" // the generated JWT and admin Secrets
	ComponentStorage     = "storage"     // the volume claims of the StatefulSet
	ComponentDatabase    = "database"    // the PerconaPGCluster
)

// Labels are the labels of one of ds's objects.
func Labels(ds *dittov1alpha1.DittoServer, component string) map[string]string {
	l := SelectorLabels(ds)
	l[ManagedByLabel] = ManagedByValue
	l[ComponentLabel] = component
	return l
}

// SelectorLabels select ds's server pods. They must never change for an
// existing DittoServer: a StatefulSet's selector is immutable.
func SelectorLabels(ds *dittov1alpha1.DittoServer) map[string]string {
	return map[string]string{
		NameLabel:     nameValue,
		InstanceLabel: ds.Name,
	}
}

// OwnerReference makes ds the controller of a child, so the garbage collector
// removes the child with ds and the controller can map the child back to ds.
func OwnerReference(ds *dittov1alpha1.DittoServer) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         dittov1alpha1.SchemeGroupVersion.String(),
		Kind:               "DittoServer",
		Name:               ds.Name,
		UID:                ds.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

// KeptForLabel marks an object that outlives its DittoServer because it
// holds or unlocks data: the generated credentials Secrets and a kept
// PerconaPGCluster. Its value is the DittoServer's name: a DittoServer of that
// name created later adopts the object (the data is its user's), while an
// object without the label stays someone else's. Such objects carry no owner
// reference, so no deletion path of the DittoServer — background, foreground
// or orphan — lets the garbage collector take them.
const KeptForLabel = "dittofs.dittofs.com/kept-for"

// keptMeta is the metadata of an object that outlives ds (KeptForLabel).
func keptMeta(ds *dittov1alpha1.DittoServer, name, component string) metav1.ObjectMeta {
	m := objectMeta(ds, name, component)
	m.OwnerReferences = nil
	m.Labels[KeptForLabel] = ds.Name
	return m
}

// KeptFor reports whether obj is an object the operator kept for a
// DittoServer named like ds: no controller, the operator's managed-by label
// and KeptForLabel naming ds.
func KeptFor(obj metav1.Object, ds *dittov1alpha1.DittoServer) bool {
	l := obj.GetLabels()
	return metav1.GetControllerOf(obj) == nil && l[ManagedByLabel] == ManagedByValue && l[KeptForLabel] == ds.Name
}

// objectMeta is the metadata of a child named name.
func objectMeta(ds *dittov1alpha1.DittoServer, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       ds.Namespace,
		Labels:          Labels(ds, component),
		OwnerReferences: []metav1.OwnerReference{OwnerReference(ds)},
	}
}

// typeMeta is set on every built object so that it serialises (golden files,
// apply requests, logs) with its kind.
func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
