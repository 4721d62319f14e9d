package resources

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// newDS is a DittoServer with nothing set but its storage, as a fake
// clientset or an object from before the CRD's defaults would hold it.
func newDS(mutate ...func(*dittov1alpha1.DittoServer)) *dittov1alpha1.DittoServer {
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "files", Namespace: "storage", UID: testUID},
	}
	ds.Spec.Storage.MetadataSize = mustQuantity("10Gi")
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func TestTerminationGracePeriod(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shutdown *metav1.Duration
		preStop  *int32
		override *int64
		want     int64
		wantErr  string // substring; "" means no error
	}{
		{name: "defaults: 5 + 3 × 30 + 10", want: 105},
		{name: "shutdownTimeout 60s: 5 + 3 × 60 + 10", shutdown: &metav1.Duration{Duration: 60 * time.Second}, want: 195},
		{name: "fractional shutdownTimeout rounds up", shutdown: &metav1.Duration{Duration: 1500 * time.Millisecond}, want: 5 + 6 + 10},
		{name: "no preStop wait", preStop: ptr.To[int32](0), want: 100},
		{name: "override kept", override: ptr.To[int64](300), want: 300},
		// The server exits on its own after 3 × shutdownTimeout + 5 s.
		{name: "override equal to preStop + 3 × shutdownTimeout + 5", override: ptr.To[int64](100), want: 100},
		{
			name: "override shorter than preStop + 3 × shutdownTimeout + 5", override: ptr.To[int64](99),
			wantErr: "spec.terminationGracePeriodSeconds is 99, but the server needs at least 100 (preStopDelaySeconds 5 + 3 × shutdownTimeout 30s + 5)",
		},
		{
			name: "override checked against a longer shutdownTimeout", shutdown: &metav1.Duration{Duration: time.Minute},
			override: ptr.To[int64](150), wantErr: "at least 190",
		},
		{
			name: "override checked against a fractional shutdownTimeout, rounded up", shutdown: &metav1.Duration{Duration: 1500 * time.Millisecond},
			override: ptr.To[int64](15), wantErr: "at least 16",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.ShutdownTimeout, ds.Spec.PreStopDelaySeconds, ds.Spec.TerminationGracePeriodSeconds = tc.shutdown, tc.preStop, tc.override
			})
			got, err := TerminationGracePeriodSeconds(ds)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrGracePeriodTooShort) {
					t.Fatalf("error %v, want one containing %q and wrapping ErrGracePeriodTooShort", err, tc.wantErr)
				}
				if _, err := StatefulSet(ds, Inputs{}, "h"); !errors.Is(err, ErrGracePeriodTooShort) {
					t.Errorf("StatefulSet error %v, want ErrGracePeriodTooShort", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
			sts, err := StatefulSet(ds, Inputs{}, "h")
			if err != nil || *sts.Spec.Template.Spec.TerminationGracePeriodSeconds != tc.want {
				t.Errorf("pod grace period %v, %v; want %d", sts.Spec.Template.Spec.TerminationGracePeriodSeconds, err, tc.want)
			}
		})
	}
}

