package image

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// `make image` (the Dockerfile) and `make release` (this package) give one
// image to the user: the same entrypoint, user and OCI labels.
func TestDockerfileMatchesTheAssembledImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// The final stage, with continuation lines joined.
	df := string(data)
	df = df[strings.LastIndex(df, "\nFROM "):]
	df = strings.ReplaceAll(df, "\\\n", " ")
	if !strings.Contains(df, "\nUSER "+User+"\n") {
		t.Errorf("the Dockerfile's final stage has no USER %s", User)
	}
	if !strings.Contains(df, `ENTRYPOINT ["`+Entrypoint+`"]`) {
		t.Errorf("the Dockerfile's final stage has no ENTRYPOINT [%q]", Entrypoint)
	}
	labels := map[string]string{}
	for _, m := range regexp.MustCompile(`(org\.opencontainers\.image\.[a-z]+)="([^"]*)"`).FindAllStringSubmatch(df, -1) {
		labels[m[1]] = m[2]
	}
	want := Labels("${VERSION}", "${REVISION}", "https://github.com/dittofs/dittofs-operator", "Apache-2.0")
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if labels[k] != want[k] {
			t.Errorf("Dockerfile LABEL %s=%q, the assembled image sets %q", k, labels[k], want[k])
		}
	}
	if len(labels) != len(want) {
		t.Errorf("Dockerfile labels %v, assembled image labels %v", labels, want)
	}
}

// One binary, two builds: one digest; another time stamp: another digest.
func TestIndexIsReproducible(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dittofs-operator")
	if err := os.WriteFile(bin, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := func(created time.Time) Options {
		return Options{
			Platforms: []Platform{{OS: "linux", Architecture: "amd64", Binary: bin}, {OS: "linux", Architecture: "arm64", Variant: "v8", Binary: bin}},
			Created:   created,
			Labels:    Labels("v0.0.0", "abc", "src", "Apache-2.0"),
		}
	}
	digest := func(o Options) string {
		idx, err := Index(o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	t0 := time.Unix(1700000000, 0)
	a, b, c := digest(opts(t0)), digest(opts(t0)), digest(opts(t0.Add(time.Second)))
	if a != b || a == c {
		t.Errorf("digests %s, %s (same input) and %s (another time)", a, b, c)
	}
}
