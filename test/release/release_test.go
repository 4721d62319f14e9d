// Package release checks what `make release` writes: the multi-platform OCI
// image (platforms, user, entrypoint, no shell, a static binary per
// architecture), that a second build gives the same digest, that install.yaml,
// install-namespaced.yaml and the chart name the image by that digest, that
// SHA256SUMS holds, that the kubectl plugin's archives and krew manifest
// agree and are reproducible (plugin_test.go), and (install_test.go) that the
// release's install.yaml installs an operator that takes a sample to Ready on
// the local control plane, which the release's kubectl ditto then shows.
// Run with `make test-release`.
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

const repository = "ghcr.io/dittofs/dittofs-operator"

// releaseURL is where the krew manifest says the plugin's archives are.
const releaseURL = "https://downloads.example.test/dittofs-operator/release"

// Two release builds of the same tree, shared by the tests: dirs[0] is
// checked, dirs[1] only compared with it.
var (
	root    string
	dirs    [2]string
	digests [2]string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = localcluster.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "dittofs-release-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, fmt.Sprint(i))
		// Run from the spawner thread, like every child of the tests
		// (test/README.md): it dies with the test binary.
		cmd := exec.Command("make", "--no-print-directory", "release", "RELEASE_DIR="+dirs[i], "RELEASE_REPOSITORY="+repository, "RELEASE_URL="+releaseURL+"/")
		cmd.Dir = root
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := proc.Run(cmd); err != nil {
			fmt.Fprintf(os.Stderr, "make release: %v\n%s", err, stderr.String())
			return 1
		}
		lines := strings.Fields(stdout.String())
		digests[i] = lines[len(lines)-1]
	}
	return m.Run()
}

// Two builds of one tree give one image: same index digest, same archive.
func TestReproducible(t *testing.T) {
	if !strings.HasPrefix(digests[0], "sha256:") || digests[0] != digests[1] {
		t.Fatalf("two release builds gave the digests %q and %q", digests[0], digests[1])
	}
	a, b := fileSum(t, filepath.Join(dirs[0], "dittofs-operator-image.oci.tar")), fileSum(t, filepath.Join(dirs[1], "dittofs-operator-image.oci.tar"))
	if a != b {
		t.Errorf("the two OCI archives differ: %s, %s", a, b)
	}
	t.Logf("image index %s", digests[0])
}

// The image: an index of linux/amd64 and linux/arm64, each image running
// /dittofs-operator as 65532:65532 with the OCI labels, with no shell, and a
// static binary of its architecture.
func TestImage(t *testing.T) {
	p, err := layout.FromPath(filepath.Join(dirs[0], "dittofs-operator-image"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest.String() != digests[0] {
		t.Fatalf("index.json lists %+v, want the one image index %s", tm.Manifests, digests[0])
	}
	if name := tm.Manifests[0].Annotations["io.containerd.image.name"]; !strings.HasPrefix(name, repository+":v") {
		t.Errorf("index.json names the image %q for ctr import", name)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	var platforms []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s names no platform", d.Digest)
		}
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, d.Platform, machines[d.Platform.Architecture])
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
}

func checkImage(t *testing.T, img v1.Image, p *v1.Platform, machine elf.Machine) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	what := p.OS + "/" + p.Architecture
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("%s: config says %s/%s", what, cf.OS, cf.Architecture)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/dittofs-operator"}) {
		t.Errorf("%s: user %q entrypoint %q, want 65532:65532 and [/dittofs-operator]", what, cf.Config.User, cf.Config.Entrypoint)
	}
	for _, l := range []string{"title", "version", "source", "licenses", "revision"} {
		if cf.Config.Labels["org.opencontainers.image."+l] == "" {
			t.Errorf("%s: no label org.opencontainers.image.%s", what, l)
		}
	}
	files := map[string][]byte{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "/")] = data
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
		if _, ok := files[shell]; ok {
			t.Errorf("%s: the image has %s", what, shell)
		}
	}
	bin, ok := files["dittofs-operator"]
	if !ok {
		t.Fatalf("%s: no /dittofs-operator in the image", what)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: /dittofs-operator: %v", what, err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: /dittofs-operator is %s %s, want %s ET_EXEC", what, f.Machine, f.Type, machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: /dittofs-operator is dynamically linked (%s)", what, prog.Type)
		}
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("%s: /etc/passwd has no nonroot account: %q", what, files["etc/passwd"])
	}
}

