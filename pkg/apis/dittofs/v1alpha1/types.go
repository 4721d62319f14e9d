package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ditto;dittofs
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableReplicas`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Shares",type=integer,JSONPath=`.status.sharesReady`,priority=1
// +kubebuilder:printcolumn:name="NFS",type=string,JSONPath=`.status.nfsEndpoint`,priority=1
// +kubebuilder:printcolumn:name="SMB",type=string,JSONPath=`.status.smbEndpoint`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DittoServer runs one DittoFS file server (NFS and optionally SMB, with a REST
// control plane) as a StatefulSet with its configuration, Services, volumes and,
// optionally, a Percona PostgreSQL cluster for its control-plane database.
//
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="metadata.name must be at most 52 characters: the StatefulSet <name> puts it, with a revision hash of up to 10 characters, in its pods' controller-revision-hash label, which holds at most 63",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.percona) || !self.spec.percona.enabled || self.metadata.name.size() <= 28",message="metadata.name must be at most 28 characters with spec.percona.enabled: the Percona operator names the PostgreSQL StatefulSet <name>-postgres-instance1-<4 characters>, and a StatefulSet name has at most 52",reason="FieldValueInvalid"
type DittoServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the DittoFS server.
	// +required
	Spec DittoServerSpec `json:"spec"`

	// Status is the observed state of the DittoFS server, written by the operator.
	// +optional
	Status DittoServerStatus `json:"status,omitempty"`
}

// DittoServerSpec is the desired state of a DittoFS server.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.metrics) && self.metrics.enabled) || (has(self.metrics.port) ? self.metrics.port : 9090) != (has(self.controlPlane) && has(self.controlPlane.port) ? self.controlPlane.port : 8080)",message="spec.metrics.port must differ from spec.controlPlane.port: both listen in the same container",fieldPath=".metrics.port",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!(has(self.smb) && self.smb.enabled) || (has(self.smb.port) ? self.smb.port : 445) != (has(self.nfsPort) ? self.nfsPort : 2049)",message="spec.smb.port must differ from spec.nfsPort: both are ports of the same file Service",fieldPath=".smb.port",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!(has(self.portmapper) && self.portmapper.enabled) || ((has(self.nfsPort) ? self.nfsPort : 2049) != 111 && !(has(self.smb) && self.smb.enabled && (has(self.smb.port) ? self.smb.port : 445) in [111, 12049]))",message="spec.portmapper.enabled needs port 111 (the portmapper) and 12049 (the NFS port it advertises) of the file Service: spec.nfsPort must not be 111 and spec.smb.port must not be 111 or 12049",fieldPath=".portmapper.enabled",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!(has(self.portmapper) && self.portmapper.enabled) || ((!has(self.controlPlane) || !has(self.controlPlane.port) || self.controlPlane.port != 10111) && (!(has(self.metrics) && self.metrics.enabled) || (has(self.metrics.port) ? self.metrics.port : 9090) != 10111))",message="spec.portmapper.enabled needs container port 10111, where the server's portmapper listens: spec.controlPlane.port and spec.metrics.port must not be 10111",fieldPath=".portmapper.enabled",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!(has(self.database) && self.database.type == 'postgres') || has(self.database.postgresSecretRef) || (has(self.percona) && self.percona.enabled)",message="spec.database.postgresSecretRef is required when spec.database.type is postgres (or set spec.percona.enabled to run a PostgreSQL cluster)",fieldPath=".database.postgresSecretRef",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!has(self.terminationGracePeriodSeconds) || self.terminationGracePeriodSeconds >= (has(self.preStopDelaySeconds) ? self.preStopDelaySeconds : 5) + 3 * (has(self.shutdownTimeout) ? (duration(self.shutdownTimeout) + duration('999999999ns')).getSeconds() : 30) + 5",message="spec.terminationGracePeriodSeconds must be at least spec.preStopDelaySeconds + 3 × spec.shutdownTimeout + 5 (the server exits on its own after 3 × shutdownTimeout + 5 s); remove it to get that plus a margin",fieldPath=".terminationGracePeriodSeconds",reason="FieldValueInvalid"
// +kubebuilder:validation:XValidation:rule="!(has(self.percona) && self.percona.enabled && has(self.database) && has(self.database.postgresSecretRef))",message="spec.database.postgresSecretRef and spec.percona.enabled are mutually exclusive: the Percona cluster provides the database",fieldPath=".database.postgresSecretRef",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="has(self.bootstrap) == has(oldSelf.bootstrap) && (!has(self.bootstrap) || self.bootstrap == oldSelf.bootstrap)",message="spec.bootstrap is immutable: it is set only when the DittoServer is created",fieldPath=".bootstrap",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.s3) || has(self.s3)",message="spec.s3 cannot be removed once set: shares keep their blocks in its bucket and stay bound to the remote store",fieldPath=".s3",reason="FieldValueForbidden"
type DittoServerSpec struct {
	// Image is the DittoFS server image.
	// +kubebuilder:default="marmos91c/dittofs:v0.29.0"
	// +kubebuilder:validation:MinLength=1
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy is the pull policy of the DittoFS container.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets are the Secrets used to pull the image.
	// +optional
	// +listType=atomic
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// Replicas is the number of server pods: 1 to run the server, 0 to stop it
	// while keeping its volumes. DittoFS runs one server per set of volumes.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:XValidation:rule="self <= 1",message="spec.replicas must be 0 or 1: DittoFS runs a single server per set of volumes"
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Paused stops every change to the server's Kubernetes objects (the
	// StatefulSet, its pods, the Services, the ConfigMap and the Secrets) so
	// that a cluster operator can work on them by hand: while it is true, spec
	// edits are not applied and the operator writes no child, but it still
	// reports the server's state in status (condition Paused). Nothing is
	// sent to the server's REST API either: its stores, users and shares are
	// left as they are, and DittoShares and DittoUsers keep their status.
	// Setting it back to false applies the spec as it then stands. Deleting a
	// paused DittoServer still deletes it.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// Storage sizes the server's persistent volumes: metadata and content.
	// Sizes can grow, never shrink: when the StorageClass allows volume
	// expansion, the operator raises the running server's claims and reports
	// their progress in the StorageResized condition; when it does not, that
	// condition and one Warning event say so and nothing changes. The
	// StorageClass, and whether contentSize is set, cannot change.
	// +required
	Storage StorageSpec `json:"storage"`

	// DeletionPolicy says what deleting the DittoServer does to its data.
	// Retain (the default) keeps the volume claims, the generated credentials
	// Secrets (<name>-generated or <name>-jwt and <name>-admin,
	// <name>-operator) and a Percona
	// cluster with deleteWithServer false: a DittoServer created later under
	// the same name finds and uses them, and can log in with the same admin
	// password. Delete removes all of them with the DittoServer, the Percona
	// cluster included whatever deleteWithServer says: every file, the
	// database and the credentials are gone.
	// +kubebuilder:validation:Enum=Retain;Delete
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Tenants says from which namespaces DittoShares and DittoUsers may
	// attach to this server, as a Gateway's allowedRoutes does for routes:
	// only this namespace by default. A team whose namespace is allowed
	// declares shares and users in its own namespace (naming this server by
	// namespace and name) and needs no rights in the server's namespace.
	// +optional
	Tenants *TenantsSpec `json:"tenants,omitempty"`

	// Backup holds the defaults of the server's DittoBackups.
	// +optional
	Backup *ServerBackupSpec `json:"backup,omitempty"`

	// Bootstrap creates the server from existing data. Set only at creation:
	// it cannot be added, changed or removed later.
	// +optional
	Bootstrap *BootstrapSpec `json:"bootstrap,omitempty"`

	// Database selects the control-plane database: SQLite on a persistent
	// volume, or PostgreSQL.
	// +kubebuilder:default={}
	// +optional
	Database *DatabaseSpec `json:"database,omitempty"`

	// Metrics exposes the server's Prometheus metrics.
	// +kubebuilder:default={}
	// +optional
	Metrics *MetricsSpec `json:"metrics,omitempty"`

	// NetworkPolicy restricts who reaches the server's pods: the REST API
	// only from the operator and the namespaces listed, NFS and SMB only from
	// the clients selected. Off by default.
	// +optional
	NetworkPolicy *NetworkPolicySpec `json:"networkPolicy,omitempty"`

	// ControlPlane configures the server's REST API listener.
	// +kubebuilder:default={}
	// +optional
	ControlPlane *ControlPlaneSpec `json:"controlPlane,omitempty"`

	// Identity configures API authentication: the JWT signing secret and the
	// initial administrator.
	// +kubebuilder:default={}
	// +optional
	Identity *IdentitySpec `json:"identity,omitempty"`

	// Service configures the Service that exposes the file protocols.
	// +kubebuilder:default={}
	// +optional
	Service *ServiceSpec `json:"service,omitempty"`

	// NFSPort is the NFS port of the file Service (the container listens on 12049).
	// +kubebuilder:default=2049
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	NFSPort *int32 `json:"nfsPort,omitempty"`

	// SMB exposes the SMB adapter on the file Service.
	// +kubebuilder:default={}
	// +optional
	SMB *SMBSpec `json:"smb,omitempty"`

	// Portmapper runs the server's portmapper and exposes it on port 111 of
	// the file Service, for NFSv3 clients that discover the NFS and mount
	// ports through it instead of being given them.
	// +kubebuilder:default={}
	// +optional
	Portmapper *PortmapperSpec `json:"portmapper,omitempty"`

	// S3 gives the server credentials for S3 payload stores. It can be added
	// to a server without it; once set it cannot be removed, nor its bucket
	// or region changed: every share created with it keeps its blocks in
	// that bucket (a share's stores are bound at its creation, never after).
	// +optional
	S3 *S3Spec `json:"s3,omitempty"`

	// Percona runs a Percona PostgreSQL cluster for the control-plane database.
	// Requires the Percona Operator for PostgreSQL in the cluster.
	// +optional
	Percona *PerconaSpec `json:"percona,omitempty"`

	// Resources are the DittoFS container's compute resources.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// SecurityContext is merged field by field over the operator's hardened
	// container defaults (non-root, no privilege escalation, all capabilities dropped).
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`

	// PodSecurityContext is merged field by field over the operator's pod defaults
	// (runAsNonRoot, uid/gid/fsGroup 65532, seccomp RuntimeDefault).
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// NodeSelector constrains the server pod to matching nodes.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations of the server pod.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// Affinity of the server pod.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// TopologySpreadConstraints spread the server pod across zones or nodes,
	// usually together with other DittoServers: their pods carry the labels
	// app.kubernetes.io/name=dittofs and app.kubernetes.io/instance=<name>.
	// Changing them restarts the server.
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// PriorityClassName is the PriorityClass of the server pod, so that a
	// file server is not the first pod evicted from a full node. Changing it
	// restarts the server.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// ServiceAccountName is the ServiceAccount the server pod runs as (the
	// namespace's "default" when unset), for example one that a cloud's
	// workload identity maps to an S3 role. The pod does not mount its API
	// token: the server calls no Kubernetes API. Changing it restarts the
	// server.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// PodMetadata adds labels and annotations (cost centre, team, a mesh's
	// settings) to the server pod. Changing them restarts the server.
	// +optional
	PodMetadata *PodMetadata `json:"podMetadata,omitempty"`

	// Env adds environment variables to the DittoFS container. A DITTOFS_*
	// variable overrides the config.yaml key it names (DITTOFS_LOGGING_LEVEL
	// sets logging.level). The variables the operator sets itself are
	// refused: the credentials it passes from Secrets and the sections it
	// renders from this spec (DITTOFS_CONTROLPLANE_*, DITTOFS_DATABASE_*,
	// DITTOFS_ADMIN_*, DITTOFS_METRICS_*, DITTOFS_SHUTDOWN_TIMEOUT, and
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION
	// from spec.s3). Changing spec.env restarts the server; a change inside
	// a Secret or ConfigMap it references does not (restart the server for
	// it).
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:XValidation:rule="self.all(e, !(e.name in ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'DITTOFS_SHUTDOWN_TIMEOUT']) && !e.name.startsWith('DITTOFS_CONTROLPLANE_') && !e.name.startsWith('DITTOFS_DATABASE_') && !e.name.startsWith('DITTOFS_ADMIN_') && !e.name.startsWith('DITTOFS_METRICS_'))",message="spec.env must not set a variable the operator sets: DITTOFS_CONTROLPLANE_*, DITTOFS_DATABASE_*, DITTOFS_ADMIN_*, DITTOFS_METRICS_*, DITTOFS_SHUTDOWN_TIMEOUT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL or AWS_REGION; use the DittoServer's own fields for them",reason="FieldValueForbidden"
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// ShutdownTimeout bounds each stage of the server's graceful shutdown
	// (rendered as shutdown_timeout in its configuration).
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="spec.shutdownTimeout must be between 1s and 1h"
	// +optional
	ShutdownTimeout *metav1.Duration `json:"shutdownTimeout,omitempty"`

	// TerminationGracePeriodSeconds overrides the pod's grace period. The default,
	// preStopDelaySeconds + 3 × shutdownTimeout + 10, lets the server drain and
	// flush; an override shorter than preStopDelaySeconds + 3 × shutdownTimeout + 5
	// (when the server exits on its own) is refused.
	// +kubebuilder:validation:Minimum=1
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// Probes overrides the timing of the server's HTTP probes.
	// +optional
	Probes *ProbesSpec `json:"probes,omitempty"`

	// PreStopDelaySeconds is how long the pod waits before the server receives
	// SIGTERM, so that endpoints and load balancers stop routing to it first.
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=300
	// +optional
	PreStopDelaySeconds *int32 `json:"preStopDelaySeconds,omitempty"`
}

