package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Claim",type=string,JSONPath=`.status.volume.claimName`,priority=1
// +kubebuilder:printcolumn:name="Used",type=integer,JSONPath=`.status.usage.usedBytes`,priority=1
// +kubebuilder:printcolumn:name="Deletion",type=string,JSONPath=`.spec.deletionPolicy`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
//
// The export name defaults to "/" + metadata.name, so these rules see the
// whole object: an export set later to its default is no change, and a name
// too long for SMB needs an explicit export.
//
// +kubebuilder:validation:XValidation:rule="(has(self.spec.exportName) ? self.spec.exportName : '/' + self.metadata.name) == (has(oldSelf.spec.exportName) ? oldSelf.spec.exportName : '/' + oldSelf.metadata.name)",message="spec.exportName is immutable (it defaults to \"/\" + metadata.name): clients mount the share by this path; create a new DittoShare for another export",fieldPath=".spec.exportName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="has(self.spec.exportName) || size(self.metadata.name) <= 80",message="spec.exportName is required when metadata.name is longer than 80 characters: the default export \"/\" + metadata.name would exceed an SMB share name's 80 characters",fieldPath=".spec.exportName",reason="FieldValueRequired"

// DittoShare is one export of a DittoServer in the same namespace, served over
// NFS (and SMB when the server enables it). The operator creates it through the
// server's REST API on the server's stores and keeps its settings and
// permissions as declared here. RBAC on DittoShares can be granted to a team
// without edit rights on the DittoServer. Deleting a DittoShare leaves the share
// and its files on the server unless spec.deletionPolicy is Delete.
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

// SharePermissionLevel is a level of access to a share: none (denied), read,
// read-write, or admin (full access plus the server's administrative
// operations on the share).
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
// +kubebuilder:validation:XValidation:rule="has(self.owner) == has(oldSelf.owner) && (!has(self.owner) || self.owner == oldSelf.owner)",message="spec.owner is immutable: the server fixes a share's root owner when it creates the share; create a new DittoShare for another owner",fieldPath=".owner",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!has(self.volume) || !has(oldSelf.volume) || self.volume.claimName == oldSelf.volume.claimName",message="spec.volume.claimName is immutable while spec.volume is set: pods mount the claim by this name; remove spec.volume first, then set it with the new name",fieldPath=".volume.claimName",reason="FieldValueForbidden"
type DittoShareSpec struct {
	// ServerRef names the DittoServer that serves the share: in this
	// namespace, or (with namespace) in another one whose DittoServer allows
	// this namespace in spec.tenants. Immutable: a share's files live in
	// that server's stores.
	// +kubebuilder:validation:XValidation:rule="has(self.name) && size(self.name) > 0",message="spec.serverRef.name is required: the DittoServer that serves the share",fieldPath=".name",reason="FieldValueRequired"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.serverRef is immutable: a share's files live in its server's stores; create a new DittoShare for another server"
	// +required
	ServerRef ServerReference `json:"serverRef"`

	// ExportName is the path NFS clients mount (server:/projects) and, without
	// the slash, the SMB share name (//server/projects): "/" followed by one
	// lowercase name of letters, digits, '.', '_' and '-'. Lowercase because
	// SMB clients reach a share by its lowercased name. Defaults to
	// "/" + metadata.name. Immutable.
	// +kubebuilder:validation:MaxLength=81
	// +kubebuilder:validation:XValidation:rule="self.matches('^/[a-z0-9][a-z0-9._-]*$')",message="spec.exportName must be \"/\" followed by one lowercase name of letters, digits, '.', '_' and '-' (SMB clients reach a share by its lowercased name)"
	// +optional
	ExportName string `json:"exportName,omitempty"`

	// Owner is the DittoFS username (for example a DittoUser's) whose uid and
	// gid own the share's root directory, so that this user can create files
	// at the root over NFS, where clients check the root's mode bits. Unset,
	// the root is owned by root. The share is created only once this user
	// exists on the server. Immutable.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Owner string `json:"owner,omitempty"`

	// ReadOnly exports the share read-only to everyone, whatever their
	// permission.
	// +kubebuilder:default=false
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`

	// Quota caps the share's logical size (for example 100Gi); unlimited when
	// unset.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="spec.quota must be greater than 0; leave it unset for no quota"
	// +optional
	Quota *resource.Quantity `json:"quota,omitempty"`

	// DefaultPermission applies to users without a permission of their own or
	// of one of their groups, and to NFS clients whose uid matches no user.
	// none (the default) denies them.
	// +kubebuilder:default=none
	// +optional
	DefaultPermission SharePermissionLevel `json:"defaultPermission,omitempty"`

	// Permissions grants users and groups access to the share. A user's own
	// permission wins; otherwise the highest of its groups' and the default
	// applies. SMB clients log in as a user and need at least read; NFS
	// clients are matched to a user by uid. Each user and each group appears
	// at most once.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(p, self.exists_one(q, (has(q.user) ? 'user ' + q.user : 'group ' + (has(q.group) ? q.group : '')) == (has(p.user) ? 'user ' + p.user : 'group ' + (has(p.group) ? p.group : ''))))",message="spec.permissions must name each user and each group at most once"
	// +optional
	Permissions []SharePermission `json:"permissions,omitempty"`

	// DeletionPolicy decides what deleting this DittoShare does on the server:
	// Retain (the default) leaves the share and its files on the server;
	// Delete removes the share from the server before the DittoShare goes
	// away, and while the server cannot be reached the DittoShare waits
	// (Ready False, reason DeletionBlocked). When the DittoServer itself is
	// gone or being deleted, nothing is deleted on the server.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// SnapshotPolicy makes the server take snapshots of the share on a
	// schedule and prune old ones. Removing it deletes the policy on the
	// server; snapshots already taken stay.
	// +optional
	SnapshotPolicy *SnapshotPolicy `json:"snapshotPolicy,omitempty"`

	// Volume makes the share mountable by pods: the operator makes an NFS
	// PersistentVolume that points at the DittoServer's file Service and a
	// PersistentVolumeClaim of that name in this namespace, bound to it, so
	// that a Deployment mounts the share by claim name. Neither holds data
	// (the files stay on the server): removing spec.volume deletes both;
	// deleting the DittoShare keeps or deletes them with spec.deletionPolicy.
	// +optional
	Volume *ShareVolume `json:"volume,omitempty"`
}

// ShareVolume is the PersistentVolumeClaim through which pods mount a share.
type ShareVolume struct {
	// ClaimName is the name of the PersistentVolumeClaim the operator makes
	// in the share's namespace (a DNS subdomain). A claim of that name that
	// the operator did not make is left alone and reported (VolumeReady
	// False, reason VolumeConflict). Immutable while spec.volume is set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.volume.claimName must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	// +required
	ClaimName string `json:"claimName"`

	// MountOptions are added to the NFS mount options the operator sets
	// (nfsvers=3, proto=tcp, port and mountport of the file Service's NFS
	// port, mountproto=tcp, nolock); an option of the same name replaces
	// the operator's (for example "nfsvers=4.1" or "lock").
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_]+(=[A-Za-z0-9_.:/,-]+)?$`
	// +optional
	MountOptions []string `json:"mountOptions,omitempty"`
}