// The archive holds the layout at its root, as ctr import and skopeo's
// oci-archive: read it.
func TestArchiveIsTheLayout(t *testing.T) {
	f, err := os.Open(filepath.Join(dirs[0], "dittofs-operator-image.oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		n++
		data, _ := io.ReadAll(tr)
		want, err := os.ReadFile(filepath.Join(dirs[0], "dittofs-operator-image", h.Name))
		if err != nil || !bytes.Equal(data, want) {
			t.Errorf("archive entry %s is not the layout's file (%v)", h.Name, err)
		}
	}
	if n < 3 {
		t.Errorf("the archive holds %d files", n)
	}
}

// Both installs and the chart run the image by the release's digest.
func TestInstallsPinTheDigest(t *testing.T) {
	want := repository + "@" + digests[0]
	for _, name := range []string{"install.yaml", "install-namespaced.yaml"} {
		if got := deployment(t, filepath.Join(dirs[0], name)).Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("%s runs image %q, want %q", name, got, want)
		}
	}
	values := chartFile(t, "dittofs-operator/values.yaml")
	for _, line := range []string{"  repository: " + repository, "  digest: " + digests[0]} {
		if !strings.Contains(values, line+"\n") {
			t.Errorf("the packaged chart's values.yaml lacks %q", line)
		}
	}
	// The packaged chart, as helm renders it with its defaults.
	helm, err := proc.BuildScript("build-helm.sh")
	if err != nil {
		t.Fatal(err)
	}
	tgz, _ := filepath.Glob(filepath.Join(dirs[0], "dittofs-operator-*.tgz"))
	home := t.TempDir()
	cmd := exec.Command(helm, "template", "r", tgz[0], "--namespace", "dittofs-system")
	cmd.Env = append(cmd.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := proc.Run(cmd); err != nil {
		t.Fatalf("helm template %s: %v\n%s", tgz[0], err, stderr.String())
	}
	rendered := filepath.Join(home, "chart.yaml")
	if err := os.WriteFile(rendered, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := deployment(t, rendered).Spec.Template.Spec.Containers[0].Image; got != want {
		t.Errorf("the packaged chart runs image %q, want %q", got, want)
	}
	index, err := os.ReadFile(filepath.Join(dirs[0], "index.yaml"))
	if err != nil || !strings.Contains(string(index), "dittofs-operator-") {
		t.Errorf("index.yaml does not list the chart: %v\n%s", err, index)
	}
}

// SHA256SUMS lists every file of the release, and each sum holds.
func TestChecksums(t *testing.T) {
	f, err := os.Open(filepath.Join(dirs[0], "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		listed[name] = true
		if got := fileSum(t, filepath.Join(dirs[0], name)); got != sum {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, sum)
		}
	}
	err = filepath.WalkDir(dirs[0], func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dirs[0], path)
		if rel != "SHA256SUMS" && !listed[rel] {
			t.Errorf("SHA256SUMS misses %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{"install.yaml", "install-namespaced.yaml", "index.yaml", "LICENSE", "CHANGELOG.md", "VERSION", "dittofs-operator-image.oci.tar", "plugin.yaml"} {
		if !listed[need] {
			t.Errorf("the release has no %s", need)
		}
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// deployment is the one Deployment of a rendered install.
func deployment(t *testing.T, path string) *appsv1.Deployment {
	t.Helper()
	objs, err := operator.ReadObjects(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			var dep appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep); err != nil {
				t.Fatal(err)
			}
			return &dep
		}
	}
	t.Fatalf("%s has no Deployment", path)
	return nil
}

// chartFile reads one file of the packaged chart.
func chartFile(t *testing.T, name string) string {
	t.Helper()
	tgz, err := filepath.Glob(filepath.Join(dirs[0], "dittofs-operator-*.tgz"))
	if err != nil || len(tgz) != 1 {
		t.Fatalf("packaged charts: %v %v", tgz, err)
	}
	f, err := os.Open(tgz[0])
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
		if err != nil {
			t.Fatalf("%s in %s: %v", name, tgz[0], err)
		}
		if h.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
	}
}
