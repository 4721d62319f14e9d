package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=duser
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.serverRef.name`
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.status.username`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DittoUser is one user of a DittoServer in the same namespace: the identity
// SMB clients log in with and NFS requests are mapped to (uid/gid). Deleting
// a DittoUser removes the user from the server (its files stay).
type DittoUser struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired user.
	// +required
	Spec DittoUserSpec `json:"spec"`

	// Status is the user as the operator last saw it on the server.
	// +optional
	Status DittoUserStatus `json:"status,omitempty"`
}

// DittoUserSpec is the desired state of a user.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.username) || (has(self.username) && self.username == oldSelf.username)",message="spec.username is immutable: create a new DittoUser for another name",fieldPath=".username",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="has(oldSelf.username) || !has(self.username)",message="spec.username is immutable: create a new DittoUser for another name",fieldPath=".username",reason="FieldValueForbidden"
type DittoUserSpec struct {
	// ServerRef names the DittoServer, in the same namespace, that the user belongs to.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.serverRef is immutable: a user cannot move to another server"
	// +required
	ServerRef corev1.LocalObjectReference `json:"serverRef"`

	// Username on the server. Defaults to metadata.name. Immutable.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z_][a-z0-9_.-]*$`
	// +optional
	Username string `json:"username,omitempty"`

	// PasswordSecretRef names the Secret key that holds the user's password
	// (at least 8 characters). Changing the Secret changes the password.
	// +required
	PasswordSecretRef corev1.SecretKeySelector `json:"passwordSecretRef"`

	// UID is the user's numeric id for NFS identity mapping.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967294
	// +optional
	UID *int64 `json:"uid,omitempty"`

	// GID is the user's primary group id for NFS identity mapping.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967294
	// +optional
	GID *int64 `json:"gid,omitempty"`

	// Groups the user belongs to; groups that do not exist on the server are created.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// DittoUserStatus is the observed state of a user.
type DittoUserStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Username as created on the server.
	// +optional
	Username string `json:"username,omitempty"`

	// PasswordSecretVersion is the resourceVersion of the password Secret
	// whose value the server was last given; a newer Secret sets the password again.
	// +optional
	PasswordSecretVersion string `json:"passwordSecretVersion,omitempty"`

	// Conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DittoUserList is a list of DittoUsers.
type DittoUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the DittoUsers.
	Items []DittoUser `json:"items"`
}
