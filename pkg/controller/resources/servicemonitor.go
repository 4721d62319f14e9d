package resources

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The Prometheus Operator's ServiceMonitor, written as unstructured through
// the dynamic client: the operator does not depend on its Go types.
var ServiceMonitorGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}

const (
	ServiceMonitorAPIVersion = "monitoring.coreos.com/v1"
	ServiceMonitorKind       = "ServiceMonitor"
	// ServiceMonitorCRDName is the CRD whose presence lets the operator make ServiceMonitors.
	ServiceMonitorCRDName = "servicemonitors.monitoring.coreos.com"
)

// ServiceMonitorName is named like the metrics Service it scrapes.
func ServiceMonitorName(ds *dittov1alpha1.DittoServer) string { return MetricsServiceName(ds) }

// ServiceMonitorEnabled reports whether ds asks for a ServiceMonitor (with
// metrics enabled, which the CRD requires of it).
func ServiceMonitorEnabled(ds *dittov1alpha1.DittoServer) bool {
	return MetricsEnabled(ds) && ds.Spec.Metrics.ServiceMonitor != nil && ds.Spec.Metrics.ServiceMonitor.Enabled
}

// ServiceMonitor scrapes ds's metrics Service, selected by the labels the
// builder of that Service sets, on its named port. The user's labels come
// first so that the operator's own (managed-by, instance, component) always
// hold: the informers and the owner mapping rely on them.
func ServiceMonitor(ds *dittov1alpha1.DittoServer) *unstructured.Unstructured {
	meta := objectMeta(ds, ServiceMonitorName(ds), ComponentMetrics)
	labels := map[string]interface{}{}
	var interval string
	if sm := ds.Spec.Metrics.ServiceMonitor; sm != nil {
		for k, v := range sm.Labels {
			labels[k] = v
		}
		interval = sm.Interval
	}
	for k, v := range meta.Labels {
		labels[k] = v
	}
	selector := map[string]interface{}{}
	for k, v := range SelectorLabels(ds) {
		selector[k] = v
	}
	selector[ComponentLabel] = ComponentMetrics
	endpoint := map[string]interface{}{"port": PortNameMetrics, "path": "/metrics", "scheme": "http"}
	if interval != "" {
		endpoint["interval"] = interval
	}
	ref := OwnerReference(ds)
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": ServiceMonitorAPIVersion,
		"kind":       ServiceMonitorKind,
		"metadata": map[string]interface{}{
			"name":      meta.Name,
			"namespace": meta.Namespace,
			"labels":    labels,
			"ownerReferences": []interface{}{map[string]interface{}{
				"apiVersion":         ref.APIVersion,
				"kind":               ref.Kind,
				"name":               ref.Name,
				"uid":                string(ref.UID),
				"controller":         true,
				"blockOwnerDeletion": true,
			}},
		},
		"spec": map[string]interface{}{
			"selector":  map[string]interface{}{"matchLabels": selector},
			"endpoints": []interface{}{endpoint},
		},
	}}
}
