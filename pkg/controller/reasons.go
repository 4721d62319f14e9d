package controller

import dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"

// Event and condition reasons. Every reason the operator emits is a constant
// here so that it can be grepped for and matched in alerts.
const (
	// Events.
	ReasonCreated         = dittov1alpha1.ReasonCreated
	ReasonConfigUpdated   = "ConfigUpdated"
	ReasonDeleting        = "Deleting"
	ReasonCleanupTimeout  = "CleanupTimeout"
	ReasonDeletionBlocked = dittov1alpha1.ReasonDeletionBlocked
	ReasonPerconaDeleted  = "PerconaDeleted"
	ReasonPerconaOrphaned = "PerconaOrphaned"
	ReasonDataDeleted     = "DataDeleted" // deletionPolicy Delete: volume claims and generated Secrets deleted
	ReasonPerconaNotReady = "PerconaNotReady"
	ReasonDatabaseReady   = "DatabaseReady"
	ReasonReconcileFailed = dittov1alpha1.ReasonReconcileFailed
	ReasonAdopted         = "Adopted" // a child left without owner by a namesake (--cascade=orphan) taken back
	// Pod problems (Warning, once per problem and pod; the PodsHealthy
	// condition carries the kubelet's or scheduler's own reason).
	ReasonPodImagePullFailed = "PodImagePullFailed"
	ReasonPodCrashLooping    = "PodCrashLooping"
	ReasonPodContainerFailed = "PodContainerFailed"
	ReasonPodUnschedulable   = "PodUnschedulable"
	ReasonResumed            = "Resumed"
	// ServiceMonitor asked for while its CRD is not installed (monitoring.go).
	ReasonServiceMonitorUnavailable = "ServiceMonitorUnavailable"

	// Condition reasons (some double as Warning event reasons).
	ReasonSecretNotFound         = dittov1alpha1.ReasonSecretNotFound
	ReasonSecretKeyMissing       = dittov1alpha1.ReasonSecretKeyMissing
	ReasonSecretInvalid          = dittov1alpha1.ReasonSecretInvalid
	ReasonStorageClassNotFound   = "StorageClassNotFound"
	ReasonInvalidSpec            = dittov1alpha1.ReasonInvalidSpec
	ReasonResourceNotOwned       = dittov1alpha1.ReasonResourceNotOwned
	ReasonPerconaNotInstalled    = "PerconaNotInstalled"
	ReasonInputsResolved         = "InputsResolved"
	ReasonPerconaReady           = "PerconaReady"
	ReasonPostgresSecretResolved = "PostgresSecretResolved"
	ReasonRolloutInProgress      = "RolloutInProgress"
	ReasonRolloutComplete        = "RolloutComplete"
	ReasonReplicasAvailable      = "ReplicasAvailable"
	ReasonReplicasUnavailable    = "ReplicasUnavailable"
	ReasonScaledToZero           = "ScaledToZero"
	ReasonWaitingForDatabase     = "WaitingForDatabase"
	ReasonReady                  = "Ready"
	ReasonNotReady               = "NotReady"
	ReasonPodsHealthy            = "PodsHealthy"
	ReasonPaused                 = "Paused" // also the event when spec.paused takes effect
)

// Volume growth (resize.go, recreate.go): events and the StorageResized
// condition's reasons.
const (
	ReasonResizingVolumes           = "ResizingVolumes"           // Normal event: claims' requests raised
	ReasonRecreatingStatefulSet     = "RecreatingStatefulSet"     // Normal event: deleted with orphan propagation, re-created next
	ReasonCertificateRenewed        = "CertificateRenewed"        // Normal event: an issued CA or API certificate was renewed
	ReasonVolumesResizing           = "VolumesResizing"           // StorageResized=False: claims not at their size yet
	ReasonVolumesResized            = "VolumesResized"            // StorageResized=True (and a Normal event)
	ReasonVolumeExpansionNotAllowed = "VolumeExpansionNotAllowed" // StorageResized=False (and one Warning)
)

// Restore (spec.bootstrap.fromBackup; bootstrap.go, restore.go): why a
// server is not restored (ConfigReady=False and one Warning), and the
// Normal event of a restore.
const (
	ReasonBackupNotFound       = "BackupNotFound"       // the DittoBackup does not exist
	ReasonBackupNotReady       = "BackupNotReady"       // not Completed, its credentials Secret gone, or no VolumeSnapshot API
	ReasonBackupNotAdmitted    = "BackupNotAdmitted"    // its spec.restoreNamespaces does not admit the server's namespace
	ReasonBackupLayoutMismatch = "BackupLayoutMismatch" // the server's claims are not the backup's, or smaller
	ReasonRestoreConflict      = "RestoreConflict"      // a claim or credentials Secret exists that the backup did not make; never overwritten
	ReasonRestoring            = "Restoring"            // Normal event: credentials Secrets and claims created from the backup
)

// Condition types of DittoServer status this controller owns (defined in
// the API package).
const (
	ConditionReady          = dittov1alpha1.ConditionReady
	ConditionAvailable      = dittov1alpha1.ConditionAvailable
	ConditionProgressing    = dittov1alpha1.ConditionProgressing
	ConditionConfigReady    = dittov1alpha1.ConditionConfigReady
	ConditionDatabaseReady  = dittov1alpha1.ConditionDatabaseReady
	ConditionPodsHealthy    = dittov1alpha1.ConditionPodsHealthy
	ConditionPaused         = dittov1alpha1.ConditionPaused
	ConditionStorageResized = dittov1alpha1.ConditionStorageResized
)

const (
	// Finalizer guards the cleanup of the PostgreSQL cluster on deletion.
	Finalizer = "dittofs.dittofs.com/finalizer"
	// FieldManager names the operator in managedFields.
	FieldManager = "dittofs-operator"
	// SpecHashAnnotation on a child records the hash of the desired object last
	// written, so that an unchanged child costs no request.
	SpecHashAnnotation = "dittofs.dittofs.com/spec-hash"
	// EventComponent is the source component of the operator's events.
	EventComponent = "dittofs-operator"
)
