package v1alpha1

// Condition types, and the reasons more than one controller reports, so that
// each controller, kubectl users and alert rules name them from one place.
// Which controller owns which condition of a DittoServer is said here too.
const (
	// DittoServer conditions of the DittoServer controller.

	// ConditionReady: the server is available with its configuration and
	// database ready (also the Ready condition of DittoShares and
	// DittoUsers, which the server state controller owns).
	ConditionReady = "Ready"
	// ConditionAvailable: the server's replica is available.
	ConditionAvailable = "Available"
	// ConditionProgressing: a rollout of a new spec is under way.
	ConditionProgressing = "Progressing"
	// ConditionConfigReady: the configuration and its inputs resolve.
	ConditionConfigReady = "ConfigReady"
	// ConditionDatabaseReady: the control-plane database is ready.
	ConditionDatabaseReady = "DatabaseReady"
	// ConditionPodsHealthy: no pod of the server has a problem.
	ConditionPodsHealthy = "PodsHealthy"
	// ConditionPaused: spec.paused holds every change.
	ConditionPaused = "Paused"
	// ConditionStorageResized appears once a volume size grew: whether
	// every claim has the size the spec asks for.
	ConditionStorageResized = "StorageResized"

	// DittoServer conditions of the server state controller.

	// ConditionStoresReady: the server's stores exist as declared.
	ConditionStoresReady = "StoresReady"
	// ConditionSharesReady: every DittoShare of the server is Ready.
	ConditionSharesReady = "SharesReady"
)

// ServerStateOwns tells whether a DittoServer condition type is the server
// state controller's. Each controller applies its own part of the DittoServer
// status under its own field manager (server-side apply): the server state
// controller stores, shares, sharesReady, s3CredentialsVersion and these
// conditions; the DittoServer controller every other field and condition.
func ServerStateOwns(conditionType string) bool {
	return conditionType == ConditionStoresReady || conditionType == ConditionSharesReady
}

// Reasons both controllers report.
const (
	ReasonCreated          = "Created"
	ReasonDeletionBlocked  = "DeletionBlocked"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonReconcileFailed  = "ReconcileFailed"
	ReasonResourceNotOwned = "ResourceNotOwned"
	ReasonSecretInvalid    = "SecretInvalid"
	ReasonSecretKeyMissing = "SecretKeyMissing"
	ReasonSecretNotFound   = "SecretNotFound"
)
