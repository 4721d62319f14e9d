package resources

import (
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var mediaClients = networkingv1.NetworkPolicyPeer{
	NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "media"}},
}

func withNetworkPolicy(np dittov1alpha1.NetworkPolicySpec) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) { np.Enabled = true; ds.Spec.NetworkPolicy = &np }
}

// ingressFor is the rule of p that admits the named port; nil when none does.
func ingressFor(p *networkingv1.NetworkPolicy, port string) *networkingv1.NetworkPolicyIngressRule {
	for i, r := range p.Spec.Ingress {
		for _, pp := range r.Ports {
			if pp.Port != nil && pp.Port.StrVal == port {
				return &p.Spec.Ingress[i]
			}
		}
	}
	return nil
}

// The policy selects the server's pods alone and admits the API from the
// operator (by default the shipped Deployment's pods in dittofs-system) and
// the listed namespaces, NFS only from the file clients, and nothing on
// ports that are off (SMB, metrics).
func TestNetworkPolicyAdmitsOnlyWhatTheSpecSays(t *testing.T) {
	ds := newDS(withNetworkPolicy(dittov1alpha1.NetworkPolicySpec{
		APINamespaces: []string{"admin-tools"}, FileClients: []networkingv1.NetworkPolicyPeer{mediaClients},
	}))
	p := NetworkPolicy(ds)

	if !labels.SelectorFromSet(p.Spec.PodSelector.MatchLabels).Matches(labels.Set(Labels(ds, ComponentServer))) {
		t.Errorf("pod selector %v does not select the server pods", p.Spec.PodSelector.MatchLabels)
	}
	if !reflect.DeepEqual(p.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policy types %v, want Ingress only (the server reaches S3, PostgreSQL and DNS)", p.Spec.PolicyTypes)
	}
	api := ingressFor(p, PortNameAPI)
	if api == nil || len(api.From) != 2 {
		t.Fatalf("API rule %+v, want the operator and one namespace", api)
	}
	if got := api.From[0]; got.NamespaceSelector.MatchLabels[namespaceNameLabel] != "dittofs-system" ||
		got.PodSelector.MatchLabels[NameLabel] != "dittofs-operator" {
		t.Errorf("operator peer %+v, want the dittofs-operator pods in dittofs-system", got)
	}
	if got := api.From[1]; got.PodSelector != nil || got.NamespaceSelector.MatchLabels[namespaceNameLabel] != "admin-tools" {
		t.Errorf("API namespace peer %+v, want every pod of admin-tools", got)
	}
	nfs := ingressFor(p, PortNameNFS)
	if nfs == nil || !reflect.DeepEqual(nfs.From, []networkingv1.NetworkPolicyPeer{mediaClients}) {
		t.Errorf("NFS rule %+v, want only the file clients", nfs)
	}
	if nfs == ingressFor(p, PortNameAPI) {
		t.Errorf("NFS and the API share a rule: file clients would reach the API")
	}
	for _, port := range []string{PortNameSMB, PortNameMetrics} {
		if r := ingressFor(p, port); r != nil {
			t.Errorf("port %s admitted (%+v) while it is off", port, r)
		}
	}

	// The built object shares no memory with the spec.
	p.Spec.Ingress[1].From[0].NamespaceSelector.MatchLabels["team"] = "changed"
	if mediaClients.NamespaceSelector.MatchLabels["team"] != "media" || ds.Spec.NetworkPolicy.FileClients[0].NamespaceSelector.MatchLabels["team"] != "media" {
		t.Error("the NetworkPolicy aliases the DittoServer's file clients")
	}
}

// SMB joins NFS's rule; metrics get their own, open to any source when no
// metrics client is listed, else to those alone; a custom operator
// selector replaces the default.
func TestNetworkPolicyFollowsSMBMetricsAndOperator(t *testing.T) {
	monitoring := networkingv1.NetworkPolicyPeer{NamespaceSelector: namespaceNamed("monitoring")}
	ds := newDS(withNetworkPolicy(dittov1alpha1.NetworkPolicySpec{
		FileClients: []networkingv1.NetworkPolicyPeer{mediaClients},
		Operator: &dittov1alpha1.OperatorPeer{Namespace: "ops",
			PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ditto-op"}}},
	}), func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
		ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true}
	})
	p := NetworkPolicy(ds)
	if ingressFor(p, PortNameSMB) != ingressFor(p, PortNameNFS) {
		t.Error("SMB is not admitted with NFS from the file clients")
	}
	metrics := ingressFor(p, PortNameMetrics)
	if metrics == nil || len(metrics.From) != 0 {
		t.Errorf("metrics rule %+v, want one open to any source", metrics)
	}
	op := ingressFor(p, PortNameAPI).From[0]
	if op.NamespaceSelector.MatchLabels[namespaceNameLabel] != "ops" || op.PodSelector.MatchLabels["app"] != "ditto-op" {
		t.Errorf("operator peer %+v, want app=ditto-op in ops", op)
	}

	ds.Spec.NetworkPolicy.MetricsClients = []networkingv1.NetworkPolicyPeer{monitoring}
	if got := ingressFor(NetworkPolicy(ds), PortNameMetrics).From; !reflect.DeepEqual(got, []networkingv1.NetworkPolicyPeer{monitoring}) {
		t.Errorf("metrics from %+v, want the monitoring namespace alone", got)
	}
}

func TestNetworkPolicyIsOffByDefault(t *testing.T) {
	if NetworkPolicyEnabled(newDS()) {
		t.Error("a DittoServer without spec.networkPolicy gets a NetworkPolicy")
	}
	if NetworkPolicyEnabled(newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.NetworkPolicy = &dittov1alpha1.NetworkPolicySpec{} })) {
		t.Error("spec.networkPolicy without enabled: true gets a NetworkPolicy")
	}
}
