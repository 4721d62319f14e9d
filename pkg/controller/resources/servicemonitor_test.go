package resources

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func withServiceMonitor(sm dittov1alpha1.ServiceMonitorSpec) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		sm.Enabled = true
		ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true, ServiceMonitor: &sm}
	}
}

// The ServiceMonitor selects exactly the metrics Service (not the API or
// file Services, which share the instance label) and scrapes its named
// port; the user's labels are added without overriding the operator's.
func TestServiceMonitorScrapesTheMetricsService(t *testing.T) {
	ds := newDS(withServiceMonitor(dittov1alpha1.ServiceMonitorSpec{Interval: "15s",
		Labels: map[string]string{"release": "prometheus", ManagedByLabel: "someone-else"}}))
	sm := ServiceMonitor(ds)

	if sm.GetName() != MetricsServiceName(ds) || sm.GetNamespace() != ds.Namespace {
		t.Errorf("ServiceMonitor %s/%s, want %s/%s", sm.GetNamespace(), sm.GetName(), ds.Namespace, MetricsServiceName(ds))
	}
	if l := sm.GetLabels(); l["release"] != "prometheus" || l[ManagedByLabel] != ManagedByValue {
		t.Errorf("labels %v, want release=prometheus and the operator's managed-by", l)
	}
	if ref := sm.GetOwnerReferences(); len(ref) != 1 || ref[0].UID != ds.UID || ref[0].Controller == nil || !*ref[0].Controller {
		t.Errorf("owner references %+v, want the DittoServer as controller", ref)
	}
	match, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	selector := labels.SelectorFromSet(match)
	for _, svc := range services(newDS(func(d *dittov1alpha1.DittoServer) { d.Spec.Metrics = ds.Spec.Metrics })) {
		if got, want := selector.Matches(labels.Set(svc.Labels)), svc.Name == MetricsServiceName(ds); got != want {
			t.Errorf("selector %v matches Service %s: %v, want %v", match, svc.Name, got, want)
		}
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("endpoints %v, want one", endpoints)
	}
	ep := endpoints[0].(map[string]interface{})
	if ep["port"] != PortNameMetrics || ep["interval"] != "15s" || ep["path"] != "/metrics" {
		t.Errorf("endpoint %v, want port metrics, interval 15s, path /metrics", ep)
	}

	// Without an interval, the Prometheus' own applies.
	ds.Spec.Metrics.ServiceMonitor.Interval = ""
	ep = ServiceMonitor(ds).Object["spec"].(map[string]interface{})["endpoints"].([]interface{})[0].(map[string]interface{})
	if _, set := ep["interval"]; set {
		t.Errorf("interval set to %v without spec.metrics.serviceMonitor.interval", ep["interval"])
	}
}

func TestServiceMonitorNeedsMetrics(t *testing.T) {
	ds := newDS(withServiceMonitor(dittov1alpha1.ServiceMonitorSpec{}))
	if !ServiceMonitorEnabled(ds) {
		t.Error("metrics and serviceMonitor enabled, but no ServiceMonitor")
	}
	ds.Spec.Metrics.Enabled = false
	if ServiceMonitorEnabled(ds) {
		t.Error("a ServiceMonitor without a metrics Service to scrape")
	}
	if ServiceMonitorEnabled(newDS()) {
		t.Error("a ServiceMonitor by default")
	}
}
