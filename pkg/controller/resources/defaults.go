package resources

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The CRD's defaults, applied again here: objects from fake clientsets, from
// before a default existed, or built in tests have nil fields, and the
// builders must render the same thing for them as for a defaulted object.
const (
	DefaultImage               = "marmos91c/dittofs:v0.29.0"
	DefaultAPIPort       int32 = 8080
	DefaultMetricsPort   int32 = 9090
	DefaultNFSPort       int32 = 2049
	DefaultSMBPort       int32 = 445
	DefaultPreStopDelay  int32 = 5
	DefaultSQLitePath          = "/data/controlplane/controlplane.db"
	DefaultSSLMode             = "require"
	DefaultAdminUsername       = "admin"

	DefaultShutdownTimeout      = 30 * time.Second
	DefaultAccessTokenDuration  = 15 * time.Minute
	DefaultRefreshTokenDuration = 168 * time.Hour
)

// ErrGracePeriodTooShort is wrapped by the error of TerminationGracePeriodSeconds
// (and StatefulSet) when the override leaves the server no time to drain.
var ErrGracePeriodTooShort = errors.New("termination grace period too short")

// Replicas is the number of server pods: 0 while a backup holds the server
// stopped (BackupHoldAnnotation), else spec.replicas.
func Replicas(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Annotations[dittov1alpha1.BackupHoldAnnotation] != "" {
		return 0
	}
	if ds.Spec.Replicas == nil {
		return 1
	}
	return *ds.Spec.Replicas
}

// Image is the server image.
func Image(ds *dittov1alpha1.DittoServer) string {
	if ds.Spec.Image == "" {
		return DefaultImage
	}
	return ds.Spec.Image
}

// ImagePullPolicy is the spec's policy, or the one the API server would
// default to (Always for :latest or no tag), written out so the desired
// StatefulSet equals the stored one.
func ImagePullPolicy(ds *dittov1alpha1.DittoServer) corev1.PullPolicy {
	if ds.Spec.ImagePullPolicy != "" {
		return ds.Spec.ImagePullPolicy
	}
	return defaultPullPolicy(Image(ds))
}

func defaultPullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	tag := ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		tag = image[i+1:]
	}
	if tag == "" || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// APIPort is the port of the REST API (and of the probes).
func APIPort(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Spec.ControlPlane == nil || ds.Spec.ControlPlane.Port == nil {
		return DefaultAPIPort
	}
	return *ds.Spec.ControlPlane.Port
}

// MetricsEnabled reports whether the metrics listener and Service exist.
func MetricsEnabled(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.Metrics != nil && ds.Spec.Metrics.Enabled
}

// MetricsPort is the port of the metrics listener and Service.
func MetricsPort(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Spec.Metrics == nil || ds.Spec.Metrics.Port == nil {
		return DefaultMetricsPort
	}
	return *ds.Spec.Metrics.Port
}

// NFSPort is the NFS port of the file Service.
func NFSPort(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Spec.NFSPort == nil {
		return DefaultNFSPort
	}
	return *ds.Spec.NFSPort
}

// SMBEnabled reports whether SMB is exposed.
func SMBEnabled(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.SMB != nil && ds.Spec.SMB.Enabled
}

// PortmapperEnabled reports whether the server's portmapper runs and is exposed.
func PortmapperEnabled(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.Portmapper != nil && ds.Spec.Portmapper.Enabled
}

// SMBPort is the SMB port of the file Service.
func SMBPort(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Spec.SMB == nil || ds.Spec.SMB.Port == nil {
		return DefaultSMBPort
	}
	return *ds.Spec.SMB.Port
}

// PerconaEnabled reports whether ds runs its own PerconaPGCluster.
func PerconaEnabled(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.Percona != nil && ds.Spec.Percona.Enabled
}

// UsesPostgres reports whether the control plane lives in PostgreSQL: a
// Percona cluster implies it, whatever spec.database.type says.
func UsesPostgres(ds *dittov1alpha1.DittoServer) bool {
	if PerconaEnabled(ds) {
		return true
	}
	return ds.Spec.Database != nil && ds.Spec.Database.Type == dittov1alpha1.DatabasePostgres
}

