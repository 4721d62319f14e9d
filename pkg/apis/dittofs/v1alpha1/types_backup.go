package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=dbk
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.server.name`
// +kubebuilder:printcolumn:name="Size",type=string,JSONPath=`.status.size`
// +kubebuilder:printcolumn:name="Pause",type=string,JSONPath=`.status.consistency.pause`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DittoBackup is one backup of one DittoServer in the same namespace: a CSI
// VolumeSnapshot of every claim the server's storage layout uses, cut while
// the server is stopped (method Offline) so that the metadata and the content
// snapshot describe the same instant, and a Secret holding the credentials a
// restored server needs. A DittoServer created with
// spec.bootstrap.fromBackup naming it starts from these snapshots with the same
// admin password, operator account and users.
//
// Deleting a DittoBackup deletes its VolumeSnapshots (and, with the usual
// deletionPolicy Delete of the VolumeSnapshotClass, the storage's snapshots)
// and its credentials Secret: they are owned by the DittoBackup. Deleting the
// DittoServer keeps its backups. A backup is taken once: a failed backup is
// not retried in place (a DittoScheduledBackup creates the next one).
type DittoBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says which server to back up and how.
	// +required
	Spec DittoBackupSpec `json:"spec"`

	// Status says what the backup holds and where it stands.
	// +optional
	Status DittoBackupStatus `json:"status,omitempty"`
}

// BackupMethod is how a backup makes its snapshots consistent.
// +kubebuilder:validation:Enum=Offline
type BackupMethod string

const (
	// BackupMethodOffline stops the server (its StatefulSet scaled to 0; the
	// pod's preStop and SIGTERM let dfs flush), cuts every snapshot, and
	// starts the server again as soon as every snapshot is cut.
	BackupMethodOffline BackupMethod = "Offline"
)

// BackupPhase summarises a backup's state.
// +kubebuilder:validation:Enum=Pending;Running;Completed;Failed
type BackupPhase string

const (
	// BackupPending: not started yet (the server, the snapshot CRDs or the
	// VolumeSnapshotClass is missing, or another backup of the server runs).
	BackupPending BackupPhase = "Pending"
	// BackupRunning: the server is being stopped, cut or restarted, or the
	// snapshots are not ready to use yet.
	BackupRunning BackupPhase = "Running"
	// BackupCompleted: every snapshot is ready to use; the backup can be restored.
	BackupCompleted BackupPhase = "Completed"
	// BackupFailed: the backup ended without a usable set of snapshots.
	BackupFailed BackupPhase = "Failed"
)

// DittoBackupSpec is the desired backup.
//
// +kubebuilder:validation:XValidation:rule="has(self.volumeSnapshotClassName) == has(oldSelf.volumeSnapshotClassName) && (!has(self.volumeSnapshotClassName) || self.volumeSnapshotClassName == oldSelf.volumeSnapshotClassName)",message="spec.volumeSnapshotClassName is immutable: a backup is taken once; create a new DittoBackup for another class",fieldPath=".volumeSnapshotClassName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="(has(self.method) ? self.method : 'Offline') == (has(oldSelf.method) ? oldSelf.method : 'Offline')",message="spec.method is immutable: a backup is taken once; create a new DittoBackup for another method",fieldPath=".method",reason="FieldValueForbidden"
type DittoBackupSpec struct {
	// Server names the DittoServer to back up, in this namespace. Immutable.
	// +kubebuilder:validation:XValidation:rule="size(self.name) > 0",message="spec.server.name is required: the DittoServer to back up",fieldPath=".name",reason="FieldValueRequired"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.server is immutable: a backup belongs to one server; create a new DittoBackup for another server"
	// +required
	Server LocalServerReference `json:"server"`

	// VolumeSnapshotClassName is the VolumeSnapshotClass of the snapshots.
	// Default: the DittoServer's spec.backup.volumeSnapshotClassName, else
	// the cluster's default VolumeSnapshotClass for the CSI driver of the
	// server's claims. Immutable.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:MinLength=1
	// +optional
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`

	// Method makes the snapshots of the server's volumes consistent with
	// each other. Offline (the default and only method) stops the server
	// while the snapshots are cut: clients see a pause of their I/O, reported in
	// status.consistency.pause. Immutable.
	// +kubebuilder:default=Offline
	// +optional
	Method BackupMethod `json:"method,omitempty"`

	// RestoreNamespaces says from which namespaces a DittoServer may be
	// restored from this backup (spec.bootstrap.fromBackup): only this
	// namespace by default.
	// +optional
	RestoreNamespaces *RestoreNamespacesSpec `json:"restoreNamespaces,omitempty"`
}

// LocalServerReference names a DittoServer in the same namespace.
type LocalServerReference struct {
	// Name of the DittoServer.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Name string `json:"name,omitempty"`
}

