package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Versions of the control-plane binaries; hack/build-control-plane.sh builds
// exactly these.
const (
	EtcdVersion = "v3.6.16"
	KubeVersion = "v1.37.2"
	KwokVersion = "v0.8.0"
)

// modulePath identifies the repository root while walking up from the
// working directory.
const modulePath = "github.com/dittofs/dittofs-operator"

// buildScript is the repository-relative path of the script that builds the
// binaries into the cache.
const buildScript = "hack/build-control-plane.sh"

// Binaries holds the paths of the control-plane executables.
type Binaries struct {
	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Kwok                  string
	Kubectl               string
}

// CacheDir returns the directory that holds the cached binaries and build
// wrappers: $DITTOFS_CACHE_DIR, else $XDG_CACHE_HOME/dittofs-operator, else
// $HOME/.cache/dittofs-operator.
func CacheDir() string {
	if d := os.Getenv("DITTOFS_CACHE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "dittofs-operator")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "dittofs-operator")
}

// CachedBinaries returns where hack/build-control-plane.sh puts each binary:
// CacheDir()/bin/<name>-<version>/<name>. The files may not exist yet.
func CachedBinaries() Binaries {
	p := func(name, version string) string {
		return filepath.Join(CacheDir(), "bin", name+"-"+version, name)
	}
	return Binaries{
		Etcd:                  p("etcd", EtcdVersion),
		KubeAPIServer:         p("kube-apiserver", KubeVersion),
		KubeControllerManager: p("kube-controller-manager", KubeVersion),
		KubeScheduler:         p("kube-scheduler", KubeVersion),
		Kwok:                  p("kwok", KwokVersion),
		Kubectl:               p("kubectl", KubeVersion),
	}
}

// withDefaults fills every empty path from CachedBinaries.
func (b Binaries) withDefaults() Binaries {
	d := CachedBinaries()
	fill := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	fill(&b.Etcd, d.Etcd)
	fill(&b.KubeAPIServer, d.KubeAPIServer)
	fill(&b.KubeControllerManager, d.KubeControllerManager)
	fill(&b.KubeScheduler, d.KubeScheduler)
	fill(&b.Kwok, d.Kwok)
	fill(&b.Kubectl, d.Kubectl)
	return b
}

func (b Binaries) all() map[string]string {
	return map[string]string{
		"etcd":                    b.Etcd,
		"kube-apiserver":          b.KubeAPIServer,
		"kube-controller-manager": b.KubeControllerManager,
		"kube-scheduler":          b.KubeScheduler,
		"kwok":                    b.Kwok,
		"kubectl":                 b.Kubectl,
	}
}

// missing lists the binaries that are not executable files.
func (b Binaries) missing() []string {
	var out []string
	for name, path := range b.all() {
		if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			out = append(out, name+" ("+path+")")
		}
	}
	return out
}

// buildMu serialises builds started from one process; the script itself is
// idempotent, so concurrent processes only waste time, never corrupt files.
var buildMu sync.Mutex

// EnsureBinaries fills empty paths of b from the cache and, if any binary is
// missing, runs hack/build-control-plane.sh (found by walking up from the
// working directory to this module's go.mod) with its progress written to
// log. A cold build takes about ten minutes on two cores.
func EnsureBinaries(ctx context.Context, b Binaries, log io.Writer) (Binaries, error) {
	b = b.withDefaults()
	if len(b.missing()) == 0 {
		return b, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	missing := b.missing()
	if len(missing) == 0 {
		return b, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return b, fmt.Errorf("control-plane binaries missing: %s; build them with %s from the %s repository: %w",
			strings.Join(missing, ", "), buildScript, modulePath, err)
	}
	if log == nil {
		log = os.Stderr
	}
	_, _ = fmt.Fprintf(log, "localcluster: missing %s; running %s\n", strings.Join(missing, ", "), buildScript)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, buildScript))
	cmd.Dir = root
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return b, fmt.Errorf("%s failed: %w", buildScript, err)
	}
	if missing := b.missing(); len(missing) > 0 {
		return b, fmt.Errorf("%s finished but binaries are still missing: %s", buildScript, strings.Join(missing, ", "))
	}
	return b, nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares this module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(string(data), modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod for " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

func declaresModule(gomod, path string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}
