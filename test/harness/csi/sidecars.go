package csi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// child is one sidecar process with its log file and metrics port.
type child struct {
	name string
	log  string
	port int
	p    *proc.Process
}

func (c *child) stop() error {
	if err := c.p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		return fmt.Errorf("stop %s: %w", c.name, err)
	}
	return nil
}

// The processes Start runs; the snapshot ones exit when the snapshot CRDs
// stay absent, so they start with the CRDs (InstallCRDs).
const (
	snapshotController = "snapshot-controller"
	csiProvisioner     = "csi-provisioner"
	csiSnapshotter     = "csi-snapshotter"
)

// startSidecars starts the named processes that are not running yet: the
// snapshot-controller, or a sidecar on the driver's socket; leader election
// off, metrics on loopback.
func (s *Stack) startSidecars(ctx context.Context, names ...string) error {
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return err
	}
	common := []string{"--kubeconfig=" + s.kubeconfig, "--leader-election=false", "--v=4"}
	sidecar := append([]string{"--csi-address=" + s.socket(), "--timeout=60s"}, common...)
	specs := map[string]struct {
		path string
		args []string
	}{
		snapshotController: {s.bins.SnapshotController, append([]string{"--retry-interval-max=5s", "--resync-period=1m"}, common...)},
		csiProvisioner:     {s.bins.CSIProvisioner, append([]string{"--extra-create-metadata", "--retry-interval-max=5s"}, sidecar...)},
		csiSnapshotter:     {s.bins.CSISnapshotter, append([]string{"--extra-create-metadata", "--retry-interval-max=5s"}, sidecar...)},
	}
	var started []*child
	for _, name := range names {
		if s.running(name) {
			continue
		}
		port, err := proc.FreePort()
		if err != nil {
			return err
		}
		sp := specs[name]
		c, err := s.startChild(name, sp.path, append(slices.Clone(sp.args), "--http-endpoint=127.0.0.1:"+strconv.Itoa(port)))
		if err != nil {
			return err
		}
		c.port = port
		started = append(started, c)
	}
	for _, c := range started {
		if err := waitMetrics(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) running(name string) bool {
	for _, c := range s.procs {
		if c.name == name {
			return true
		}
	}
	return false
}

func (s *Stack) startChild(name, path string, args []string) (*child, error) {
	logPath := filepath.Join(s.LogDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	p, err := proc.Start(cmd, func() { _ = f.Close() })
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, p: p}
	s.procs = append(s.procs, c)
	return c, nil
}

// waitMetrics waits until the process serves its metrics endpoint: it has
// read its flags, connected to the driver (the sidecars) and started.
func waitMetrics(ctx context.Context, c *child) error {
	url := "http://127.0.0.1:" + strconv.Itoa(c.port) + "/metrics"
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if c.p.Exited() {
			return fmt.Errorf("%s exited: %v\n%s", c.name, c.p.Err(), tailFile(c.log))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: metrics endpoint not serving: %w\n%s", c.name, ctx.Err(), tailFile(c.log))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tailFile(path string) string {
	data, _ := os.ReadFile(path)
	return proc.Tail(string(data), 30)
}
