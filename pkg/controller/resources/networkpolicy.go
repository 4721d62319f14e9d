package resources

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// ComponentNetwork is the ComponentLabel of the NetworkPolicy.
const ComponentNetwork = "network"

// Defaults of spec.networkPolicy.operator: where the shipped Deployment
// (artifacts/deploy) runs the operator and how its pods are labelled.
const (
	DefaultOperatorNamespace = "dittofs-system"
	operatorNameValue        = "dittofs-operator"
)

// namespaceNameLabel is set by the API server on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

func NetworkPolicyName(ds *dittov1alpha1.DittoServer) string { return ds.Name }

// NetworkPolicyEnabled reports whether ds asks for a NetworkPolicy.
func NetworkPolicyEnabled(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.NetworkPolicy != nil && ds.Spec.NetworkPolicy.Enabled
}

// NetworkPolicy admits, to ds's server pods only: the REST API from the
// operator's pods and the namespaces listed; NFS (and SMB when enabled)
// from the file clients selected; metrics, when enabled, from the metrics
// clients (any source when none are listed). Everything else is refused
// where the network plugin enforces NetworkPolicies. Ports are named, so a
// port change in the spec needs no change here. Egress is not restricted:
// the server reaches S3, PostgreSQL and DNS.
func NetworkPolicy(ds *dittov1alpha1.DittoServer) *networkingv1.NetworkPolicy {
	spec := ds.Spec.NetworkPolicy
	if spec == nil {
		spec = &dittov1alpha1.NetworkPolicySpec{}
	}
	apiPeers := []networkingv1.NetworkPolicyPeer{operatorPeer(spec.Operator)}
	for _, ns := range spec.APINamespaces {
		apiPeers = append(apiPeers, networkingv1.NetworkPolicyPeer{NamespaceSelector: namespaceNamed(ns)})
	}
	filePorts := []networkingv1.NetworkPolicyPort{policyPort(PortNameNFS)}
	if SMBEnabled(ds) {
		filePorts = append(filePorts, policyPort(PortNameSMB))
	}
	rules := []networkingv1.NetworkPolicyIngressRule{
		{Ports: []networkingv1.NetworkPolicyPort{policyPort(PortNameAPI)}, From: apiPeers},
		{Ports: filePorts, From: deepCopyPeers(spec.FileClients)},
	}
	if MetricsEnabled(ds) {
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{policyPort(PortNameMetrics)},
			From:  deepCopyPeers(spec.MetricsClients),
		})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: objectMeta(ds, NetworkPolicyName(ds), ComponentNetwork),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(ds)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}

// operatorPeer selects the operator's pods, by default those of the
// shipped Deployment.
func operatorPeer(op *dittov1alpha1.OperatorPeer) networkingv1.NetworkPolicyPeer {
	ns, pods := DefaultOperatorNamespace, &metav1.LabelSelector{MatchLabels: map[string]string{NameLabel: operatorNameValue}}
	if op != nil && op.Namespace != "" {
		ns = op.Namespace
	}
	if op != nil && op.PodSelector != nil {
		pods = op.PodSelector.DeepCopy()
	}
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: namespaceNamed(ns), PodSelector: pods}
}

func namespaceNamed(ns string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: ns}}
}

func policyPort(name string) networkingv1.NetworkPolicyPort {
	proto, port := corev1.ProtocolTCP, intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
}

// deepCopyPeers keeps the built object independent of ds (builders never
// share memory with their input).
func deepCopyPeers(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	if len(peers) == 0 {
		return nil
	}
	out := make([]networkingv1.NetworkPolicyPeer, len(peers))
	for i := range peers {
		peers[i].DeepCopyInto(&out[i])
	}
	return out
}