// SnapshotPolicy is a share's scheduled snapshots and their retention.
// +kubebuilder:validation:XValidation:rule="(has(self.keepLast) && self.keepLast > 0) || (has(self.ttl) && self.ttl.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self.ttl) > duration('0s'))",message="spec.snapshotPolicy must set keepLast or a positive ttl (or both): snapshots without a bound fill the server's disk",reason="FieldValueRequired"
type SnapshotPolicy struct {
	// Interval between snapshots: a Go duration of at least 1m such as 6h or
	// 90m, or one of @hourly, @daily and @weekly.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self in ['@hourly', '@daily', '@weekly'] || (self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) >= duration('1m'))",message="spec.snapshotPolicy.interval must be a positive duration of at least 1m such as 6h or 90m, or one of @hourly, @daily, @weekly"
	// +required
	Interval string `json:"interval"`

	// KeepLast keeps at most this many of the policy's snapshots (at most
	// 1000); 0 (the default) sets no count bound, and then ttl is required:
	// a policy bounds its snapshots by count, by age or both, so that one
	// share cannot fill the server's disk.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	KeepLast int32 `json:"keepLast,omitempty"`

	// TTL deletes the policy's snapshots older than this duration (for
	// example 720h); unset, snapshots do not expire by age.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$')",message="spec.snapshotPolicy.ttl must be a duration such as 720h"
	// +optional
	TTL string `json:"ttl,omitempty"`

	// NamePrefix starts the name of every snapshot the policy takes (the
	// server's default prefix when empty).
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]{0,64}$`
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// Enabled runs the schedule; false keeps the policy but takes no
	// snapshots.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// ServerReference names a DittoServer: by name in the object's own
// namespace, or in another namespace whose DittoServer allows it
// (spec.tenants).
type ServerReference struct {
	// Name of the DittoServer.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace of the DittoServer; this object's namespace when empty.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SharePermission grants one user or one group a level of access.
//
// +kubebuilder:validation:XValidation:rule="has(self.user) != has(self.group)",message="each entry of spec.permissions names exactly one of user and group"
// +kubebuilder:validation:XValidation:rule="!has(self.user) || self.user.matches('^[a-z_][a-z0-9_.-]*$')",message="spec.permissions[].user must start with a lowercase letter or '_' and hold only lowercase letters, digits, '_', '.' and '-'",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!has(self.group) || self.group.matches('^[a-z_][a-z0-9_.-]*$')",message="spec.permissions[].group must start with a lowercase letter or '_' and hold only lowercase letters, digits, '_', '.' and '-'",reason="FieldValueInvalid"
type SharePermission struct {
	// User is a username on the server, for example one a DittoUser declares:
	// a lowercase letter or '_', then lowercase letters, digits, '_', '.' or
	// '-' (the names a DittoUser can have).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	User string `json:"user,omitempty"`

	// Group is a group name on the server, for example one a DittoUser lists
	// in spec.groups, with the same characters as a user.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Group string `json:"group,omitempty"`

	// Level of access: none, read, read-write or admin.
	// +required
	Level SharePermissionLevel `json:"level"`
}

// ServerObjectRecord identifies an object on the DittoFS server by the id the
// server gave it when this resource created it. It is written before the
// creation is requested (with no id) and completed with the id the server
// returns, so that a creation interrupted by a restart is still recognised
// as this resource's own.
type ServerObjectRecord struct {
	// ID is the server's id of the object; empty while its creation is in
	// flight.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	ID string `json:"id,omitempty"`
}

// DittoShareStatus is the observed state of a share.
type DittoShareStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// ExportName is the export path as created on the server.
	// +optional
	ExportName string `json:"exportName,omitempty"`

	// CreatedOnServer records the server share this DittoShare created. The
	// operator changes and (with deletionPolicy Delete) deletes only that
	// share; a share of the same export that it did not create (made by an
	// admin, left by another DittoShare, or made before this object) is left
	// untouched and reported as a NameConflict.
	// +optional
	CreatedOnServer *ServerObjectRecord `json:"createdOnServer,omitempty"`

	// SnapshotPolicyApplied is true while the operator has set a snapshot
	// policy on the server for this share, so that removing
	// spec.snapshotPolicy deletes it exactly once.
	// +optional
	SnapshotPolicyApplied bool `json:"snapshotPolicyApplied,omitempty"`

	// Usage is the share's size as the server last reported it. It is
	// rewritten only when it moves by at least 1% of the quota (64 MiB
	// without a quota), and at most once per usage interval.
	// +optional
	Usage *ShareUsage `json:"usage,omitempty"`

	// Volume records the PersistentVolume and PersistentVolumeClaim the
	// operator made for spec.volume, by UID: only these are ever changed or
	// deleted.
	// +optional
	Volume *ShareVolumeStatus `json:"volume,omitempty"`

	// Conditions: Ready tells whether the share exists on the server as
	// declared; when False, its reason and message say why (the server's own
	// error included).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ShareUsage is a share's size as reported by the server's REST API
// (GET /api/v1/shares: used_bytes, physical_bytes).
type ShareUsage struct {
	// UsedBytes is the share's logical size: the sum of its files' sizes,
	// what the quota caps.
	UsedBytes int64 `json:"usedBytes"`

	// PhysicalBytes is what the share's blocks take in its block store on
	// the server's volume.
	// +optional
	PhysicalBytes int64 `json:"physicalBytes,omitempty"`

	// QuotaBytes is the share's quota in bytes; 0 when unlimited.
	// +optional
	QuotaBytes int64 `json:"quotaBytes,omitempty"`

	// ObservedTime is when these figures were read.
	// +optional
	ObservedTime metav1.Time `json:"observedTime,omitempty"`
}

// ShareVolumeStatus names the objects the operator made for spec.volume.
type ShareVolumeStatus struct {
	// PersistentVolumeName is the cluster-scoped PersistentVolume.
	// +optional
	PersistentVolumeName string `json:"persistentVolumeName,omitempty"`

	// PersistentVolumeUID is its UID.
	// +optional
	PersistentVolumeUID types.UID `json:"persistentVolumeUID,omitempty"`

	// ClaimName is the PersistentVolumeClaim in the share's namespace.
	// +optional
	ClaimName string `json:"claimName,omitempty"`

	// ClaimUID is its UID.
	// +optional
	ClaimUID types.UID `json:"claimUID,omitempty"`

	// Phase is the claim's phase (Pending, Bound, Lost).
	// +optional
	Phase string `json:"phase,omitempty"`
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
