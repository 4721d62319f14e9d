package csi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/dittofs/dittofs-operator/test/csidriver"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// Names of the objects Start creates.
const (
	// StorageClass provisions claims on the test driver (Immediate
	// binding, expansion allowed, Delete).
	StorageClass = "csi-dir"
	// SnapshotClass is the cluster's default VolumeSnapshotClass for the
	// driver (deletionPolicy Delete).
	SnapshotClass = "csi-dir"
	// FailingSnapshotClass is a VolumeSnapshotClass of the same driver whose
	// every snapshot fails (csidriver.FailParameter).
	FailingSnapshotClass = "csi-dir-failing"
	// DriverName is the test driver's CSI name.
	DriverName = csidriver.DefaultName
)

// Options configures Start.
type Options struct {
	// Kubeconfig is the path of an admin kubeconfig for the sidecars and
	// the snapshot-controller; RESTConfig the same credentials for the
	// harness's own requests.
	Kubeconfig string
	RESTConfig *rest.Config
	// NodeName is the node the driver reports (the kwok node).
	NodeName string
	// FailSnapshots, when set, fails every snapshot whose VolumeSnapshot
	// "<namespace>/<name>" matches.
	FailSnapshots *regexp.Regexp
	// SkipCRDs leaves the snapshot CRDs out (a test installs them later
	// with InstallCRDs, which starts the snapshot-controller and
	// csi-snapshotter: both exit when the CRDs stay absent).
	SkipCRDs bool
}

// Stack is the running CSI machinery. Stop it with Stop.
type Stack struct {
	// Dir holds the driver's socket, its volumes and snapshots, and logs/.
	Dir    string
	LogDir string

	driver     *csidriver.Driver
	bins       Binaries
	kubeconfig string
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	cfg        *rest.Config
	procs      []*child
	cancel     context.CancelFunc
	served     chan error
	stopped    sync.Once
	stopErr    error
}

// Start installs the snapshot CRDs (unless SkipCRDs), starts the driver,
// the snapshot-controller, csi-provisioner and csi-snapshotter, and creates
// the StorageClass and VolumeSnapshotClasses. It returns once every sidecar
// serves its metrics endpoint. On error everything started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Kubeconfig == "" || opts.RESTConfig == nil || opts.NodeName == "" {
		return nil, errors.New("csi: Kubeconfig, RESTConfig and NodeName are required")
	}
	bins, err := Build()
	if err != nil {
		return nil, err
	}
	// A unix socket path must stay under 108 bytes: a short directory.
	dir, err := os.MkdirTemp("", "csi-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir, LogDir: filepath.Join(dir, "logs"), cfg: opts.RESTConfig, bins: bins, kubeconfig: opts.Kubeconfig}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	if err := s.connect(); err != nil {
		return nil, err
	}
	if err := s.startDriver(opts); err != nil {
		return nil, err
	}
	if err := s.startSidecars(ctx, csiProvisioner); err != nil {
		return nil, err
	}
	if !opts.SkipCRDs {
		if err := s.InstallCRDs(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.createStorageClass(ctx); err != nil {
		return nil, err
	}
	if !opts.SkipCRDs {
		if err := s.CreateSnapshotClasses(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) connect() error {
	cfg := rest.CopyConfig(s.cfg)
	cfg.UserAgent = "dittofs-test-csi"
	var err error
	if s.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	s.dyn, err = dynamic.NewForConfig(cfg)
	return err
}

// CRDDir is the directory of the snapshot CRDs in the repository.
func CRDDir() (string, error) { return proc.FindUp("test/harness/csi/crds") }

// InstallCRDs creates the snapshot.storage.k8s.io CRDs, waits until they
// are Established, and starts the snapshot-controller and csi-snapshotter.
func (s *Stack) InstallCRDs(ctx context.Context) error {
	dir, err := CRDDir()
	if err != nil {
		return err
	}
	a, err := operator.NewApplier(s.cfg)
	if err != nil {
		return err
	}
	if _, err := a.InstallCRDs(ctx, dir); err != nil {
		return fmt.Errorf("install the snapshot CRDs: %w", err)
	}
	return s.startSidecars(ctx, snapshotController, csiSnapshotter)
}

func (s *Stack) socket() string { return filepath.Join(s.Dir, "csi.sock") }

// startDriver serves the test driver from this process on the socket.
func (s *Stack) startDriver(opts Options) error {
	d, err := csidriver.New(csidriver.Config{
		NodeID:        opts.NodeName,
		Root:          filepath.Join(s.Dir, "storage"),
		FailSnapshots: opts.FailSnapshots,
	})
	if err != nil {
		return err
	}
	s.driver = d
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.served = cancel, make(chan error, 1)
	go func() { s.served <- d.Serve(ctx, s.socket()) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.socket()); err == nil {
			return nil
		}
		select {
		case err := <-s.served:
			s.served <- err
			return fmt.Errorf("csi driver: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("csi driver: socket did not appear")
		}
	}
}

// VolumeDir returns the directory of a volume by its handle (a
// PersistentVolume's spec.csi.volumeHandle).
func (s *Stack) VolumeDir(volumeHandle string) string { return s.driver.VolumeDir(volumeHandle) }

// Stop stops the sidecars (SIGTERM, then SIGKILL), the driver, and removes
// the stack's directory. The objects it created in the cluster stay.
func (s *Stack) Stop() error {
	s.stopped.Do(func() {
		var errs []error
		for i := len(s.procs) - 1; i >= 0; i-- {
			if err := s.procs[i].stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if s.cancel != nil {
			s.cancel()
			if err := <-s.served; err != nil {
				errs = append(errs, err)
			}
		}
		if os.Getenv("CSI_KEEP_DIR") == "" {
			errs = append(errs, os.RemoveAll(s.Dir))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}
