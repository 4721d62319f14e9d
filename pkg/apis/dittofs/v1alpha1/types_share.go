package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=dshare
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.serverRef.name`
// +kubebuilder:printcolumn:name="Export",type=string,JSONPath=`.status.exportName`
// +kubebuilder:printcolumn:name="Read-only",type=boolean,JSONPath=`.spec.readOnly`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DittoShare is one export (NFS and SMB) of a DittoServer in the same
// namespace. A team can be given RBAC on DittoShares without edit rights on
// the DittoServer. The operator creates the share through the server's REST
// API on the server's stores, and grants the listed permissions.
type DittoShare struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired share.
	// +required
	Spec DittoShareSpec `json:"spec"`

	// Status is the share as the operator last saw it on the server.
	// +optional
	Status DittoShareStatus `json:"status,omitempty"`
}

// SharePermissionLevel is a level of access to a share.
// +kubebuilder:validation:Enum=none;read;read-write;admin
type SharePermissionLevel string

const (
	PermissionNone      SharePermissionLevel = "none"
	PermissionRead      SharePermissionLevel = "read"
	PermissionReadWrite SharePermissionLevel = "read-write"
	PermissionAdmin     SharePermissionLevel = "admin"
)

// DeletionPolicy decides what deleting the Kubernetes object does on the server.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain leaves the share (and its data) on the server.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete removes the share from the server.
	DeletionDelete DeletionPolicy = "Delete"
)

// DittoShareSpec is the desired state of a share.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.exportName) || (has(self.exportName) && self.exportName == oldSelf.exportName)",message="spec.exportName is immutable: create a new DittoShare for another export",fieldPath=".exportName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="has(oldSelf.exportName) || !has(self.exportName)",message="spec.exportName is immutable: create a new DittoShare for another export",fieldPath=".exportName",reason="FieldValueForbidden"
type DittoShareSpec struct {
	// ServerRef names the DittoServer, in the same namespace, that serves the share.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.serverRef is immutable: a share cannot move to another server"
	// +required
	ServerRef corev1.LocalObjectReference `json:"serverRef"`

	// ExportName is the export path clients mount, for example /projects.
	// Defaults to "/" + metadata.name. Immutable.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^/[A-Za-z0-9._-]+$`
	// +optional
	ExportName string `json:"exportName,omitempty"`

	// ReadOnly exports the share read-only.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`

	// Quota caps the share's logical size; unlimited when unset.
	// +optional
	Quota *resource.Quantity `json:"quota,omitempty"`

	// DefaultPermission applies to users and groups without a permission of their own.
	// +kubebuilder:default=none
	// +optional
	DefaultPermission SharePermissionLevel `json:"defaultPermission,omitempty"`

	// Permissions grants users and groups access to the share. SMB clients
	// log in as a user and need at least read.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Permissions []SharePermission `json:"permissions,omitempty"`

	// DeletionPolicy decides what deleting this DittoShare does on the server:
	// Retain (default) leaves the share and its data in place; Delete removes the share.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// SharePermission grants one user or one group a level of access.
//
// +kubebuilder:validation:XValidation:rule="has(self.user) != has(self.group)",message="set exactly one of user and group"
type SharePermission struct {
	// User is a DittoFS username (for example one declared by a DittoUser).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	User string `json:"user,omitempty"`

	// Group is a DittoFS group name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Group string `json:"group,omitempty"`

	// Level of access.
	// +required
	Level SharePermissionLevel `json:"level"`
}

// DittoShareStatus is the observed state of a share.
type DittoShareStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ExportName is the export path as created on the server.
	// +optional
	ExportName string `json:"exportName,omitempty"`

	// Conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DittoShareList is a list of DittoShares.
type DittoShareList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the DittoShares.
	Items []DittoShare `json:"items"`
}
