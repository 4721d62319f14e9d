package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DatabaseType names a control-plane database engine.
// +kubebuilder:validation:Enum=sqlite;postgres
type DatabaseType string

const (
	// DatabaseSQLite keeps the control-plane state in a SQLite file on a persistent volume.
	DatabaseSQLite DatabaseType = "sqlite"
	// DatabasePostgres keeps the control-plane state in PostgreSQL.
	DatabasePostgres DatabaseType = "postgres"
)

// DatabaseSpec selects the control-plane database.
type DatabaseSpec struct {
	// Type is the database engine.
	// +kubebuilder:default=sqlite
	// +optional
	Type DatabaseType `json:"type,omitempty"`

	// SQLite configures the SQLite database.
	// +kubebuilder:default={}
	// +optional
	SQLite *SQLiteSpec `json:"sqlite,omitempty"`

	// PostgresSecretRef names a Secret with the keys host, port, user, password
	// and dbname (the layout the Percona operator writes). Required when type is
	// postgres and Percona is not enabled.
	// +optional
	PostgresSecretRef *corev1.LocalObjectReference `json:"postgresSecretRef,omitempty"`

	// SSLMode is the PostgreSQL sslmode. Percona clusters accept only TLS
	// connections. Certificate verification (verify-ca, verify-full) needs a
	// CA bundle the server cannot be given yet, so it is not offered.
	// +kubebuilder:validation:Enum=disable;require
	// +kubebuilder:default=require
	// +optional
	SSLMode string `json:"sslMode,omitempty"`
}

// SQLiteSpec configures the SQLite control-plane database.
type SQLiteSpec struct {
	// Path of the database file, under /data/controlplane: a subdirectory of
	// the metadata volume.
	// +kubebuilder:default="/data/controlplane/controlplane.db"
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/data/controlplane/') && size(self) > size('/data/controlplane/') && !self.contains('/../') && !self.endsWith('/..')",message="spec.database.sqlite.path must be a file under /data/controlplane/, the persistent control-plane volume, with no '..' segment"
	// +optional
	Path string `json:"path,omitempty"`
}

// MetricsSpec exposes the server's Prometheus metrics.
// +kubebuilder:validation:XValidation:rule="!has(self.serviceMonitor) || !self.serviceMonitor.enabled || self.enabled",message="spec.metrics.serviceMonitor.enabled requires spec.metrics.enabled: the ServiceMonitor scrapes the metrics Service",fieldPath=".serviceMonitor.enabled",reason="FieldValueInvalid"
type MetricsSpec struct {
	// Enabled turns the metrics listener and the metrics Service on.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Port of the metrics listener and Service.
	// +kubebuilder:default=9090
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 12049 && self != 1445",message="spec.metrics.port must not be 12049 or 1445: the server's NFS and SMB adapters listen there"
	// +optional
	Port *int32 `json:"port,omitempty"`

	// ServiceMonitor asks for a Prometheus Operator ServiceMonitor that
	// scrapes the metrics Service; made only while the ServiceMonitor CRD
	// (monitoring.coreos.com/v1) is installed.
	// +optional
	ServiceMonitor *ServiceMonitorSpec `json:"serviceMonitor,omitempty"`
}

// ControlPlaneSpec configures the REST API listener.
type ControlPlaneSpec struct {
	// Port of the REST API (also used by the health probes).
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 12049 && self != 1445",message="spec.controlPlane.port must not be 12049 or 1445: the server's NFS and SMB adapters listen there"
	// +optional
	Port *int32 `json:"port,omitempty"`

	// TLS of the REST API. Without it the API is served over HTTPS with a
	// certificate the operator issues from a CA of this server and renews
	// (see docs/security.md); secretName serves a certificate of your own;
	// mode Disabled serves plain HTTP. The probes use HTTPS whenever TLS is
	// on, and the operator verifies the server's certificate for the Service
	// DNS name <name>-api.<namespace>.svc, which the certificate must carry.
	// +optional
	TLS *ControlPlaneTLSSpec `json:"tls,omitempty"`
}

// TLSMode says whether the REST API serves HTTPS.
// +kubebuilder:validation:Enum=Enabled;Disabled
type TLSMode string

const (
	// TLSModeEnabled serves HTTPS: with spec.controlPlane.tls.secretName's
	// certificate, or one the operator issues.
	TLSModeEnabled TLSMode = "Enabled"
	// TLSModeDisabled serves plain HTTP: the operator's credentials, tokens and
	// user passwords then cross the pod network in clear.
	TLSModeDisabled TLSMode = "Disabled"
)

