package e2e

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var dryRun = []string{metav1.DryRunAll}

// Every sample in artifacts/examples is admitted by the CRD as a user would
// install it: its Secrets are created, its DittoServer passes a server-side
// dry run (schema, defaults and CEL rules all run; nothing is stored).
func TestAdmissionAcceptsEverySample(t *testing.T) {
	n := newNamespace(t, nil)
	files, err := filepath.Glob(filepath.Join(env.root, "artifacts", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in artifacts/examples (%v)", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			objs := readSample(t, name)
			for _, o := range objs {
				if o.GetKind() == "Secret" {
					n.create(o)
				}
			}
			ds := sampleDittoServer(t, objs)
			got, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun})
			if err != nil {
				t.Fatalf("%s: DittoServer %s rejected: %v", f, ds.GetName(), err)
			}
			// The API server's defaults were applied.
			if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 1 {
				t.Errorf("defaulted spec.replicas = %d, want 1", r)
			}
		})
	}
}

// Each spec the CRD must refuse is refused at admission, with a message that
// names the offending field.
func TestAdmissionRejectsInvalidSpecs(t *testing.T) {
	n := newNamespace(t, nil)
	cases := []struct {
		name  string
		spec  string // merged over the minimal sample's spec
		field string // must appear in the error and in a cause
		msg   string // part of the expected message
	}{
		{"replicas 2", `replicas: 2`, "spec.replicas", "must be 0 or 1"},
		{"metrics port equals API port", `{metrics: {enabled: true, port: 8080}}`, "spec.metrics.port", "must differ from spec.controlPlane.port"},
		{"metrics port equals changed API port", `{controlPlane: {port: 9100}, metrics: {enabled: true, port: 9100}}`, "spec.metrics.port", "must differ from spec.controlPlane.port"},
		{"SMB port equals NFS port", `{smb: {enabled: true, port: 2049}}`, "spec.smb.port", "must differ from spec.nfsPort"},
		{"API port on the NFS adapter's port", `{controlPlane: {port: 12049}}`, "spec.controlPlane.port", "must not be 12049 or 1445"},
		{"portmapper with NFS on 111", `{portmapper: {enabled: true}, nfsPort: 111}`, "spec.portmapper.enabled", "spec.nfsPort must not be 111"},
		{"portmapper with SMB on the advertised NFS port", `{portmapper: {enabled: true}, smb: {enabled: true, port: 12049}}`, "spec.portmapper.enabled", "spec.smb.port must not be 111 or 12049"},
		{"portmapper with metrics on its container port", `{portmapper: {enabled: true}, metrics: {enabled: true, port: 10111}}`, "spec.portmapper.enabled", "must not be 10111"},
		{"NFS port 0", `nfsPort: 0`, "spec.nfsPort", "greater than or equal to 1"},
		{"API port 70000", `{controlPlane: {port: 70000}}`, "spec.controlPlane.port", "less than or equal to 65535"},
		{"TLS Secret with TLS disabled", `{controlPlane: {tls: {mode: Disabled, secretName: nas-cert}}}`, "spec.controlPlane.tls.secretName", "must not be set when spec.controlPlane.tls.mode is Disabled"},
		{"TLS mode unknown", `{controlPlane: {tls: {mode: Off}}}`, "spec.controlPlane.tls.mode", "supported values"},
		{"metrics port 0", `{metrics: {enabled: true, port: 0}}`, "spec.metrics.port", "greater than or equal to 1"},
		{"Percona backup without bucket",
			`{database: {type: postgres}, percona: {enabled: true, backup: {enabled: true, endpoint: s3.example.com, credentialsSecretRef: {name: s3}}}}`,
			"spec.percona.backup.bucket", "bucket is required"},
		{"Percona backup without endpoint",
			`{database: {type: postgres}, percona: {enabled: true, backup: {enabled: true, bucket: b, credentialsSecretRef: {name: s3}}}}`,
			"spec.percona.backup.endpoint", "endpoint is required"},
		{"postgres without Secret or Percona", `{database: {type: postgres}}`, "spec.database.postgresSecretRef", "is required when spec.database.type is postgres"},
		{"SQLite outside the control-plane volume", `{database: {sqlite: {path: /tmp/dittofs.db}}}`, "spec.database.sqlite.path", "/data/controlplane/"},
		{"SQLite path is the volume itself", `{database: {sqlite: {path: /data/controlplane/}}}`, "spec.database.sqlite.path", "/data/controlplane/"},
		{"SQLite path leaving the volume", `{database: {sqlite: {path: /data/controlplane/../metadata/x.db}}}`, "spec.database.sqlite.path", "with no '..' segment"},
		{"SQLite path ending in ..", `{database: {sqlite: {path: /data/controlplane/db/..}}}`, "spec.database.sqlite.path", "with no '..' segment"},
		{"shutdownTimeout 0s", `shutdownTimeout: 0s`, "spec.shutdownTimeout", "between 1s and 1h"},
		{"liveness successThreshold 2", `{probes: {liveness: {successThreshold: 2}}}`, "spec.probes.liveness.successThreshold", "must be 1"},
		{"startup successThreshold 2", `{probes: {startup: {successThreshold: 2}}}`, "spec.probes.startup.successThreshold", "must be 1"},
		// The server exits on its own after 3 × shutdownTimeout + 5 s; the pod must not be killed before.
		{"grace period below preStop + 3 × shutdownTimeout + 5", `terminationGracePeriodSeconds: 99`,
			"spec.terminationGracePeriodSeconds", "at least spec.preStopDelaySeconds + 3 × spec.shutdownTimeout + 5"},
		{"grace period below the minimum of a changed shutdownTimeout", `{shutdownTimeout: 10s, preStopDelaySeconds: 0, terminationGracePeriodSeconds: 34}`,
			"spec.terminationGracePeriodSeconds", "at least spec.preStopDelaySeconds + 3 × spec.shutdownTimeout + 5"},
		{"ServiceMonitor without metrics", `{metrics: {serviceMonitor: {enabled: true}}}`,
			"spec.metrics.serviceMonitor.enabled", "requires spec.metrics.enabled"},
		{"ServiceMonitor interval not a duration", `{metrics: {enabled: true, serviceMonitor: {enabled: true, interval: half-a-minute}}}`,
			"spec.metrics.serviceMonitor.interval", "should match"},
		{"NetworkPolicy without file clients", `{networkPolicy: {enabled: true}}`,
			"spec.networkPolicy.fileClients", "must select at least one peer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := sampleDittoServer(t, readSample(t, "minimal"))
			ds.SetName("invalid")
			mergeSpec(t, ds, tc.spec)
			_, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
}

// The grace period at the minimum is admitted.
func TestAdmissionAcceptsTheMinimumGracePeriod(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, `{shutdownTimeout: 10s, preStopDelaySeconds: 0, terminationGracePeriodSeconds: 35}`)
	if _, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun}); err != nil {
		t.Fatalf("0 + 3 × 10 + 5 = 35 s rejected: %v", err)
	}
}

