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
// +kubebuilder:printcolumn:name="UID",type=integer,JSONPath=`.spec.uid`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="GID",type=integer,JSONPath=`.spec.gid`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
//
// The username defaults to metadata.name, so these rules see the whole
// object: a username set later to its default is no change, and a name that
// is no valid username needs an explicit one.
//
// +kubebuilder:validation:XValidation:rule="(has(self.spec.username) ? self.spec.username : self.metadata.name) == (has(oldSelf.spec.username) ? oldSelf.spec.username : oldSelf.metadata.name)",message="spec.username is immutable (it defaults to metadata.name): files and permissions on the server belong to it; create a new DittoUser for another name",fieldPath=".spec.username",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="has(self.spec.username) || self.metadata.name.matches('^[a-z_][a-z0-9_.-]{0,63}$')",message="spec.username is required when metadata.name is no valid username (a lowercase letter or '_', then up to 63 lowercase letters, digits, '_', '.' or '-')",fieldPath=".spec.username",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!((has(self.spec.username) ? self.spec.username : self.metadata.name) in ['admin', 'dittofs-operator'])",message="spec.username must not be admin or dittofs-operator (nor default to them from metadata.name): they are the server's administrator and the operator's own account",fieldPath=".spec.username",reason="FieldValueForbidden"

// DittoUser is one user of a DittoServer in the same namespace: the login of
// SMB clients (with the password from a Secret) and the identity NFS requests
// are mapped to by uid. The operator creates it through the server's REST API
// and keeps its password, uid, gid and groups as declared here; shares grant
// it access through spec.permissions of a DittoShare. Deleting a DittoUser
// removes the user from the server; the files it wrote stay.
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
type DittoUserSpec struct {
	// ServerRef names the DittoServer the user belongs to: in this
	// namespace, or (with namespace) in another one whose DittoServer allows
	// this namespace in spec.tenants. Immutable. The password Secret is read
	// from this DittoUser's namespace.
	// +kubebuilder:validation:XValidation:rule="has(self.name) && size(self.name) > 0",message="spec.serverRef.name is required: the DittoServer the user belongs to",fieldPath=".name",reason="FieldValueRequired"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.serverRef is immutable: a user belongs to one server; create a new DittoUser for another server"
	// +required
	ServerRef ServerReference `json:"serverRef"`

	// Username on the server: the SMB login and the name DittoShare
	// permissions grant access to. A lowercase letter or '_', then lowercase
	// letters, digits, '_', '.' or '-'. Defaults to metadata.name. Immutable.
	// "admin" (the server's administrator, or the name spec.identity.admin of
	// the DittoServer gives it) and "dittofs-operator" (the operator's own
	// account) are reserved.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z_][a-z0-9_.-]*$')",message="spec.username must start with a lowercase letter or '_' and hold only lowercase letters, digits, '_', '.' and '-'"
	// +optional
	Username string `json:"username,omitempty"`

	// PasswordSecretRef names the Secret key that holds the user's password,
	// 8 to 72 characters (the server's bounds). Changing the Secret's value
	// changes the password on the server.
	// +kubebuilder:validation:XValidation:rule="size(self.name) > 0",message="spec.passwordSecretRef.name is required: the Secret in this namespace that holds the password",fieldPath=".name",reason="FieldValueRequired"
	// +kubebuilder:validation:XValidation:rule="!has(self.optional) || !self.optional",message="spec.passwordSecretRef.optional must not be true: every user needs a password",fieldPath=".optional",reason="FieldValueForbidden"
	// +required
	PasswordSecretRef corev1.SecretKeySelector `json:"passwordSecretRef"`

	// UID is the user's numeric id: NFS requests carrying this uid act as this
	// user, with its permissions; files the user writes over SMB are owned by
	// it. Unique on the server. 0 is the server's administrator (root) and
	// cannot be declared.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967294
	// +optional
	UID *int64 `json:"uid,omitempty"`

	// GID is the user's primary group id for the files it writes. 0 (root's
	// group, the server's admins group) cannot be declared.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967294
	// +optional
	GID *int64 `json:"gid,omitempty"`

	// Groups the user belongs to on the server; DittoShare permissions can
	// grant a group access. Groups that do not exist on the server are
	// created. A name starts with a lowercase letter or '_' and holds only
	// lowercase letters, digits, '_', '.' and '-'. The server's system groups
	// admins and operators carry administrator rights and cannot be listed.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!self.exists(g, g == 'admins' || g == 'operators')",message="spec.groups must not list admins or operators: these system groups of the server carry administrator rights"
	// +kubebuilder:validation:XValidation:rule="self.all(g, g.matches('^[a-z_][a-z0-9_.-]*$'))",message="spec.groups: each group name must start with a lowercase letter or '_' and hold only lowercase letters, digits, '_', '.' and '-'"
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

	// CreatedOnServer records the server user this DittoUser created. The
	// operator changes, sets the password of and deletes only that user; a
	// user of the same name that it did not create (made by an admin, by
	// another DittoUser, or before this object) is left untouched and
	// reported as a NameConflict.
	// +optional
	CreatedOnServer *ServerObjectRecord `json:"createdOnServer,omitempty"`

	// PasswordSecretVersion is the resourceVersion of the password Secret
	// whose value the server was last given; a newer Secret sets the password again.
	// +optional
	PasswordSecretVersion string `json:"passwordSecretVersion,omitempty"`

	// Conditions: Ready tells whether the user exists on the server as
	// declared; when False, its reason and message say why (a missing Secret,
	// the server's own error).
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
