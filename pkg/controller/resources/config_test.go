package resources

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// parseConfig reads a rendered config.yaml back as the server's keys.
func parseConfig(t *testing.T, ds *dittov1alpha1.DittoServer) map[string]any {
	t.Helper()
	b, err := ConfigYAML(ds, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigSections(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*dittov1alpha1.DittoServer)
		want   map[string]string // YAML of a top-level key
	}{
		{
			name:   "defaults",
			mutate: func(*dittov1alpha1.DittoServer) {},
			want: map[string]string{
				"logging":          "format: json\nlevel: INFO\noutput: stdout\n",
				"shutdown_timeout": "30s\n",
				"database":         "sqlite:\n  path: /data/controlplane/controlplane.db\ntype: sqlite\n",
				"controlplane":     "host: 0.0.0.0\njwt:\n  access_token_duration: 15m\n  refresh_token_duration: 168h\nport: 8080\ntls:\n  cert_file: /tls/tls.crt\n  key_file: /tls/tls.key\n  min_version: \"1.2\"\n",
				"metrics":          "enabled: false\n",
				"admin":            "username: admin\n",
			},
		},
		{
			name: "everything set",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.ShutdownTimeout = &metav1.Duration{Duration: 90 * time.Second}
				ds.Spec.Database = &dittov1alpha1.DatabaseSpec{SQLite: &dittov1alpha1.SQLiteSpec{Path: "/data/controlplane/x.db"}}
				ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](9000)}
				ds.Spec.Identity = &dittov1alpha1.IdentitySpec{
					JWT: &dittov1alpha1.JWTSpec{
						AccessTokenDuration:  &metav1.Duration{Duration: 90 * time.Minute},
						RefreshTokenDuration: &metav1.Duration{Duration: 500 * time.Millisecond},
					},
					Admin: &dittov1alpha1.AdminSpec{Username: "root"},
				}
				ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true, Port: ptr.To[int32](9100)}
			},
			want: map[string]string{
				"shutdown_timeout": "1m30s\n",
				"database":         "sqlite:\n  path: /data/controlplane/x.db\ntype: sqlite\n",
				"controlplane":     "host: 0.0.0.0\njwt:\n  access_token_duration: 1h30m\n  refresh_token_duration: 500ms\nport: 9000\ntls:\n  cert_file: /tls/tls.crt\n  key_file: /tls/tls.key\n  min_version: \"1.2\"\n",
				"metrics":          "enabled: true\nhost: 0.0.0.0\npath: /metrics\nport: 9100\n",
				"admin":            "username: root\n",
			},
		},
		{
			name: "external PostgreSQL: only non-secret fields",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres,
					PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}, SSLMode: "disable"}
			},
			want: map[string]string{"database": "postgres:\n  max_idle_conns: 5\n  max_open_conns: 25\n  sslmode: disable\ntype: postgres\n"},
		},
		{
			name:   "Percona: PostgreSQL with sslmode require",
			mutate: func(ds *dittov1alpha1.DittoServer) { ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true} },
			want:   map[string]string{"database": "postgres:\n  max_idle_conns: 5\n  max_open_conns: 25\n  sslmode: require\ntype: postgres\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseConfig(t, newDS(tc.mutate))
			for key, want := range tc.want {
				if got := string(toYAML(t, cfg[key])); got != want {
					t.Errorf("%s:\n%s\nwant\n%s", key, got, want)
				}
			}
		})
	}
}

