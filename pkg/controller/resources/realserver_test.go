//go:build realdfs

// Builder choices checked against the real DittoFS server and PostgreSQL
// (the harnesses of test/dfs and test/pgtest, which need root); every
// sample's whole pod is run by test/contract. `make test-dfs` runs these with
//
//	go test -tags realdfs ./pkg/controller/resources
package resources

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/pgtest"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

const (
	realJWT      = "real-server-jwt-secret-0123456789abcdefghij"
	realPassword = "Real-Server-Pa55word"
)

// sampleSecrets are the Secrets the operator generates or the user provides.
func sampleSecrets(ds *dittov1alpha1.DittoServer) map[string]map[string][]byte {
	secrets := map[string]map[string][]byte{}
	put := func(sel corev1.SecretKeySelector, v string) {
		if secrets[sel.Name] == nil {
			secrets[sel.Name] = map[string][]byte{}
		}
		secrets[sel.Name][sel.Key] = []byte(v)
	}
	put(JWTSecretSelector(ds), realJWT)
	put(AdminPasswordSelector(ds), realPassword)
	if s3 := ds.Spec.S3; s3 != nil && s3.CredentialsSecretRef != nil {
		ref := s3.CredentialsSecretRef
		put(keyOf(ref.SecretName, ref.AccessKeyIDKey), "AKIAEXAMPLE")
		put(keyOf(ref.SecretName, ref.SecretAccessKeyKey), "example-secret-access-key")
	}
	return secrets
}

// TestRealServerServiceLinks is why the pod sets enableServiceLinks: false.
// With Service links, a DittoServer named "dittofs" with metrics enabled gets
// DITTOFS_METRICS_PORT=tcp://<ip>:<port> from its own metrics Service; the
// server reads it as metrics.port and refuses to start.
func TestRealServerServiceLinks(t *testing.T) {
	bin, err := dfs.Binary()
	if err != nil {
		t.Fatal(err)
	}
	apiPort := proc.FreePortForTest(t)
	ds := withIdentity(&dittov1alpha1.DittoServer{})
	ds.Name = "dittofs"
	ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(apiPort)),
		TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}} // probed over plain HTTP below
	ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true, Port: ptr.To(int32(proc.FreePortForTest(t)))}
	ds.Spec.Storage.MetadataSize = resource.MustParse("1Gi")
	in := inputsFor(ds)
	cfg, err := ConfigYAML(ds, in)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := StatefulSet(ds, in, "")
	if err != nil {
		t.Fatal(err)
	}
	if sts.Spec.Template.Spec.EnableServiceLinks == nil || *sts.Spec.Template.Spec.EnableServiceLinks {
		t.Errorf("enableServiceLinks is not false")
	}
	dirs, base := map[string]string{}, t.TempDir()
	for _, c := range sts.Spec.VolumeClaimTemplates {
		dirs[c.Name] = filepath.Join(base, c.Name)
	}
	opts, _, err := dfs.PodOptions(&sts.Spec.Template.Spec, ContainerName, dfs.PodInputs{
		Binary: bin, PodName: "dittofs-0", Namespace: ds.Namespace,
		ConfigMaps: map[string]map[string]string{ConfigMapName(ds): {ConfigFileKey: string(cfg)}},
		Secrets:    sampleSecrets(ds), VolumeDirs: dirs,
	})
	if err != nil {
		t.Fatal(err)
	}
	// What the kubelet adds for the Service dittofs-metrics with links enabled.
	for k, v := range map[string]string{
		"DITTOFS_METRICS_SERVICE_HOST": "10.96.0.10", "DITTOFS_METRICS_SERVICE_PORT": "9090",
		"DITTOFS_METRICS_PORT":                 "tcp://10.96.0.10:9090",
		"DITTOFS_METRICS_PORT_9090_TCP":        "tcp://10.96.0.10:9090",
		"DITTOFS_METRICS_PORT_9090_TCP_ADDR":   "10.96.0.10",
		"DITTOFS_METRICS_PORT_9090_TCP_PORT":   "9090",
		"DITTOFS_METRICS_PORT_9090_TCP_PROTO":  "tcp",
		"DITTOFS_METRICS_SERVICE_PORT_METRICS": "9090",
	} {
		opts.Env[k] = v
	}
	p, err := dfs.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	code, exited := p.Wait(60 * time.Second)
	if !exited || code == 0 {
		t.Fatalf("the server ran with Service-link variables (exited %v, code %d)", exited, code)
	}
	t.Logf("with Service links the server exits with code %d:\n%s", code, tail(p.Logs(), 3))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestRealWaitForPostgres runs the init container's script with the host's
// pg_isready: it passes as soon as PostgreSQL accepts connections (here a
// server that starts while the loop already waits) and gives up, non-zero
// and saying why, when its budget runs out.
func TestRealWaitForPostgres(t *testing.T) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_isready")
	if len(bins) == 0 {
		t.Fatal("pg_isready not found under /usr/lib/postgresql")
	}
	run := func(script string, port int) (string, time.Duration, error) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = []string{"PATH=" + filepath.Dir(bins[len(bins)-1]) + ":/usr/bin:/bin",
			"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(port), "PGUSER=dittofs", "PGPASSWORD=unused", "PGDATABASE=dittofs"}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		return string(out), time.Since(start), err
	}

	t.Run("gives up after its budget", func(t *testing.T) {
		out, took, err := run(waitScript(3, 1, 1), proc.FreePortForTest(t))
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "did not accept connections after 3 attempts") {
			t.Fatalf("exit %v after %s:\n%s", err, took, out)
		}
		if took > 10*time.Second {
			t.Errorf("took %s for a budget of about 6 s", took)
		}
		t.Logf("%s", out)
	})

	t.Run("passes once PostgreSQL accepts connections", func(t *testing.T) {
		port := proc.FreePortForTest(t)
		started := make(chan *pgtest.Server, 1)
		go func() {
			time.Sleep(3 * time.Second)
			pg, err := pgtest.Start(context.Background(), pgtest.Options{Port: port})
			if err != nil {
				t.Error(err)
			}
			started <- pg
		}()
		out, took, err := run(waitForPostgresScript, port)
		if pg := <-started; pg != nil {
			defer pg.Stop()
		}
		if err != nil || !strings.Contains(out, "accepts connections") || !strings.Contains(out, "attempt 1 of 60") {
			t.Fatalf("exit %v after %s:\n%s", err, took, out)
		}
		t.Logf("waited %s:\n%s", took.Round(time.Second), out)
	})
}
