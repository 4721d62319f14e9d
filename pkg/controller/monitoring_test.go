package controller

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

var nfsClients = []networkingv1.NetworkPolicyPeer{{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "media"}},
}}

func withNetworkPolicy(ds *dittov1alpha1.DittoServer) {
	ds.Spec.NetworkPolicy = &dittov1alpha1.NetworkPolicySpec{Enabled: true, FileClients: nfsClients}
}

func withServiceMonitor(ds *dittov1alpha1.DittoServer) {
	ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true,
		ServiceMonitor: &dittov1alpha1.ServiceMonitorSpec{Enabled: true, Interval: "30s", Labels: map[string]string{"release": "prometheus"}}}
}

// installServiceMonitorCRD makes the controller see the ServiceMonitor CRD
// with a synced cache over the fake cluster's ServiceMonitors.
func (f *fixture) installServiceMonitorCRD() {
	f.serviceMonitorIndexer = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	f.c.serviceMonitors.SetListerForTest(cache.NewGenericLister(f.serviceMonitorIndexer, resources.ServiceMonitorGVR.GroupResource()))
	f.catchUp()
}

// The NetworkPolicy is created with the server's other children, costs
// nothing once converged, is put back when edited behind the operator's
// back, and is deleted when the spec turns it off.
func TestNetworkPolicyFollowsTheSpec(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withNetworkPolicy))
	f.converge()
	np := f.get(f.kube, gvrNetworkPolicies, testName).(*networkingv1.NetworkPolicy)
	if got := np.Spec.Ingress[1].From; len(got) != 1 || got[0].NamespaceSelector.MatchLabels["team"] != "media" {
		t.Errorf("NFS admitted from %+v, want the media namespaces", got)
	}
	f.expectQuiet(t)

	// Someone opens NFS to everyone: the next pass closes it again.
	opened := np.DeepCopy()
	opened.Spec.Ingress[1].From = nil
	f.put(opened)
	f.catchUp()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectActions(t, f.actions(), "update networkpolicies "+testName)

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.NetworkPolicy.Enabled = false }, true)
	f.catchUp()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectActions(t, f.actions(), "delete networkpolicies "+testName, "apply dittoservers/status "+testName)
	expectEvents(t, f.events())
	f.catchUp()
	f.expectQuiet(t)
}

// Without the ServiceMonitor CRD the operator makes none, says so once per
// spec change, and runs the server as usual; once the CRD is there, the
// ServiceMonitor is created, converges, and goes when the spec drops it.
func TestServiceMonitorOnlyWithItsCRD(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withServiceMonitor))
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, f.events(), "Warning ServiceMonitorUnavailable spec.metrics.serviceMonitor.enabled is true but the ServiceMonitor CRD (servicemonitors.monitoring.coreos.com) is not installed")
	f.converge()
	f.expectQuiet(t)
	if !f.exists(f.kube, gvrStatefulSets, testName) {
		t.Error("no StatefulSet: a missing ServiceMonitor CRD held the server back")
	}
	if n := len(f.list(f.dyn, resources.ServiceMonitorGVR, resources.ServiceMonitorKind)); n != 0 {
		t.Fatalf("%d ServiceMonitors without the CRD", n)
	}

	f.installServiceMonitorCRD()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectActions(t, f.actions(), "create servicemonitors "+testName+"-metrics")
	expectEvents(t, f.events())
	sm := f.get(f.dyn, resources.ServiceMonitorGVR, testName+"-metrics").(*unstructured.Unstructured)
	if sm.GetLabels()["release"] != "prometheus" || metav1.GetControllerOf(sm) == nil || metav1.GetControllerOf(sm).UID != testUID {
		t.Errorf("ServiceMonitor labels %v, controller %v", sm.GetLabels(), metav1.GetControllerOf(sm))
	}
	f.catchUp()
	f.expectQuiet(t)

	// A new interval updates it.
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Metrics.ServiceMonitor.Interval = "1m" }, true)
	f.catchUp()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectActions(t, f.actions(), "update servicemonitors "+testName+"-metrics", "apply dittoservers/status "+testName)
	f.catchUp()

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Metrics.ServiceMonitor.Enabled = false }, true)
	f.catchUp()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	expectActions(t, f.actions(), "delete servicemonitors "+testName+"-metrics", "apply dittoservers/status "+testName)
	f.catchUp()
	f.expectQuiet(t)
}

// A ServiceMonitor CRD installed while the operator runs requeues exactly the
// DittoServers that ask for one.
func TestServiceMonitorCRDArrivalRequeuesItsUsers(t *testing.T) {
	wants := newDittoServer(withServiceMonitor)
	other := named("plain")
	f := newFixture(t, false, wants, other)
	f.c.enqueueServiceMonitorUsers()
	expectQueued(t, f.queued(), testNamespace+"/"+testName)
}

// uninstallServiceMonitorCRD plays the CRD going away while the operator runs.
func (f *fixture) uninstallServiceMonitorCRD() {
	f.c.serviceMonitors.SetListerForTest(nil)
}

// ServiceMonitorUnavailable is said when the operator first acts on a spec
// that asks for a ServiceMonitor it cannot make, and when the CRD goes away
// under a running operator; a restarted operator, finding the spec already
// acted on (status.observedGeneration), does not say it again.
func TestServiceMonitorUnavailableIsNotRepeatedOnRestart(t *testing.T) {
	const unavailable = "Warning ServiceMonitorUnavailable spec.metrics.serviceMonitor.enabled is true but the ServiceMonitor CRD (servicemonitors.monitoring.coreos.com) is not installed"
	f := newFixture(t, false, newDittoServer(withFinalizer, withServiceMonitor))
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), unavailable)
	f.converge()

	restarted := newFixture(t, false, f.clusterObjects()...)
	expectErr(t, restarted.sync(), nil)
	expectEvents(t, restarted.events())

	restarted.installServiceMonitorCRD()
	restarted.converge()
	restarted.uninstallServiceMonitorCRD()
	expectErr(t, restarted.sync(), nil)
	expectEvents(t, restarted.events(), unavailable)
	expectErr(t, restarted.sync(), nil)
	expectEvents(t, restarted.events())
}
