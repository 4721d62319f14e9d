package resources

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the builders' output")

const (
	examplesDir = "../../../artifacts/examples"
	testNS      = "default"
	testUID     = "6f1c2a4e-0d9b-4c47-9a53-0b8e5d1f7c21"
)

// sample is one DittoServer of artifacts/examples.
type sample struct {
	name string         // file name without .yaml
	raw  map[string]any // the document as written
	ds   *dittov1alpha1.DittoServer
}

// loadSamples reads every example; each must hold exactly one DittoServer
// (other documents, such as the Secrets it references, are skipped). The
// DittoServer is decoded strictly: a field the API does not know fails.
func loadSamples(t testing.TB) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", examplesDir, err)
	}
	var out []sample
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		var found []sample
		for _, doc := range splitYAML(data) {
			var raw map[string]any
			if err := yaml.Unmarshal(doc, &raw); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if raw["kind"] != "DittoServer" {
				continue
			}
			ds := &dittov1alpha1.DittoServer{}
			if err := yaml.UnmarshalStrict(doc, ds); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			found = append(found, sample{name: name, raw: raw, ds: withIdentity(ds)})
		}
		if len(found) != 1 {
			t.Fatalf("%s holds %d DittoServers, want 1", f, len(found))
		}
		out = append(out, found...)
	}
	return out
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

// withIdentity gives ds what the API server would: a namespace and a UID.
func withIdentity(ds *dittov1alpha1.DittoServer) *dittov1alpha1.DittoServer {
	if ds.Namespace == "" {
		ds.Namespace = testNS
	}
	ds.UID = testUID
	return ds
}

// inputsFor are fixed inputs: the Secrets the spec implies, each at a fixed
// resourceVersion.
func inputsFor(ds *dittov1alpha1.DittoServer) Inputs {
	in := Inputs{
		JWTSecret:          JWTSecretSelector(ds),
		AdminPassword:      AdminPasswordSelector(ds),
		PostgresSecretName: PostgresSecretName(ds),
		SecretVersions:     map[string]string{},
	}
	names := []string{in.JWTSecret.Name, in.AdminPassword.Name, in.PostgresSecretName}
	if s3 := ds.Spec.S3; s3 != nil && s3.CredentialsSecretRef != nil {
		names = append(names, s3.CredentialsSecretRef.SecretName)
	}
	if name := TLSSecretName(ds); name != "" {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, n := range names {
		if n != "" {
			in.SecretVersions[n] = string(rune('1' + i))
		}
	}
	return in
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/controller/resources -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the builders' output (run with -update if the change is intended):\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines only in want (-) or only in got (+), in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i >= len(w) || !contains(w[i:], g[j])):
			b.WriteString("+ " + g[j] + "\n")
			j++
		default:
			b.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func toYAML(t testing.TB, obj any) []byte {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// generatedCredentials are the Secrets the operator generates, with fixed
// values.
func generatedCredentials(ds *dittov1alpha1.DittoServer, jwt, password string) []*corev1.Secret {
	values := map[string]string{JWTSecretKey: jwt, AdminPasswordKey: password}
	var out []*corev1.Secret
	for _, g := range GeneratedSecrets(ds) {
		data := map[string]string{}
		for _, v := range g.Values {
			data[v.Key] = values[v.Key]
		}
		out = append(out, CredentialsSecret(ds, g.Name, data))
	}
	return out
}
