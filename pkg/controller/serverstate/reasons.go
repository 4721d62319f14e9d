package serverstate

import dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"

// Condition types, event and condition reasons. Every reason this controller
// emits is a constant here so that it can be grepped for and matched in alerts.
const (
	// ConditionReady on DittoShares and DittoUsers.
	ConditionReady = dittov1alpha1.ConditionReady
	// ConditionStoresReady on the DittoServer: its stores exist on the server as declared.
	ConditionStoresReady = dittov1alpha1.ConditionStoresReady
	// ConditionSharesReady on the DittoServer: every DittoShare of it is Ready.
	ConditionSharesReady = dittov1alpha1.ConditionSharesReady
	// ConditionVolumeReady on DittoShares with spec.volume: the
	// PersistentVolumeClaim pods mount is bound to the share's PersistentVolume.
	ConditionVolumeReady = "VolumeReady"
)

// Reasons of VolumeReady and the events of share volumes.
const (
	ReasonVolumeBound   = "VolumeBound"
	ReasonVolumeCreated = "VolumeCreated"
	ReasonVolumeUpdated = "VolumeUpdated"
	// ReasonVolumeReplaced: the PV pointed at an old address of the file
	// Service and is made again.
	ReasonVolumeReplaced = "VolumeReplaced"
	ReasonVolumeDeleted  = "VolumeDeleted"
	// ReasonVolumePending: waiting for the export, the Service's cluster IP
	// or the binding; no Warning.
	ReasonVolumePending = "VolumePending"
	// ReasonVolumeConflict: a claim of spec.volume.claimName exists that the
	// operator did not make.
	ReasonVolumeConflict = "VolumeConflict"
	// ReasonVolumeNotPermitted: the operator's RBAC does not let it make
	// PersistentVolumes (the namespaced install) or claims.
	ReasonVolumeNotPermitted = "VolumeNotPermitted"
	ReasonVolumeLost         = "VolumeLost"
)

const (
	// Ready conditions and Normal events.
	ReasonCreated        = dittov1alpha1.ReasonCreated
	ReasonInSync         = "InSync"
	ReasonUpdated        = "Updated"
	ReasonStoresInSync   = "StoresInSync"
	ReasonAllSharesReady = "AllSharesReady"
	ReasonNoShares       = "NoShares"
	ReasonDeleted        = "Deleted"
	ReasonRetained       = "Retained"
	ReasonReleased       = "Released"
	ReasonPasswordSet    = "PasswordSet"
	// ReasonNFSAdapterRestarted: the portmapper setting changed, which the
	// server applies only by restarting its NFS adapter.
	ReasonNFSAdapterRestarted = "NFSAdapterRestarted"

	// Conditions that are not Ready, and Warning events.
	ReasonServerNotFound = "ServerNotFound"
	ReasonServerNotReady = "ServerNotReady"
	ReasonServerDeleting = "ServerDeleting"
	// ReasonServerPaused: the DittoServer's spec.paused holds every change.
	ReasonServerPaused      = "ServerPaused"
	ReasonServerUnreachable = "ServerUnreachable"
	ReasonServerError       = "ServerError"
	ReasonLoginFailed       = "LoginFailed"
	ReasonSecretNotFound    = dittov1alpha1.ReasonSecretNotFound
	ReasonSecretKeyMissing  = dittov1alpha1.ReasonSecretKeyMissing
	ReasonSecretInvalid     = dittov1alpha1.ReasonSecretInvalid
	ReasonInvalidSpec       = dittov1alpha1.ReasonInvalidSpec
	ReasonNameConflict      = "NameConflict"
	// ReasonNotAllowedByServer: the DittoServer's spec.tenants does not
	// accept objects from this namespace.
	ReasonNotAllowedByServer = "NotAllowedByServer"
	ReasonReservedName       = "ReservedName"
	ReasonStoresNotReady     = "StoresNotReady"
	ReasonPrincipalNotFound  = "PrincipalNotFound"
	ReasonSharesNotReady     = "SharesNotReady"
	ReasonDeletionBlocked    = dittov1alpha1.ReasonDeletionBlocked
	ReasonReconcileFailed    = dittov1alpha1.ReasonReconcileFailed
	ReasonNotOwned           = dittov1alpha1.ReasonResourceNotOwned
	ReasonOperatorAccount    = "OperatorAccountCreated"
	ReasonOperatorAccountSet = "OperatorAccountReset"
)

const (
	// Finalizer on DittoShares and DittoUsers: the operator decides, before
	// the object goes, what deleting it does on the server.
	Finalizer = "dittofs.dittofs.com/server-state"
	// OperatorUsername is the account the operator creates on every server
	// and uses for everything after its creation.
	OperatorUsername = "dittofs-operator"
	// OperatorPasswordKey is the key of the operator account's password in
	// the Secret <name>-operator.
	OperatorPasswordKey = "password"
	// operatorPasswordLength is within the server's 8–72 characters.
	operatorPasswordLength = 40
	// EventComponent is the source of this controller's events.
	EventComponent = "dittofs-operator"
	// minUserPasswordLength is what the server accepts.
	minUserPasswordLength = 8
)
