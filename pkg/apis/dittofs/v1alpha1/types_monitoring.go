package v1alpha1

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceMonitorSpec configures the Prometheus Operator ServiceMonitor of a
// DittoServer's metrics Service.
type ServiceMonitorSpec struct {
	// Enabled makes the ServiceMonitor <name>-metrics while the ServiceMonitor
	// CRD is installed; false (or removing the CRD's use) deletes it.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Labels are added to the ServiceMonitor, so that a Prometheus'
	// serviceMonitorSelector picks it (for example release: prometheus).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Interval between scrapes, as a Prometheus duration (30s, 1m); the
	// Prometheus' own scrape interval when unset.
	// +kubebuilder:validation:Pattern=`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Interval string `json:"interval,omitempty"`
}

// NetworkPolicySpec configures the NetworkPolicy <name> that admits traffic
// to the server's pods. It takes effect only where the cluster's network
// plugin enforces NetworkPolicies. Egress is not restricted.
// +kubebuilder:validation:XValidation:rule="!self.enabled || (has(self.fileClients) && size(self.fileClients) > 0)",message="spec.networkPolicy.fileClients must select at least one peer when spec.networkPolicy.enabled is true: otherwise no client could reach NFS or SMB",fieldPath=".fileClients",reason="FieldValueRequired"
type NetworkPolicySpec struct {
	// Enabled makes the NetworkPolicy; false deletes it.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Operator selects the operator's pods, which reach the REST API (and the
	// metrics port). Default: pods labelled app.kubernetes.io/name=dittofs-operator
	// in the namespace dittofs-system.
	// +optional
	Operator *OperatorPeer `json:"operator,omitempty"`

	// APINamespaces lists more namespaces whose pods may reach the REST API
	// (for example where dfsctl runs).
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	APINamespaces []string `json:"apiNamespaces,omitempty"`

	// FileClients are the peers that may reach NFS and SMB: pods by
	// namespace and pod selector, or address blocks. Required when enabled.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	FileClients []networkingv1.NetworkPolicyPeer `json:"fileClients,omitempty"`

	// MetricsClients are the peers that may scrape the metrics port (for
	// example Prometheus' namespace). Empty admits any source to that port
	// alone: metrics carry no data and the scraper's place varies.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	MetricsClients []networkingv1.NetworkPolicyPeer `json:"metricsClients,omitempty"`
}

// OperatorPeer selects the operator's pods.
type OperatorPeer struct {
	// Namespace the operator runs in.
	// +kubebuilder:default="dittofs-system"
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// PodSelector selects the operator's pods in Namespace. Default:
	// app.kubernetes.io/name=dittofs-operator.
	// +optional
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
}
