package resources

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// TestExamplesMatchTheCRD: every sample is what the API server accepts
// (schema enums, bounds, required fields; CEL rules are checked by applying
// the samples to a real API server), and is valid for the builders.
func TestExamplesMatchTheCRD(t *testing.T) {
	schema := loadCRD(t)
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			if errs := schema.admit(s.raw); len(errs) > 0 {
				t.Errorf("rejected by the CRD schema:\n%s", strings.Join(errs, "\n"))
			}
			if err := ValidateName(s.ds); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestBuildersApplyTheCRDDefaults: a sample as written (nil fields) and the
// same sample after the CRD's defaulting build identical objects, so the Go
// defaults are the CRD's and objects from fake clientsets or from before a
// default existed render the same.
func TestBuildersApplyTheCRDDefaults(t *testing.T) {
	schema := loadCRD(t)
	samples := loadSamples(t)
	samples = append(samples, sample{name: "empty-spec", raw: map[string]any{
		"apiVersion": "dittofs.dittofs.com/v1alpha1", "kind": "DittoServer",
		"metadata": map[string]any{"name": "empty"},
		"spec":     map[string]any{"storage": map[string]any{"metadataSize": "1Gi"}},
	}})
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			raw := fromMap(t, s.raw)
			defaultedMap := deepCopyJSON(s.raw).(map[string]any)
			schema.admit(defaultedMap)
			defaulted := fromMap(t, defaultedMap)
			if equality.Semantic.DeepEqual(raw.Spec, defaulted.Spec) && s.name != "empty-spec" {
				t.Logf("the CRD adds no default to this sample")
			}
			a, b := buildAll(t, raw), buildAll(t, defaulted)
			if !bytes.Equal(a, b) {
				t.Errorf("objects differ with and without the CRD's defaults:\n%s", lineDiff(string(a), string(b)))
			}
		})
	}
}

func fromMap(t *testing.T, m map[string]any) *dittov1alpha1.DittoServer {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dittov1alpha1.DittoServer{}
	if err := json.Unmarshal(b, ds); err != nil {
		t.Fatal(err)
	}
	return withIdentity(ds)
}

// TestExamplesGolden renders every sample, as the API server stores it
// (defaulted), into testdata/<sample>.{statefulset,config,objects}.yaml.
func TestExamplesGolden(t *testing.T) {
	schema := loadCRD(t)
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			schema.admit(s.raw)
			ds := fromMap(t, s.raw)
			in := inputsFor(ds)
			cfg, err := ConfigYAML(ds, in)
			if err != nil {
				t.Fatal(err)
			}
			sts, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, ds, built{config: cfg, sts: sts, services: services(ds), percona: perconaOf(ds)})
			if n := len(sts.Spec.VolumeClaimTemplates); s.name == "minimal" && n > 2 {
				t.Errorf("a minimal DittoServer claims %d volumes, want at most 2", n)
			}
			golden(t, s.name+".config.yaml", cfg)
			golden(t, s.name+".statefulset.yaml", toYAML(t, sts))
			golden(t, s.name+".objects.yaml", otherObjects(t, ds, cfg))
		})
	}
}

// buildAll renders every object of ds into one YAML stream.
func buildAll(t *testing.T, ds *dittov1alpha1.DittoServer) []byte {
	t.Helper()
	in := inputsFor(ds)
	cfg, err := ConfigYAML(ds, in)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
	if err != nil {
		t.Fatal(err)
	}
	return append(append(toYAML(t, sts), "---\n"...), otherObjects(t, ds, cfg)...)
}

// otherObjects are the children besides the StatefulSet, with fixed values in
// the generated Secrets.
func otherObjects(t *testing.T, ds *dittov1alpha1.DittoServer, cfg []byte) []byte {
	t.Helper()
	var objs []any
	for _, s := range generatedCredentials(ds, "golden-jwt-secret-golden-jwt-secret-golden-jwt-", "golden-admin-password") {
		objs = append(objs, s)
	}
	objs = append(objs, ConfigMap(ds, cfg))
	for _, svc := range services(ds) {
		objs = append(objs, svc)
	}
	if p := perconaOf(ds); p != nil {
		objs = append(objs, p.Object)
	}
	if NetworkPolicyEnabled(ds) {
		objs = append(objs, NetworkPolicy(ds))
	}
	if ServiceMonitorEnabled(ds) {
		objs = append(objs, ServiceMonitor(ds).Object)
	}
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(toYAML(t, o))
	}
	return b.Bytes()
}

// TestLegacyServersKeepTheirVolumes: a server whose StatefulSet was created
// with the legacy layout (metadata, content when sized, cache, controlplane)
// keeps its claim templates, mounts and store paths: the builders, given the
// layout read back from that StatefulSet, render it again unchanged. The
// golden files are testdata/<sample>.legacy.statefulset.yaml.
func TestLegacyServersKeepTheirVolumes(t *testing.T) {
	schema := loadCRD(t)
	for _, s := range loadSamples(t) {
		if s.name != "minimal" && s.name != "tuned" {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			schema.admit(s.raw)
			ds := fromMap(t, s.raw)
			in := inputsFor(ds)
			in.Layout = LayoutLegacy
			cfg, err := ConfigYAML(ds, in)
			if err != nil {
				t.Fatal(err)
			}
			existing, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, ds, built{config: cfg, sts: existing, services: services(ds), percona: perconaOf(ds)})
			golden(t, s.name+".legacy.statefulset.yaml", toYAML(t, existing))

			in.Layout = StorageLayoutOf(existing)
			if in.Layout != LayoutLegacy {
				t.Fatalf("StorageLayoutOf(legacy StatefulSet) = %s", in.Layout)
			}
			again, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := toYAML(t, existing), toYAML(t, again); !bytes.Equal(a, b) {
				t.Errorf("the next pass changes a legacy StatefulSet:\n%s", lineDiff(string(a), string(b)))
			}
			if got, want := LocalBlockStorePath(existing), legacyBlockStorePath(ds); got != want {
				t.Errorf("local block store at %s, want %s", got, want)
			}
		})
	}
}

// legacyBlockStorePath is where a legacy server's block store has been: on
// its content volume when it has one, else on its cache volume.
func legacyBlockStorePath(ds *dittov1alpha1.DittoServer) string {
	if ds.Spec.Storage.ContentSize != nil && !ds.Spec.Storage.ContentSize.IsZero() {
		return "/data/content/blocks"
	}
	return "/data/cache/blocks"
}
