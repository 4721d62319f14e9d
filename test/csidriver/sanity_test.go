package csidriver_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/test/csidriver"
	"github.com/dittofs/dittofs-operator/test/harness/csi"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestSanity runs csi-sanity (github.com/kubernetes-csi/csi-test/v5, the
// CSI specification's conformance suite) against the driver: identity,
// controller (volumes, clones, snapshots, expansion) and node services.
func TestSanity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("NodePublishVolume bind-mounts: needs root")
	}
	bins, err := csi.Build()
	if err != nil {
		t.Fatal(err)
	}
	// A unix socket path must stay under 108 bytes: not under t.TempDir().
	dir, err := os.MkdirTemp("", "csi-sanity-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "csi.sock")
	d, err := csidriver.New(csidriver.Config{NodeID: "sanity-node", Root: filepath.Join(dir, "root")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx, sock) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	var out bytes.Buffer
	cmd := exec.Command(bins.CSISanity,
		"--csi.endpoint="+sock,
		"--csi.mountdir="+filepath.Join(dir, "mnt"),
		"--csi.stagingdir="+filepath.Join(dir, "staging"),
		"--csi.testvolumesize=1048576",
		"--csi.testvolumeexpandsize=2097152",
		"--ginkgo.timeout=5m",
		"--ginkgo.no-color",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = proc.Run(cmd)
	t.Logf("csi-sanity ran in %s", time.Since(start).Round(time.Millisecond))
	summary := lastLines(out.String(), 8)
	if err != nil {
		t.Fatalf("csi-sanity: %v\n%s", err, proc.Tail(out.String(), 120))
	}
	t.Logf("csi-sanity:\n%s", summary)
	m := regexp.MustCompile(`(\d+) Passed \| (\d+) Failed`).FindStringSubmatch(summary)
	if m == nil || m[1] == "0" || m[2] != "0" {
		t.Fatalf("csi-sanity passed no spec or failed some:\n%s", summary)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