// ControlPlaneTLSSpec selects the REST API's server certificate.
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'Disabled' || !has(self.secretName)",message="spec.controlPlane.tls.secretName must not be set when spec.controlPlane.tls.mode is Disabled",fieldPath=".secretName",reason="FieldValueForbidden"
type ControlPlaneTLSSpec struct {
	// Mode is Enabled (HTTPS, the default) or Disabled (plain HTTP).
	// +kubebuilder:default=Enabled
	// +optional
	Mode TLSMode `json:"mode,omitempty"`

	// SecretName is a Secret of type kubernetes.io/tls in the DittoServer's
	// namespace (for example one cert-manager issues) with tls.crt and
	// tls.key, mounted read-only at /tls. Its optional ca.crt is the CA the
	// operator verifies the server with; without it the operator uses the
	// system roots. A renewed certificate restarts the server. Without
	// secretName the operator issues the certificate into
	// <name>-api-tls from its CA in <name>-ca.
	// +kubebuilder:validation:MinLength=1
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// MinVersion is the lowest TLS version the server accepts.
	// +kubebuilder:validation:Enum="1.2";"1.3"
	// +kubebuilder:default="1.2"
	// +optional
	MinVersion string `json:"minVersion,omitempty"`
}

// IdentitySpec configures API authentication.
type IdentitySpec struct {
	// JWT configures the tokens of the REST API.
	// +kubebuilder:default={}
	// +optional
	JWT *JWTSpec `json:"jwt,omitempty"`

	// Admin configures the initial administrator.
	// +kubebuilder:default={}
	// +optional
	Admin *AdminSpec `json:"admin,omitempty"`
}

// JWTSpec configures the REST API's tokens.
type JWTSpec struct {
	// SecretRef selects a Secret key holding the signing secret (at least 32
	// characters). When unset the operator generates it into the Secret
	// <name>-generated (key jwt-secret), or <name>-jwt for a server that
	// has <name>-jwt or <name>-admin from an earlier operator version.
	// +optional
	SecretRef *corev1.SecretKeySelector `json:"secretRef,omitempty"`

	// AccessTokenDuration is the lifetime of access tokens.
	// +kubebuilder:default="15m"
	// +optional
	AccessTokenDuration *metav1.Duration `json:"accessTokenDuration,omitempty"`

	// RefreshTokenDuration is the lifetime of refresh tokens.
	// +kubebuilder:default="168h"
	// +optional
	RefreshTokenDuration *metav1.Duration `json:"refreshTokenDuration,omitempty"`
}

// AdminSpec configures the initial administrator.
type AdminSpec struct {
	// Username of the administrator, rendered as admin.username. DittoFS
	// v0.29.0 creates its initial administrator as "admin" whatever this says.
	// +kubebuilder:default=admin
	// +kubebuilder:validation:MinLength=1
	// +optional
	Username string `json:"username,omitempty"`

	// PasswordSecretRef selects a Secret key holding the initial password. When
	// unset the operator generates a random password into the Secret
	// <name>-generated (key password), or <name>-admin for a server that
	// has <name>-jwt or <name>-admin from an earlier operator version.
	// +optional
	PasswordSecretRef *corev1.SecretKeySelector `json:"passwordSecretRef,omitempty"`
}

// ServiceSpec configures the file Service: NFS on nfsPort (the mount
// protocol is served on the same port, so NFSv3 clients need no portmapper)
// and SMB when enabled. Changing it never restarts the server.
//
// +kubebuilder:validation:XValidation:rule="!has(self.externalTrafficPolicy) || (has(self.type) && self.type != 'ClusterIP')",message="spec.service.externalTrafficPolicy applies only when spec.service.type is LoadBalancer or NodePort: a ClusterIP Service receives no external traffic",fieldPath=".externalTrafficPolicy",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!has(self.loadBalancerSourceRanges) || size(self.loadBalancerSourceRanges) == 0 || (has(self.type) && self.type == 'LoadBalancer')",message="spec.service.loadBalancerSourceRanges applies only when spec.service.type is LoadBalancer",fieldPath=".loadBalancerSourceRanges",reason="FieldValueForbidden"
type ServiceSpec struct {
	// Type of the file Service. LoadBalancer and NodePort reach clients
	// outside the cluster; status.nfsEndpoint and status.smbEndpoint show the
	// address they use.
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	// +kubebuilder:default=ClusterIP
	// +optional
	Type corev1.ServiceType `json:"type,omitempty"`

	// Annotations added to the file Service (for example, load balancer settings).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// LoadBalancerSourceRanges limits the clients a LoadBalancer Service
	// accepts to these CIDRs (for example the office and VPN ranges), where
	// the cloud's load balancer supports it. Only with type LoadBalancer.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(r, isCIDR(r))",message="spec.service.loadBalancerSourceRanges must hold CIDRs such as 203.0.113.0/24 or 2001:db8::/32"
	// +listType=atomic
	// +optional
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`

	// ExternalTrafficPolicy of the file Service: Cluster (the Kubernetes
	// default) lets every node forward to the server; Local keeps the
	// client's source address, which the server sees, and sends traffic only
	// to the node that runs the server pod. Only with type LoadBalancer or
	// NodePort.
	// +kubebuilder:validation:Enum=Cluster;Local
	// +optional
	ExternalTrafficPolicy corev1.ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`
}