// SQLitePath is the SQLite database file on the control-plane volume.
func SQLitePath(ds *dittov1alpha1.DittoServer) string {
	if db := ds.Spec.Database; db != nil && db.SQLite != nil && db.SQLite.Path != "" {
		return db.SQLite.Path
	}
	return DefaultSQLitePath
}

// SSLMode is the PostgreSQL sslmode.
func SSLMode(ds *dittov1alpha1.DittoServer) string {
	if ds.Spec.Database != nil && ds.Spec.Database.SSLMode != "" {
		return ds.Spec.Database.SSLMode
	}
	return DefaultSSLMode
}

// AdminUsername is the initial administrator's name.
func AdminUsername(ds *dittov1alpha1.DittoServer) string {
	if id := ds.Spec.Identity; id != nil && id.Admin != nil && id.Admin.Username != "" {
		return id.Admin.Username
	}
	return DefaultAdminUsername
}

// AccessTokenDuration and RefreshTokenDuration are the JWT lifetimes.
func AccessTokenDuration(ds *dittov1alpha1.DittoServer) time.Duration {
	if j := jwtSpec(ds); j != nil && j.AccessTokenDuration != nil && j.AccessTokenDuration.Duration > 0 {
		return j.AccessTokenDuration.Duration
	}
	return DefaultAccessTokenDuration
}

func RefreshTokenDuration(ds *dittov1alpha1.DittoServer) time.Duration {
	if j := jwtSpec(ds); j != nil && j.RefreshTokenDuration != nil && j.RefreshTokenDuration.Duration > 0 {
		return j.RefreshTokenDuration.Duration
	}
	return DefaultRefreshTokenDuration
}

func jwtSpec(ds *dittov1alpha1.DittoServer) *dittov1alpha1.JWTSpec {
	if ds.Spec.Identity == nil {
		return nil
	}
	return ds.Spec.Identity.JWT
}

// ShutdownTimeout bounds each stage of the server's shutdown. The server
// requires it to be positive, so a non-positive value means the default.
func ShutdownTimeout(ds *dittov1alpha1.DittoServer) time.Duration {
	if ds.Spec.ShutdownTimeout == nil || ds.Spec.ShutdownTimeout.Duration <= 0 {
		return DefaultShutdownTimeout
	}
	return ds.Spec.ShutdownTimeout.Duration
}

// PreStopDelaySeconds is how long the pod waits before SIGTERM reaches the
// server. The CRD forbids negative values; a negative one means no wait.
func PreStopDelaySeconds(ds *dittov1alpha1.DittoServer) int32 {
	if ds.Spec.PreStopDelaySeconds == nil {
		return DefaultPreStopDelay
	}
	return max(*ds.Spec.PreStopDelaySeconds, 0)
}

// TerminationGracePeriodSeconds is the pod's grace period. The server stops
// its adapters, flushes and closes its stores, each stage bounded by
// shutdown_timeout, and exits on its own after 3 × shutdown_timeout + 5 s; the
// default leaves it that, after the preStop wait, plus a margin. An override
// shorter than that would kill it while
// it still drains or flushes, so it is refused: the minimum is the preStop
// wait plus the server's own deadline, 3 × shutdown_timeout + 5 s.
func TerminationGracePeriodSeconds(ds *dittov1alpha1.DittoServer) (int64, error) {
	preStop := int64(PreStopDelaySeconds(ds))
	shutdown := int64(math.Ceil(ShutdownTimeout(ds).Seconds()))
	if ds.Spec.TerminationGracePeriodSeconds == nil {
		return preStop + 3*shutdown + 10, nil
	}
	override, minimum := *ds.Spec.TerminationGracePeriodSeconds, preStop+3*shutdown+5
	if override < minimum {
		return 0, fmt.Errorf("%w: spec.terminationGracePeriodSeconds is %d, but the server needs at least %d "+
			"(preStopDelaySeconds %d + 3 × shutdownTimeout %ds + 5) to drain and flush; set it to %d or more, or remove it to use %d",
			ErrGracePeriodTooShort, override, minimum, preStop, shutdown, minimum, preStop+3*shutdown+10)
	}
	return override, nil
}