// Names whose derived children cannot exist are refused, naming the limit.
func TestAdmissionRejectsNamesTooLong(t *testing.T) {
	n := newNamespace(t, nil)
	for _, tc := range []struct {
		name, spec string
		length     int
		msg        string // "" when admitted
	}{
		{"52 characters", `replicas: 1`, 52, ""},
		{"53 characters", `replicas: 1`, 53, "must be at most 52 characters"},
		{"28 characters with Percona", `{database: {type: postgres}, percona: {enabled: true}}`, 28, ""},
		{"29 characters with Percona", `{database: {type: postgres}, percona: {enabled: true}}`, 29, "must be at most 28 characters with spec.percona.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := sampleDittoServer(t, readSample(t, "minimal"))
			ds.SetName("n" + strings.Repeat("a", tc.length-1))
			mergeSpec(t, ds, tc.spec)
			_, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun})
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			// A rule on the object as a whole: the message names the field.
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.name "+tc.msg) {
				t.Fatalf("error %v, want Invalid with %q", err, "metadata.name "+tc.msg)
			}
		})
	}
}

// While Percona is enabled, only deleteWithServer of spec.percona can
// change: the operator never overwrites the cluster, so an edit it would not
// carry is refused, naming the field. Disabling Percona stays possible.
func TestAdmissionPerconaEditsAreRefused(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, `{replicas: 0, database: {type: postgres}, percona: {enabled: true}}`)
	ds.SetName("pg-edits")
	client := env.dyn.Resource(dittoServerGVR).Namespace(n.name)
	if _, err := client.Create(t.Context(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, patch, field string }{
		{"replicas", `{"spec":{"percona":{"replicas":2}}}`, "spec.percona.replicas"},
		{"storageSize", `{"spec":{"percona":{"storageSize":"20Gi"}}}`, "spec.percona.storageSize"},
		{"storageClassName", `{"spec":{"percona":{"storageClassName":"fast"}}}`, "spec.percona.storageClassName"},
		{"databaseName", `{"spec":{"percona":{"databaseName":"other"}}}`, "spec.percona.databaseName"},
		{"backup", `{"spec":{"percona":{"backup":{"enabled":false}}}}`, "spec.percona.backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, "cannot change while Percona is enabled")
		})
	}
	for _, tc := range []struct{ name, patch string }{
		{"deleteWithServer", `{"spec":{"percona":{"deleteWithServer":true}}}`},
		{"disabled", `{"spec":{"percona":{"enabled":false},"database":{"type":"sqlite"}}}`},
	} {
		t.Run(tc.name+" can change", func(t *testing.T) {
			if _, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun}); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// mergeSpec merges a YAML (or flow-style) fragment into the object's spec.
func mergeSpec(t *testing.T, obj *unstructured.Unstructured, fragment string) {
	t.Helper()
	var patch map[string]any
	if err := utilyaml.Unmarshal([]byte(fragment), &patch); err != nil {
		t.Fatalf("fragment %q: %v", fragment, err)
	}
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	mergeMaps(spec, patch)
	if err := unstructured.SetNestedMap(obj.Object, spec, "spec"); err != nil {
		t.Fatal(err)
	}
}

func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		sm, ok1 := v.(map[string]any)
		dm, ok2 := dst[k].(map[string]any)
		if ok1 && ok2 {
			mergeMaps(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// assertInvalid checks that err is an Invalid StatusError whose message
// names the field and contains msg, with a cause on that field.
func assertInvalid(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a rejection naming %s", field)
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		t.Fatalf("error %v (%T) is not an Invalid StatusError", err, err)
	}
	text := err.Error()
	t.Logf("rejected: %s", text)
	if !strings.Contains(text, field) || !strings.Contains(text, msg) {
		t.Errorf("error %q does not name %s with %q", text, field, msg)
	}
	var fields []string
	found := false
	if d := status.ErrStatus.Details; d != nil {
		for _, c := range d.Causes {
			fields = append(fields, c.Field)
			if c.Field == field || strings.HasPrefix(field, c.Field+".") {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no cause on %s; causes are on %v", field, fields)
	}
}
