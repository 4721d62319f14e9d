package backup

// Condition types and reasons of DittoBackups, and the events that mark
// their transitions.
const (
	// ConditionCompleted: the backup ended (reason Succeeded or Failed).
	ConditionCompleted = "Completed"

	ReasonSnapshotCRDsNotInstalled = "SnapshotCRDsNotInstalled"
	ReasonServerNotFound           = "ServerNotFound"
	ReasonServerNotReady           = "ServerNotReady"
	ReasonServerBusy               = "ServerBusy"
	ReasonClassNotFound            = "VolumeSnapshotClassNotFound"
	ReasonBackupRunning            = "BackupRunning"
	ReasonSnapshotFailed           = "SnapshotFailed"
	ReasonHoldTimeout              = "HoldTimeout"
	ReasonSucceeded                = "Succeeded"
	ReasonFailed                   = "Failed"

	// Events only.
	ReasonServerHeld     = "ServerStopping"
	ReasonServerReleased = "ServerStarting"
	ReasonServerResumed  = "ServerResumed"
)

// warningReasons are the Ready reasons reported with a Warning event.
var warningReasons = map[string]bool{
	ReasonSnapshotCRDsNotInstalled: true, ReasonServerNotFound: true, ReasonClassNotFound: true,
	ReasonSnapshotFailed: true, ReasonHoldTimeout: true,
}
