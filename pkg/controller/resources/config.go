package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// ConfigFileKey is the ConfigMap key mounted as /config/config.yaml.
const ConfigFileKey = "config.yaml"

// Where the server listens inside the pod. The server binds to 127.0.0.1 by
// default, which probes and Services cannot reach.
const listenHost = "0.0.0.0"

// Pool sizes of the PostgreSQL connection: the server's own defaults, written
// out so the ConfigMap shows what the server runs with.
const (
	postgresMaxOpenConns = 25
	postgresMaxIdleConns = 5
)

// serverConfig is the part of DittoFS's config.yaml the operator renders. It
// holds no secret: the JWT secret, the admin password and every PostgreSQL
// connection field come from env (secretKeyRef), which the server's
// configuration loader binds for every key, present in the file or not.
type serverConfig struct {
	Logging         loggingConfig      `json:"logging"`
	ShutdownTimeout string             `json:"shutdown_timeout"`
	Database        databaseConfig     `json:"database"`
	ControlPlane    controlPlaneConfig `json:"controlplane"`
	Metrics         metricsConfig      `json:"metrics"`
	Admin           adminConfig        `json:"admin"`
	Blockstore      *blockstoreConfig  `json:"blockstore,omitempty"`
}

// blockstoreConfig bounds the local block store when it is the write-through
// cache of an S3 remote store.
type blockstoreConfig struct {
	Local blockstoreLocalConfig `json:"local"`
}

type blockstoreLocalConfig struct {
	// DefaultRemoteCacheSize (bytes) caps the local tier of every share
	// backed by a remote store that sets no size of its own; the server's
	// default, 10 GiB, is more than the content volume holds by default.
	DefaultRemoteCacheSize int64 `json:"default_remote_cache_size"`
}

type loggingConfig struct {
	Level  string `json:"level"`
	Format string `json:"format"`
	Output string `json:"output"`
}

type databaseConfig struct {
	Type     dittov1alpha1.DatabaseType `json:"type"`
	SQLite   *sqliteConfig              `json:"sqlite,omitempty"`
	Postgres *postgresConfig            `json:"postgres,omitempty"`
}

type sqliteConfig struct {
	Path string `json:"path"`
}

// postgresConfig has no host, port, database, user or password: those come
// from the PostgreSQL Secret through DITTOFS_DATABASE_POSTGRES_* env vars.
type postgresConfig struct {
	SSLMode      string `json:"sslmode"`
	MaxOpenConns int    `json:"max_open_conns"`
	MaxIdleConns int    `json:"max_idle_conns"`
}

type controlPlaneConfig struct {
	Host string     `json:"host"`
	Port int32      `json:"port"`
	TLS  *tlsConfig `json:"tls,omitempty"`
	JWT  jwtConfig  `json:"jwt"`
}

// jwtConfig has no secret: it comes from DITTOFS_CONTROLPLANE_SECRET.
type jwtConfig struct {
	AccessTokenDuration  string `json:"access_token_duration"`
	RefreshTokenDuration string `json:"refresh_token_duration"`
}

type metricsConfig struct {
	Enabled bool   `json:"enabled"`
	Host    string `json:"host,omitempty"`
	Port    int32  `json:"port,omitempty"`
	Path    string `json:"path,omitempty"`
}

type adminConfig struct {
	Username string `json:"username"`
}

// ConfigYAML renders the server's config.yaml. The bytes depend only on ds,
// so an unchanged spec renders identical bytes (and an identical hash).
// Inputs carry only Secret references and are not needed by the file today.
func ConfigYAML(ds *dittov1alpha1.DittoServer, _ Inputs) ([]byte, error) {
	cfg := serverConfig{
		Logging:         loggingConfig{Level: "INFO", Format: "json", Output: "stdout"},
		ShutdownTimeout: formatDuration(ShutdownTimeout(ds)),
		Database:        databaseSection(ds),
		ControlPlane: controlPlaneConfig{
			Host: listenHost,
			Port: APIPort(ds),
			TLS:  tlsSection(ds),
			JWT: jwtConfig{
				AccessTokenDuration:  formatDuration(AccessTokenDuration(ds)),
				RefreshTokenDuration: formatDuration(RefreshTokenDuration(ds)),
			},
		},
		Metrics: metricsConfig{Enabled: false},
		Admin:   adminConfig{Username: AdminUsername(ds)},
	}
	if ds.Spec.S3 != nil {
		cfg.Blockstore = &blockstoreConfig{Local: blockstoreLocalConfig{DefaultRemoteCacheSize: RemoteCacheSize(ds)}}
	}
	if MetricsEnabled(ds) {
		cfg.Metrics = metricsConfig{Enabled: true, Host: listenHost, Port: MetricsPort(ds), Path: "/metrics"}
	}
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("render config.yaml: %w", err)
	}
	header := fmt.Sprintf("# DittoFS configuration of DittoServer %s/%s, rendered by %s: edits are overwritten.\n"+
		"# Secrets (JWT secret, admin password, PostgreSQL connection) come from the environment.\n",
		ds.Namespace, ds.Name, ManagedByValue)
	return append([]byte(header), body...), nil
}

func databaseSection(ds *dittov1alpha1.DittoServer) databaseConfig {
	if UsesPostgres(ds) {
		return databaseConfig{
			Type: dittov1alpha1.DatabasePostgres,
			Postgres: &postgresConfig{
				SSLMode:      SSLMode(ds),
				MaxOpenConns: postgresMaxOpenConns,
				MaxIdleConns: postgresMaxIdleConns,
			},
		}
	}
	return databaseConfig{Type: dittov1alpha1.DatabaseSQLite, SQLite: &sqliteConfig{Path: SQLitePath(ds)}}
}

// formatDuration writes 15m and 168h rather than Go's 15m0s and 168h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ConfigMap holds the rendered config.yaml.
func ConfigMap(ds *dittov1alpha1.DittoServer, configYAML []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: objectMeta(ds, ConfigMapName(ds), ComponentConfig),
		Data:       map[string]string{ConfigFileKey: string(configYAML)},
	}
}

// ConfigHash identifies what the pod runs with: the rendered config.yaml and
// the resourceVersion of every Secret it reads. It goes on the pod template,
// so a changed file or Secret rolls the pod and an edit that changes neither
// (a label, a status write) does not.
func ConfigHash(configYAML []byte, secretVersions map[string]string) string {
	h := sha256.New()
	h.Write(configYAML)
	names := make([]string, 0, len(secretVersions))
	for name := range secretVersions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// NUL cannot occur in names or versions, so pairs cannot run together.
		h.Write([]byte("\x00" + name + "=" + secretVersions[name]))
	}
	return hex.EncodeToString(h.Sum(nil))
}