func TestDefaultsOfAnEmptySpec(t *testing.T) {
	ds := newDS()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Replicas", Replicas(ds), int32(1)},
		{"Image", Image(ds), "marmos91c/dittofs:v0.29.0"},
		{"ImagePullPolicy", ImagePullPolicy(ds), corev1.PullIfNotPresent},
		{"APIPort", APIPort(ds), int32(8080)},
		{"MetricsEnabled", MetricsEnabled(ds), false},
		{"MetricsPort", MetricsPort(ds), int32(9090)},
		{"NFSPort", NFSPort(ds), int32(2049)},
		{"SMBEnabled", SMBEnabled(ds), false},
		{"SMBPort", SMBPort(ds), int32(445)},
		{"UsesPostgres", UsesPostgres(ds), false},
		{"PerconaEnabled", PerconaEnabled(ds), false},
		{"ShutdownTimeout", ShutdownTimeout(ds), 30 * time.Second},
		{"PreStopDelaySeconds", PreStopDelaySeconds(ds), int32(5)},
		{"SQLitePath", SQLitePath(ds), "/data/controlplane/controlplane.db"},
		{"SSLMode", SSLMode(ds), "require"},
		{"AdminUsername", AdminUsername(ds), "admin"},
		{"AccessTokenDuration", AccessTokenDuration(ds), 15 * time.Minute},
		{"RefreshTokenDuration", RefreshTokenDuration(ds), 168 * time.Hour},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestUsesPostgres(t *testing.T) {
	for _, tc := range []struct {
		name     string
		database *dittov1alpha1.DatabaseSpec
		percona  *dittov1alpha1.PerconaSpec
		want     bool
		secret   string
	}{
		{name: "no database section", want: false},
		{name: "sqlite", database: &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabaseSQLite}, want: false},
		{
			name:     "postgres with a Secret",
			database: &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres, PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}},
			want:     true, secret: "pg",
		},
		{name: "Percona, type left at sqlite", percona: &dittov1alpha1.PerconaSpec{Enabled: true}, want: true, secret: "files-postgres-pguser-dittofs"},
		{name: "Percona disabled", percona: &dittov1alpha1.PerconaSpec{}, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Database, ds.Spec.Percona = tc.database, tc.percona })
			if got := UsesPostgres(ds); got != tc.want {
				t.Errorf("UsesPostgres = %v, want %v", got, tc.want)
			}
			if got := PostgresSecretName(ds); got != tc.secret {
				t.Errorf("PostgresSecretName = %q, want %q", got, tc.secret)
			}
		})
	}
}

func TestImagePullPolicyFollowsTheAPIServer(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"marmos91c/dittofs":                  corev1.PullAlways,
		"marmos91c/dittofs:latest":           corev1.PullAlways,
		"marmos91c/dittofs:v0.29.0":          corev1.PullIfNotPresent,
		"registry:5000/dittofs":              corev1.PullAlways,
		"registry:5000/dittofs:v1":           corev1.PullIfNotPresent,
		"marmos91c/dittofs@sha256:0123abcd":  corev1.PullIfNotPresent,
		"marmos91c/dittofs:latest@sha256:01": corev1.PullIfNotPresent,
	} {
		ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Image = image })
		if got := ImagePullPolicy(ds); got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
	ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.ImagePullPolicy = corev1.PullNever })
	if got := ImagePullPolicy(ds); got != corev1.PullNever {
		t.Errorf("spec's policy not kept: %s", got)
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"dittofs":                          true,
		"a":                                true,
		strings.Repeat("a", 52):            true,
		strings.Repeat("a", 53):            false, // the pods' controller-revision-hash label would exceed 63
		"files.example":                    false, // a Service name cannot hold a dot
		"1files":                           false, // nor start with a digit
		"files-" + strings.Repeat("x", 40): true,
	} {
		err := ValidateName(newDS(func(ds *dittov1alpha1.DittoServer) { ds.Name = name }))
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", name, err, ok)
		}
	}
	// With Percona, its instance StatefulSet <name>-postgres-instance1-xxxx
	// must fit in 52 characters.
	for name, ok := range map[string]bool{
		strings.Repeat("a", 28): true,
		strings.Repeat("a", 29): false,
	} {
		ds := newDS(func(ds *dittov1alpha1.DittoServer) {
			ds.Name, ds.Spec.Percona = name, &dittov1alpha1.PerconaSpec{Enabled: true}
		})
		err := ValidateName(ds)
		if (err == nil) != ok {
			t.Errorf("Percona, %q: %v, want ok=%v", name, err, ok)
		}
		if sts := PerconaClusterName(ds) + "-" + PerconaInstanceSet + "-xxxx"; ok && len(sts) != MaxNameLength {
			t.Errorf("the longest admitted name gives a Percona StatefulSet of %d characters, want %d", len(sts), MaxNameLength)
		}
		if err != nil && !strings.Contains(err.Error(), "at most 28") {
			t.Errorf("Percona, %q: message %q does not name the limit", name, err)
		}
	}
}
