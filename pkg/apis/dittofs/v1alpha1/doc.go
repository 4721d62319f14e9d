// Package v1alpha1 is the v1alpha1 version of the dittofs.dittofs.com API:
// the DittoServer resource that describes one DittoFS file server.
//
// +k8s:deepcopy-gen=package
// +groupName=dittofs.dittofs.com
// +kubebuilder:object:generate=false
package v1alpha1