// StorageSpec sizes the server's persistent volumes. A server claims two:
//   - metadata (/data/metadata): the metadata store (badger, in
//     /data/metadata/store) and, with SQLite, the control-plane database,
//     whose directory /data/controlplane is this volume's subdirectory
//     "controlplane";
//   - content (/data/content): the local block store, in
//     /data/content/blocks, which holds every share's data without S3 and is
//     the write-through cache in front of S3 with it.
//
// Servers created before this layout keep the volumes they were created
// with (metadata, content when contentSize was set, cache and controlplane):
// their claims are neither deleted nor re-pointed.
//
// Sizes can grow and never shrink; the StorageClass and whether contentSize
// is set are fixed at creation.
//
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="spec.storage.storageClassName is immutable: a volume cannot move to another StorageClass; only sizes can grow",fieldPath=".storageClassName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="(has(self.contentSize) && quantity(string(self.contentSize)).compareTo(quantity('0')) != 0) == (has(oldSelf.contentSize) && quantity(string(oldSelf.contentSize)).compareTo(quantity('0')) != 0)",message="spec.storage.contentSize cannot be set or unset after creation: it decides which volume holds the block store; grow spec.storage.cacheSize instead when it is unset",fieldPath=".contentSize",reason="FieldValueForbidden"
type StorageSpec struct {
	// MetadataSize is the size of the metadata volume (mounted at
	// /data/metadata): the metadata store and, with SQLite, the control-plane
	// database (mounted again at /data/controlplane; a few MiB).
	// Can grow, never shrink.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="spec.storage.metadataSize cannot shrink: volume sizes can grow, never shrink",reason="FieldValueForbidden"
	// +required
	MetadataSize resource.Quantity `json:"metadataSize"`

	// ContentSize is the size of the content volume (mounted at
	// /data/content), which holds the local block store: all file data
	// without S3, the write-through cache with S3. When unset (or 0) the
	// content volume is cacheSize large. Can grow, never shrink; cannot be
	// set or unset after creation.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="spec.storage.contentSize cannot shrink: volume sizes can grow, never shrink",reason="FieldValueForbidden"
	// +optional
	ContentSize *resource.Quantity `json:"contentSize,omitempty"`

	// CacheSize sizes the content volume when contentSize is unset. With S3
	// the server bounds its local cache to the content volume less 10%
	// (at least 1Gi, at most half) of headroom.
	// Servers created before the two-volume layout have a separate cache
	// volume (mounted at /data/cache) of this size. Can grow, never shrink.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="spec.storage.cacheSize cannot shrink: volume sizes can grow, never shrink",reason="FieldValueForbidden"
	// +kubebuilder:default="5Gi"
	// +optional
	CacheSize *resource.Quantity `json:"cacheSize,omitempty"`

	// ControlPlaneSize only matters for servers created before the
	// two-volume layout: the size of their controlplane volume (mounted at
	// /data/controlplane). New servers keep the control-plane database on
	// the metadata volume and claim nothing for it. Can grow, never shrink.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="spec.storage.controlPlaneSize cannot shrink: volume sizes can grow, never shrink",reason="FieldValueForbidden"
	// +kubebuilder:default="1Gi"
	// +optional
	ControlPlaneSize *resource.Quantity `json:"controlPlaneSize,omitempty"`

	// StorageClassName is the StorageClass of every volume; the cluster's
	// default StorageClass when unset. Immutable. Growing a size needs a
	// StorageClass with allowVolumeExpansion: true.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// Phase summarises a DittoServer's state for humans.
type Phase string

const (
	// PhasePending: the server is being created or is not ready yet.
	PhasePending Phase = "Pending"
	// PhaseRunning: every requested replica is ready.
	PhaseRunning Phase = "Running"
	// PhaseStopped: replicas is 0; volumes are kept.
	PhaseStopped Phase = "Stopped"
	// PhaseFailed: the spec cannot be realised as it stands; see the conditions.
	PhaseFailed Phase = "Failed"
	// PhaseDeleting: the DittoServer is being deleted.
	PhaseDeleting Phase = "Deleting"
)

// TenantNamespaces says which namespaces may attach to a server.
// +kubebuilder:validation:Enum=Same;All;Selector
type TenantNamespaces string

const (
	// TenantsSame allows only the DittoServer's own namespace.
	TenantsSame TenantNamespaces = "Same"
	// TenantsAll allows every namespace.
	TenantsAll TenantNamespaces = "All"
	// TenantsSelector allows the namespaces whose labels match a selector.
	TenantsSelector TenantNamespaces = "Selector"
)

// TenantsSpec says from which namespaces DittoShares and DittoUsers may
// attach to a DittoServer.
//
// +kubebuilder:validation:XValidation:rule="(self.from == 'Selector') == has(self.selector)",message="spec.tenants.selector is required when spec.tenants.from is Selector, and only then"
type TenantsSpec struct {
	// From is Same (this namespace only, the default), All (every
	// namespace) or Selector (the namespaces spec.tenants.selector matches;
	// the DittoServer's own namespace always may).
	// +kubebuilder:default=Same
	// +optional
	From TenantNamespaces `json:"from,omitempty"`

	// Selector matches the labels of the namespaces that may attach, when
	// from is Selector.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// ServerBackupSpec holds the defaults of a server's DittoBackups.
type ServerBackupSpec struct {
	// VolumeSnapshotClassName is the VolumeSnapshotClass of the server's
	// backups that name none; without it, the cluster's default class for
	// the CSI driver of the server's claims.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:MinLength=1
	// +optional
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`
}

// BootstrapSpec creates a server from existing data.
type BootstrapSpec struct {
	// FromBackup restores a Completed DittoBackup: the server's claims are
	// created from the backup's VolumeSnapshots and its credentials Secrets
	// from the backup's, so it accepts the same admin password, operator
	// account and users. Nothing is created until the backup is Completed
	// and, from another namespace, its spec.restoreNamespaces admits this
	// one (condition Ready=False, reason BackupNotReady, until then). The
	// claims must be at least as large as the backup's.
	// +kubebuilder:validation:XValidation:rule="size(self.name) > 0",message="spec.bootstrap.fromBackup.name is required: the DittoBackup to restore",fieldPath=".name",reason="FieldValueRequired"
	// +required
	FromBackup *BackupReference `json:"fromBackup"`
}

// BackupReference names a DittoBackup.
type BackupReference struct {
	// Name of the DittoBackup.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace of the DittoBackup; the server's namespace when empty.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// DittoServerStatus is the observed state of a DittoFS server.
type DittoServerStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Replicas is the number of server pods.
	// +optional
	Replicas int32 `json:"replicas"`

	// ReadyReplicas is the number of server pods that are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`

	// AvailableReplicas is the number of server pods that are available.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`

	// Selector is the label selector of the server pods (for the scale subresource).
	// +optional
	Selector string `json:"selector,omitempty"`

	// NFSEndpoint is the host:port NFS clients mount (mount options
	// port=<port>,mountport=<port>: the server answers the mount protocol on
	// its NFS port). With spec.service.type LoadBalancer it is the load
	// balancer's address once the cluster assigned one; with NodePort,
	// "<node-address>:<node port>" once the node port is allocated (any
	// node's address, or the server pod's node with externalTrafficPolicy
	// Local); otherwise, and until then, the file Service's in-cluster DNS name.
	// +optional
	NFSEndpoint string `json:"nfsEndpoint,omitempty"`

	// SMBEndpoint is the host:port SMB clients connect to, chosen like
	// nfsEndpoint; empty while SMB is disabled.
	// +optional
	SMBEndpoint string `json:"smbEndpoint,omitempty"`

	// Phase summarises the state: Pending, Running, Stopped, Failed or Deleting.
	// +kubebuilder:validation:Enum=Pending;Running;Stopped;Failed;Deleting
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// ConfigHash is the hash of the configuration the pods run with.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// PerconaClusterName is the PerconaPGCluster that holds the database.
	// +optional
	PerconaClusterName string `json:"perconaClusterName,omitempty"`

	// Stores are the stores the operator declared on the server through its
	// REST API, as the server last reported them.
	// +listType=map
	// +listMapKey=kind
	// +optional
	Stores []ServerStore `json:"stores,omitempty"`

	// Shares is the number of DittoShares that reference this server.
	// +optional
	Shares int32 `json:"shares,omitempty"`

	// SharesReady is the number of those DittoShares that the server exports
	// as declared.
	// +optional
	SharesReady int32 `json:"sharesReady,omitempty"`

	// S3CredentialsVersion is the resourceVersion of the S3 credentials Secret
	// whose values the remote block store was last given; a newer Secret
	// gives the store the new credentials. The server never shows them back.
	// +optional
	S3CredentialsVersion string `json:"s3CredentialsVersion,omitempty"`

	// Conditions: Ready, Available, Progressing, ConfigReady, PodsHealthy
	// (False with the kubelet's or the scheduler's reason and message when a
	// server pod cannot pull its image, crash-loops or cannot be scheduled)
	// and, when PostgreSQL is used, DatabaseReady; Paused while spec.paused
	// holds the children; StoresReady and SharesReady for the state inside
	// the server.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// StoreKind is the role of a store on the server.
// +kubebuilder:validation:Enum=metadata;local;remote
type StoreKind string

const (
	StoreKindMetadata StoreKind = "metadata"
	StoreKindLocal    StoreKind = "local"
	StoreKindRemote   StoreKind = "remote"
)

// ServerStore is one store the operator declared on the server.
type ServerStore struct {
	// Kind is the store's role: metadata, local (block) or remote (block).
	// +required
	Kind StoreKind `json:"kind"`
	// Name of the store on the server; shares refer to it.
	// +required
	Name string `json:"name"`
	// Type is the store's engine: badger, fs or s3.
	// +optional
	Type string `json:"type,omitempty"`
	// Location is where the store keeps its data: a directory in the pod, or
	// the S3 bucket.
	// +optional
	Location string `json:"location,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true

// DittoServerList is a list of DittoServers.
type DittoServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the DittoServers.
	Items []DittoServer `json:"items"`
}
