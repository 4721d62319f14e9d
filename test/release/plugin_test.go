package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin (index format v1alpha2) the
// release writes.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

// plugin.yaml is a krew manifest of the plugin "ditto" at the release's
// version: one platform per archive, each archive under RELEASE_URL with its
// sha256, holding kubectl-ditto built for that platform (static on Linux)
// and LICENSE.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(dirs[0], "plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m krewPlugin
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		t.Fatalf("plugin.yaml: %v", err)
	}
	ver := releaseVersion(t)
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "ditto" {
		t.Errorf("plugin.yaml is %s %s %q, want krew's v1alpha2 Plugin ditto", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if m.Spec.Version != ver || m.Spec.ShortDescription == "" || m.Spec.Homepage == "" {
		t.Errorf("spec version %q (want %q), homepage %q, shortDescription %q", m.Spec.Version, ver, m.Spec.Homepage, m.Spec.ShortDescription)
	}
	var platforms []string
	for _, p := range m.Spec.Platforms {
		os, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		platform := os + "/" + arch
		platforms = append(platforms, platform)
		archive := "kubectl-ditto_" + ver + "_" + os + "_" + arch + ".tar.gz"
		if p.URI != releaseURL+"/"+archive {
			t.Errorf("%s: uri %q, want %q", platform, p.URI, releaseURL+"/"+archive)
		}
		if got := fileSum(t, filepath.Join(dirs[0], archive)); got != p.SHA256 {
			t.Errorf("%s: sha256 %s in plugin.yaml, the archive's is %s", platform, p.SHA256, got)
		}
		var files []string
		for _, f := range p.Files {
			files = append(files, f.From+"→"+f.To)
		}
		if p.Bin != "kubectl-ditto" || !slices.Equal(files, []string{"kubectl-ditto→.", "LICENSE→."}) {
			t.Errorf("%s: bin %q files %v", platform, p.Bin, files)
		}
		checkPluginArchive(t, filepath.Join(dirs[0], archive), os, arch)
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}) {
		t.Errorf("platforms %v", platforms)
	}
}

// Two builds of one tree give byte-identical plugin archives and manifests.
func TestPluginReproducible(t *testing.T) {
	archives, _ := filepath.Glob(filepath.Join(dirs[0], "kubectl-ditto_*.tar.gz"))
	if len(archives) != 4 {
		t.Fatalf("%d plugin archives: %v", len(archives), archives)
	}
	for _, a := range append(archives, filepath.Join(dirs[0], "plugin.yaml")) {
		name := filepath.Base(a)
		if x, y := fileSum(t, a), fileSum(t, filepath.Join(dirs[1], name)); x != y {
			t.Errorf("%s differs between two builds: %s, %s", name, x, y)
		}
	}
}

// The install's objects say the release's version, which the operator's
// image, named by digest, does not (kubectl ditto version reads it).
func TestInstallsCarryTheVersion(t *testing.T) {
	ver := releaseVersion(t)
	for _, name := range []string{"install.yaml", "install-namespaced.yaml"} {
		if got := deployment(t, filepath.Join(dirs[0], name)).Labels["app.kubernetes.io/version"]; got != ver {
			t.Errorf("%s: the Deployment's app.kubernetes.io/version is %q, want %q", name, got, ver)
		}
	}
}

func releaseVersion(t *testing.T) string {
	t.Helper()
	v, err := os.ReadFile(filepath.Join(dirs[0], "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// checkPluginArchive: kubectl-ditto (0755, for os/arch, static on Linux)
// and LICENSE, owned by 0:0, nothing else.
func checkPluginArchive(t *testing.T, path, goos, goarch string) {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Uid != 0 || h.Gid != 0 || (h.Name == "kubectl-ditto" && h.Mode&0o755 != 0o755) {
			t.Errorf("%s: %s owned by %d:%d, mode %o", path, h.Name, h.Uid, h.Gid, h.Mode)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"LICENSE", "kubectl-ditto"}) {
		t.Fatalf("%s holds %v, want LICENSE and kubectl-ditto", path, names)
	}
	bin := files["kubectl-ditto"]
	switch goos {
	case "linux":
		e, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: kubectl-ditto: %v", path, err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if e.Machine != want {
			t.Errorf("%s: kubectl-ditto is for %s, want %s", path, e.Machine, want)
		}
		for _, prog := range e.Progs {
			if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
				t.Errorf("%s: kubectl-ditto is dynamically linked (%s)", path, prog.Type)
			}
		}
	case "darwin":
		m, err := macho.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: kubectl-ditto: %v", path, err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if m.Cpu != want {
			t.Errorf("%s: kubectl-ditto is for %s, want %s", path, m.Cpu, want)
		}
	default:
		t.Errorf("%s: unexpected os %s", path, goos)
	}
}