// The builders never receive a secret value: ConfigYAML depends on the spec
// alone, and every secret reaches the pod as a secretKeyRef.
func TestNoSecretValueInConfigOrPodSpec(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true}
		ds.Spec.S3 = &dittov1alpha1.S3Spec{CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{JWT: &dittov1alpha1.JWTSpec{
			SecretRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "mine"}, Key: "jwt"}}}
	})
	a, err := ConfigYAML(ds, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ConfigYAML(ds, inputsFor(ds))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("config.yaml depends on the resolved inputs")
	}
	for _, key := range []string{"secret:", "password:", "password_hash:", "user:", "dbname:", "database: "} {
		if bytes.Contains(a, []byte(key)) {
			t.Errorf("config.yaml contains %q:\n%s", key, a)
		}
	}
	sts, err := StatefulSet(ds, inputsFor(ds), "h")
	if err != nil {
		t.Fatal(err)
	}
	pod := sts.Spec.Template.Spec
	fromSecret := map[string]string{}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		if len(c.EnvFrom) > 0 {
			t.Errorf("%s uses envFrom", c.Name)
		}
		for _, e := range c.Env {
			switch {
			case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Value == "":
				fromSecret[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			case e.Name == "AWS_REGION":
			default:
				t.Errorf("%s env %s is not from a Secret: %+v", c.Name, e.Name, e)
			}
		}
	}
	for env, want := range map[string]string{
		"DITTOFS_CONTROLPLANE_SECRET":        "mine/jwt",
		"DITTOFS_ADMIN_INITIAL_PASSWORD":     "files-generated/password",
		"DITTOFS_DATABASE_POSTGRES_HOST":     "files-postgres-pguser-dittofs/host",
		"DITTOFS_DATABASE_POSTGRES_PORT":     "files-postgres-pguser-dittofs/port",
		"DITTOFS_DATABASE_POSTGRES_USER":     "files-postgres-pguser-dittofs/user",
		"DITTOFS_DATABASE_POSTGRES_PASSWORD": "files-postgres-pguser-dittofs/password",
		"DITTOFS_DATABASE_POSTGRES_DATABASE": "files-postgres-pguser-dittofs/dbname",
		"AWS_ACCESS_KEY_ID":                  "s3/accessKeyId",
		"AWS_SECRET_ACCESS_KEY":              "s3/secretAccessKey",
		"AWS_ENDPOINT_URL":                   "s3/endpoint",
		"PGPASSWORD":                         "files-postgres-pguser-dittofs/password",
	} {
		if fromSecret[env] != want {
			t.Errorf("%s from %q, want %q", env, fromSecret[env], want)
		}
	}
	cm := toYAML(t, ConfigMap(ds, a))
	if strings.Contains(string(cm), "password:") {
		t.Errorf("ConfigMap:\n%s", cm)
	}
}

func TestConfigIsDeterministic(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true}
	})
	first, _ := ConfigYAML(ds, Inputs{})
	for range 20 {
		if again, _ := ConfigYAML(ds.DeepCopy(), Inputs{}); !bytes.Equal(first, again) {
			t.Fatalf("config.yaml changed between renders:\n%s\n%s", first, again)
		}
	}
	if cm := ConfigMap(ds, first); cm.Name != "files-config" || cm.Data["config.yaml"] != string(first) || cm.Namespace != "storage" {
		t.Errorf("ConfigMap %s/%s data keys %v", cm.Namespace, cm.Name, len(cm.Data))
	}
}

func TestConfigHash(t *testing.T) {
	cfg := []byte("logging: {}\n")
	base := ConfigHash(cfg, map[string]string{"files-jwt": "10", "files-admin": "11"})
	if len(base) != 64 {
		t.Errorf("hash %q is not hex SHA-256", base)
	}
	same := []struct {
		name     string
		cfg      []byte
		versions map[string]string
	}{
		{"same inputs", cfg, map[string]string{"files-jwt": "10", "files-admin": "11"}},
		{"same inputs, map built in another order", cfg, map[string]string{"files-admin": "11", "files-jwt": "10"}},
	}
	for _, tc := range same {
		if got := ConfigHash(tc.cfg, tc.versions); got != base {
			t.Errorf("%s: hash changed", tc.name)
		}
	}
	different := []struct {
		name     string
		cfg      []byte
		versions map[string]string
	}{
		{"config changed", []byte("logging: {x}\n"), map[string]string{"files-jwt": "10", "files-admin": "11"}},
		{"a Secret changed", cfg, map[string]string{"files-jwt": "12", "files-admin": "11"}},
		{"another Secret referenced", cfg, map[string]string{"mine": "10", "files-admin": "11"}},
		{"a Secret added", cfg, map[string]string{"files-jwt": "10", "files-admin": "11", "s3": "1"}},
		{"a Secret removed", cfg, map[string]string{"files-jwt": "10"}},
		{"name and version shifted", cfg, map[string]string{"files-jwt=1": "0", "files-admin": "11"}},
	}
	for _, tc := range different {
		if got := ConfigHash(tc.cfg, tc.versions); got == base {
			t.Errorf("%s: hash unchanged", tc.name)
		}
	}
	if ConfigHash(cfg, nil) != ConfigHash(cfg, map[string]string{}) {
		t.Error("nil and empty versions hash differently")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second: "30s", 15 * time.Minute: "15m", 168 * time.Hour: "168h", 90 * time.Minute: "1h30m",
		time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s", 10 * time.Minute * 6: "1h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if parsed, err := time.ParseDuration(formatDuration(d)); err != nil || parsed != d {
			t.Errorf("%q does not parse back to %v: %v", formatDuration(d), d, err)
		}
	}
}