// PodMetadata holds labels and annotations for the server pod.
type PodMetadata struct {
	// Labels added to the server pod. The operator's own labels, which the
	// StatefulSet and the Services select the pod with, are refused:
	// app.kubernetes.io/name, app.kubernetes.io/instance,
	// app.kubernetes.io/managed-by, app.kubernetes.io/component and any key
	// under dittofs.dittofs.com/.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k in ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/component']) && !k.startsWith('dittofs.dittofs.com/'))",message="spec.podMetadata.labels must not set the operator's labels app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/managed-by, app.kubernetes.io/component or keys under dittofs.dittofs.com/: the StatefulSet and the Services select the server pod with them",reason="FieldValueForbidden"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations added to the server pod. Keys under dittofs.dittofs.com/
	// and kubectl.kubernetes.io/default-container are the operator's and are
	// refused.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k != 'kubectl.kubernetes.io/default-container' && !k.startsWith('dittofs.dittofs.com/'))",message="spec.podMetadata.annotations must not set keys under dittofs.dittofs.com/ or kubectl.kubernetes.io/default-container: the operator sets them on the server pod",reason="FieldValueForbidden"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SMBSpec exposes the SMB adapter.
type SMBSpec struct {
	// Enabled adds the SMB port to the container and the file Service.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Port is the SMB port of the file Service (the container listens on 1445).
	// +kubebuilder:default=445
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
}

// PortmapperSpec runs the server's portmapper (ONC RPC portmap v2 and
// rpcbind, on TCP and UDP). The server's NFS port answers the mount protocol
// too, so clients given port=2049,mountport=2049 (or the nfsPort) need no
// portmapper; it is for clients that ask for the ports, such as a plain
// "mount -t nfs -o vers=3", showmount and rpcinfo.
type PortmapperSpec struct {
	// Enabled turns the server's portmapper on (container port 10111) and
	// exposes it on port 111, TCP and UDP, of the file Service. The
	// portmapper answers with the container's NFS and mount port, 12049, so
	// the file Service also exposes 12049 (unless nfsPort is 12049).
	// Changing it restarts the server (the container's ports change), and the
	// operator then restarts the NFS adapter once more through the server's
	// API, since the server reads the setting when the adapter starts.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
}

// S3Spec gives the server access to S3 for payload stores.
// +kubebuilder:validation:XValidation:rule="has(self.bucket) == has(oldSelf.bucket) && (!has(self.bucket) || self.bucket == oldSelf.bucket)",message="spec.s3.bucket is immutable: shares keep their blocks in that bucket",fieldPath=".bucket",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="(has(self.region) ? self.region : 'eu-west-1') == (has(oldSelf.region) ? oldSelf.region : 'eu-west-1')",message="spec.s3.region is immutable: shares keep their blocks in the bucket of that region",fieldPath=".region",reason="FieldValueForbidden"
type S3Spec struct {
	// CredentialsSecretRef names the Secret with the S3 credentials and endpoint.
	// +optional
	CredentialsSecretRef *S3CredentialsSecretRef `json:"credentialsSecretRef,omitempty"`

	// Region of the bucket (AWS_REGION).
	// +kubebuilder:default=eu-west-1
	// +optional
	Region string `json:"region,omitempty"`

	// Bucket is the bucket that payload stores use. It must exist beforehand:
	// neither the server nor the operator creates it. Immutable once set.
	// +optional
	Bucket string `json:"bucket,omitempty"`

	// AllowPrivateEndpoint lets the endpoint be a loopback, private or other
	// non-global address, or a name that resolves to one (an S3 service inside
	// the cluster, such as MinIO at minio.minio.svc). It turns off the DittoFS
	// server's guard against server-side request forgery for private addresses
	// (allow_private_endpoint of the remote store): with it, whoever can write
	// the endpoint into the credentials Secret can make the server connect to
	// any address of the private network, except link-local ones (cloud
	// metadata), which the server always refuses. Set it only when the
	// endpoint is meant to be private and the Secret is written by people you
	// trust with that. Default false: a private endpoint is refused with
	// StoresReady=False (InvalidSpec).
	// +optional
	AllowPrivateEndpoint bool `json:"allowPrivateEndpoint,omitempty"`
}

// S3CredentialsSecretRef names a Secret and the keys inside it.
type S3CredentialsSecretRef struct {
	// SecretName is the name of the Secret in the DittoServer's namespace.
	// +kubebuilder:validation:MinLength=1
	// +required
	SecretName string `json:"secretName"`

	// AccessKeyIDKey is the key of the access key ID.
	// +kubebuilder:default=accessKeyId
	// +optional
	AccessKeyIDKey string `json:"accessKeyIdKey,omitempty"`

	// SecretAccessKeyKey is the key of the secret access key.
	// +kubebuilder:default=secretAccessKey
	// +optional
	SecretAccessKeyKey string `json:"secretAccessKeyKey,omitempty"`

	// EndpointKey is the key of the endpoint URL (optional in the Secret).
	// +kubebuilder:default=endpoint
	// +optional
	EndpointKey string `json:"endpointKey,omitempty"`
}

// PerconaSpec runs a Percona PostgreSQL cluster <name>-postgres for the
// control-plane database. While enabled, only deleteWithServer can change:
// the operator creates the cluster once and leaves later changes of it to
// its owner, so an edit here it would not carry is refused.
//
// +kubebuilder:validation:XValidation:rule="!oldSelf.enabled || !self.enabled || (has(self.replicas) == has(oldSelf.replicas) && (!has(self.replicas) || self.replicas == oldSelf.replicas))",message="spec.percona.replicas cannot change while Percona is enabled: the operator creates the PerconaPGCluster <name>-postgres once and never overwrites it (it is your database); edit spec.instances[0].replicas on the PerconaPGCluster itself",fieldPath=".replicas",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!oldSelf.enabled || !self.enabled || (has(self.storageSize) == has(oldSelf.storageSize) && (!has(self.storageSize) || self.storageSize == oldSelf.storageSize))",message="spec.percona.storageSize cannot change while Percona is enabled: the operator creates the PerconaPGCluster <name>-postgres once and never overwrites it (it is your database); edit spec.instances[0].dataVolumeClaimSpec on the PerconaPGCluster itself",fieldPath=".storageSize",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!oldSelf.enabled || !self.enabled || (has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName))",message="spec.percona.storageClassName cannot change while Percona is enabled: the operator creates the PerconaPGCluster <name>-postgres once and never overwrites it (it is your database); edit spec.instances[0].dataVolumeClaimSpec on the PerconaPGCluster itself",fieldPath=".storageClassName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!oldSelf.enabled || !self.enabled || (has(self.databaseName) == has(oldSelf.databaseName) && (!has(self.databaseName) || self.databaseName == oldSelf.databaseName))",message="spec.percona.databaseName cannot change while Percona is enabled: the operator creates the PerconaPGCluster <name>-postgres once and never overwrites it (it is your database); edit spec.users on the PerconaPGCluster itself",fieldPath=".databaseName",reason="FieldValueForbidden"
// +kubebuilder:validation:XValidation:rule="!oldSelf.enabled || !self.enabled || (has(self.backup) == has(oldSelf.backup) && (!has(self.backup) || self.backup == oldSelf.backup))",message="spec.percona.backup cannot change while Percona is enabled: the operator creates the PerconaPGCluster <name>-postgres once and never overwrites it (it is your database); edit spec.backups on the PerconaPGCluster itself",fieldPath=".backup",reason="FieldValueForbidden"
type PerconaSpec struct {
	// Enabled creates the PerconaPGCluster and points the server at it.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// DeleteWithServer deletes the PostgreSQL cluster when the DittoServer is
	// deleted. When false (the default) the cluster and its data are kept: it
	// then has no owner reference, so no deletion of the DittoServer
	// (foreground, background or orphan) lets the garbage collector take it,
	// and a DittoServer created later under the same name uses it again.
	// Can change at any time.
	// +kubebuilder:default=false
	// +optional
	DeleteWithServer bool `json:"deleteWithServer,omitempty"`

	// Replicas is the number of PostgreSQL instances.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// StorageSize is the size of each instance's data volume.
	// +kubebuilder:default="10Gi"
	// +optional
	StorageSize *resource.Quantity `json:"storageSize,omitempty"`

	// StorageClassName of the data volumes; the cluster default when unset.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// DatabaseName is the database created for DittoFS.
	// +kubebuilder:default=dittofs
	// +kubebuilder:validation:MinLength=1
	// +optional
	DatabaseName string `json:"databaseName,omitempty"`

	// Backup configures pgBackRest backups to S3.
	// +optional
	Backup *PerconaBackupSpec `json:"backup,omitempty"`
}

// PerconaBackupSpec configures pgBackRest backups to an S3 repository.
//
// +kubebuilder:validation:XValidation:rule="!self.enabled || (has(self.bucket) && size(self.bucket) > 0)",message="spec.percona.backup.bucket is required when backup is enabled",fieldPath=".bucket",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!self.enabled || (has(self.endpoint) && size(self.endpoint) > 0)",message="spec.percona.backup.endpoint is required when backup is enabled",fieldPath=".endpoint",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!self.enabled || has(self.credentialsSecretRef)",message="spec.percona.backup.credentialsSecretRef is required when backup is enabled",fieldPath=".credentialsSecretRef",reason="FieldValueRequired"
type PerconaBackupSpec struct {
	// Enabled turns scheduled backups on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// CredentialsSecretRef names a Secret with a pgBackRest s3.conf key
	// (repo1-s3-key and repo1-s3-key-secret under [global]).
	// +optional
	CredentialsSecretRef *corev1.LocalObjectReference `json:"credentialsSecretRef,omitempty"`

	// Bucket of the backup repository.
	// +optional
	Bucket string `json:"bucket,omitempty"`

	// Endpoint of the S3 service.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// Region of the bucket.
	// +kubebuilder:default=us-east-1
	// +optional
	Region string `json:"region,omitempty"`

	// FullSchedule is the cron schedule of full backups.
	// +kubebuilder:default="0 2 * * *"
	// +optional
	FullSchedule string `json:"fullSchedule,omitempty"`

	// IncrSchedule is the cron schedule of incremental backups.
	// +kubebuilder:default="0 * * * *"
	// +optional
	IncrSchedule string `json:"incrSchedule,omitempty"`

	// RetentionDays is how many days of full backups are kept.
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=1
	// +optional
	RetentionDays *int32 `json:"retentionDays,omitempty"`
}

// ProbesSpec overrides the timing of the server's probes; the handlers
// (HTTP GET /health and /health/ready on the API port) are fixed.
type ProbesSpec struct {
	// Liveness overrides the liveness probe timing (defaults 15/10/5/1/3).
	// +kubebuilder:validation:XValidation:rule="!has(self.successThreshold) || self.successThreshold == 1",message="spec.probes.liveness.successThreshold must be 1"
	// +optional
	Liveness *ProbeTiming `json:"liveness,omitempty"`

	// Readiness overrides the readiness probe timing (defaults 10/5/5/1/3).
	// +optional
	Readiness *ProbeTiming `json:"readiness,omitempty"`

	// Startup overrides the startup probe timing (defaults 0/5/5/1/30: 150 s to start).
	// +kubebuilder:validation:XValidation:rule="!has(self.successThreshold) || self.successThreshold == 1",message="spec.probes.startup.successThreshold must be 1"
	// +optional
	Startup *ProbeTiming `json:"startup,omitempty"`
}

// ProbeTiming holds the timing fields of a probe; unset fields keep the defaults.
type ProbeTiming struct {
	// InitialDelaySeconds is the delay before the first probe.
	// +kubebuilder:validation:Minimum=0
	// +optional
	InitialDelaySeconds *int32 `json:"initialDelaySeconds,omitempty"`
	// PeriodSeconds is the interval between probes.
	// +kubebuilder:validation:Minimum=1
	// +optional
	PeriodSeconds *int32 `json:"periodSeconds,omitempty"`
	// TimeoutSeconds is the timeout of one probe.
	// +kubebuilder:validation:Minimum=1
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
	// SuccessThreshold is the number of successes that make the probe pass.
	// +kubebuilder:validation:Minimum=1
	// +optional
	SuccessThreshold *int32 `json:"successThreshold,omitempty"`
	// FailureThreshold is the number of failures that make the probe fail.
	// +kubebuilder:validation:Minimum=1
	// +optional
	FailureThreshold *int32 `json:"failureThreshold,omitempty"`
}
