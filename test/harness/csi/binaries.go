package csi

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// Binaries are the CSI components hack/build-csi.sh builds from the Go
// module proxy.
type Binaries struct {
	SnapshotController string
	CSISnapshotter     string
	CSIProvisioner     string
	CSISanity          string
}

var buildOnce = sync.OnceValues(build)

// Build runs hack/build-csi.sh (once per test binary; the script takes a
// lock and builds only what its cache lacks) and returns the binaries.
func Build() (Binaries, error) { return buildOnce() }

func build() (Binaries, error) {
	script, err := proc.FindUp("hack/build-csi.sh")
	if err != nil {
		return Binaries{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script, "--print-env")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := proc.Run(cmd); err != nil {
		return Binaries{}, fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	env := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			env[k] = v
		}
	}
	b := Binaries{
		SnapshotController: env["SNAPSHOT_CONTROLLER"],
		CSISnapshotter:     env["CSI_SNAPSHOTTER"],
		CSIProvisioner:     env["CSI_PROVISIONER"],
		CSISanity:          env["CSI_SANITY"],
	}
	for _, p := range []string{b.SnapshotController, b.CSISnapshotter, b.CSIProvisioner, b.CSISanity} {
		if _, err := os.Stat(p); err != nil {
			return Binaries{}, fmt.Errorf("%s --print-env: %w", script, err)
		}
	}
	return b, nil
}
