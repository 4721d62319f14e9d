package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=dsbk
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.server.name`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Last Success",type=date,JSONPath=`.status.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextScheduleTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DittoScheduledBackup takes DittoBackups of a DittoServer in the same
// namespace on a cron schedule, named <name>-<yyyymmddhhmmss> (UTC) and owned
// by the schedule (deleting the schedule deletes its backups), and prunes them
// by count and age. The newest Completed backup is never pruned. A failed
// backup is not retried in place: the next scheduled one is the retry.
type DittoScheduledBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the schedule.
	// +required
	Spec DittoScheduledBackupSpec `json:"spec"`

	// Status says when the schedule last ran and runs next.
	// +optional
	Status DittoScheduledBackupStatus `json:"status,omitempty"`
}

// DittoScheduledBackupSpec is the desired schedule.
type DittoScheduledBackupSpec struct {
	// Server names the DittoServer to back up, in this namespace. Immutable.
	// +kubebuilder:validation:XValidation:rule="size(self.name) > 0",message="spec.server.name is required: the DittoServer to back up",fieldPath=".name",reason="FieldValueRequired"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.server is immutable: a schedule backs up one server; create a new DittoScheduledBackup for another server"
	// +required
	Server LocalServerReference `json:"server"`

	// Schedule is a cron expression of 5 fields (minute hour day-of-month
	// month day-of-week), evaluated in UTC, e.g. "0 3 * * *".
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:XValidation:rule="self.matches('^ *[^ ]+( +[^ ]+){4} *$')",message="spec.schedule must be a cron expression of 5 fields: minute hour day-of-month month day-of-week"
	// +required
	Schedule string `json:"schedule"`

	// Suspend stops new backups while true; existing backups and retention
	// are left as they are.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Immediate takes one backup when the schedule is created, before the
	// first scheduled time.
	// +optional
	Immediate bool `json:"immediate,omitempty"`

	// Retention prunes the schedule's backups; without it every backup is kept.
	// +optional
	Retention *BackupRetention `json:"retention,omitempty"`

	// VolumeSnapshotClassName is given to each backup (see DittoBackup).
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:MinLength=1
	// +optional
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`

	// RestoreNamespaces is given to each backup (see DittoBackup).
	// +optional
	RestoreNamespaces *RestoreNamespacesSpec `json:"restoreNamespaces,omitempty"`
}

// BackupRetention prunes the backups of a schedule. A backup goes when it is
// beyond the newest keep backups or older than maxAge; the newest Completed
// backup is always kept, and a Running backup is never pruned.
//
// +kubebuilder:validation:XValidation:rule="has(self.keep) || has(self.maxAge)",message="spec.retention needs keep or maxAge"
type BackupRetention struct {
	// Keep is how many of the newest backups to keep.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Keep *int32 `json:"keep,omitempty"`

	// MaxAge prunes backups older than this, e.g. "720h".
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="spec.retention.maxAge must be at least 1m"
	// +optional
	MaxAge *metav1.Duration `json:"maxAge,omitempty"`
}

// DittoScheduledBackupStatus is the observed state of a schedule.
type DittoScheduledBackupStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// LastScheduleTime is when the last backup was created.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// LastSuccessfulTime is when the newest Completed backup completed.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// NextScheduleTime is when the next backup is due (absent while suspended).
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`

	// Conditions: Ready (the schedule is valid and not suspended; reasons
	// InvalidSchedule, Suspended) and LastBackupSucceeded (whether the newest
	// finished backup completed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DittoScheduledBackupList is a list of DittoScheduledBackups.
type DittoScheduledBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the DittoScheduledBackups.
	Items []DittoScheduledBackup `json:"items"`
}