// RestoreNamespacesSpec says from which namespaces a backup may be restored,
// as spec.tenants of a DittoServer does for shares and users.
//
// +kubebuilder:validation:XValidation:rule="(self.from == 'Selector') == has(self.selector)",message="spec.restoreNamespaces.selector is required when spec.restoreNamespaces.from is Selector, and only then"
type RestoreNamespacesSpec struct {
	// From is Same (this namespace only, the default), All (every
	// namespace) or Selector (the namespaces spec.restoreNamespaces.selector
	// matches; this namespace is always allowed).
	// +kubebuilder:default=Same
	// +optional
	From TenantNamespaces `json:"from,omitempty"`

	// Selector matches the labels of the namespaces that may restore, when
	// from is Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// DittoBackupStatus is what a backup holds and where it stands.
type DittoBackupStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Phase: Pending, Running, Completed or Failed.
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`

	// StartedAt is when the backup started (left Pending).
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// CompletedAt is when the backup became Completed or Failed.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// VolumeSnapshotClassName is the VolumeSnapshotClass the snapshots use.
	// +optional
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`

	// Snapshots are the VolumeSnapshots of the server's claims, one per claim.
	// +listType=map
	// +listMapKey=claim
	// +optional
	Snapshots []BackupSnapshot `json:"snapshots,omitempty"`

	// ServerVersion is the DittoFS version the server ran (from its image tag).
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`

	// Image is the DittoFS image the server ran.
	// +optional
	Image string `json:"image,omitempty"`

	// Layout is the storage layout of the server at the backup: a restored
	// server must claim at least these sizes.
	// +optional
	Layout *BackupLayout `json:"layout,omitempty"`

	// Consistency says how the snapshots were made consistent and what it cost.
	// +optional
	Consistency *BackupConsistency `json:"consistency,omitempty"`

	// CredentialsSecretName is the Secret, owned by this backup, holding
	// copies of the server's credentials at the backup (admin, operator
	// account, JWT secret, and S3 credentials when spec.s3 is set). A
	// restored server's credentials Secrets are created from it.
	// +optional
	CredentialsSecretName string `json:"credentialsSecretName,omitempty"`

	// Size is the total restore size of the snapshots, as a quantity
	// (e.g. "12Gi"); a string so that kubectl shows it in a column.
	// +optional
	Size string `json:"size,omitempty"`

	// Conditions: Ready (the backup can be restored; when False, the reason
	// says why: Pending reasons such as ServerNotFound,
	// SnapshotCRDsNotInstalled, VolumeSnapshotClassNotFound, or
	// BackupRunning, BackupFailed) and Completed (True once the backup
	// ended, with reason Succeeded or Failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackupSnapshot is the VolumeSnapshot of one claim of the server.
type BackupSnapshot struct {
	// Claim is the role of the claim in the server's layout: metadata,
	// content, cache or controlplane (its volume claim template's name).
	// +required
	Claim string `json:"claim"`

	// PersistentVolumeClaimName is the claim that was snapshotted.
	// +optional
	PersistentVolumeClaimName string `json:"persistentVolumeClaimName,omitempty"`

	// VolumeSnapshotName is the VolumeSnapshot, in this namespace.
	// +optional
	VolumeSnapshotName string `json:"volumeSnapshotName,omitempty"`

	// Size is the snapshot's restore size: the smallest claim it can fill.
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`

	// ReadyToUse tells whether the snapshot can be restored.
	// +optional
	ReadyToUse bool `json:"readyToUse,omitempty"`
}

// BackupLayout is the storage layout of a server at a backup.
type BackupLayout struct {
	// StorageClassName of the server's claims.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// Claims are the server's claims and their requested sizes.
	// +listType=map
	// +listMapKey=name
	// +optional
	Claims []BackupClaim `json:"claims,omitempty"`
}

// BackupClaim is one claim of a server's layout.
type BackupClaim struct {
	// Name is the claim's role (its volume claim template's name).
	// +required
	Name string `json:"name"`
	// Size is the storage the claim requested.
	// +required
	Size resource.Quantity `json:"size"`
}

// BackupConsistency is how a backup's snapshots were made consistent.
type BackupConsistency struct {
	// Method used: Offline.
	// +optional
	Method BackupMethod `json:"method,omitempty"`

	// Consistent is true when every snapshot was cut while the server was
	// stopped: the snapshots describe one instant.
	// +optional
	Consistent bool `json:"consistent,omitempty"`

	// ServerStoppedAt is when the server's pod was seen gone.
	// +optional
	ServerStoppedAt *metav1.Time `json:"serverStoppedAt,omitempty"`

	// CutAt is when the last snapshot was cut (its creationTime); the
	// server is started again from then on.
	// +optional
	CutAt *metav1.Time `json:"cutAt,omitempty"`

	// ServerResumedAt is when the server's pod was Ready again.
	// +optional
	ServerResumedAt *metav1.Time `json:"serverResumedAt,omitempty"`

	// Pause is how long clients could not write: from the pod going down to
	// the pod Ready again (the preStop drain comes before it).
	// +optional
	Pause *metav1.Duration `json:"pause,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DittoBackupList is a list of DittoBackups.
type DittoBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the DittoBackups.
	Items []DittoBackup `json:"items"`
}

// BackupHoldAnnotation on a DittoServer names the DittoBackup that holds the
// server stopped (method Offline): while it is set, the DittoServer
// controller runs the StatefulSet with 0 replicas. The backup controller
// sets it and removes it once every snapshot is cut, or when the backup
// fails or is deleted (the backup carries BackupHoldFinalizer meanwhile).
const BackupHoldAnnotation = "dittofs.dittofs.com/backup-hold"

// BackupHoldFinalizer is on a DittoBackup while it holds its server stopped,
// so that deleting it mid-backup still starts the server again.
const BackupHoldFinalizer = "dittofs.dittofs.com/backup-hold"

// ScheduledBackupLabel on a DittoBackup names the DittoScheduledBackup that created it.
const ScheduledBackupLabel = "dittofs.dittofs.com/scheduled-backup"
