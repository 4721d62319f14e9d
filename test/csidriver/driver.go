package csidriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

// DefaultName is the driver's name: the StorageClass's provisioner and the
// VolumeSnapshotClass's driver.
const DefaultName = "csi.test.dittofs.com"

// FailParameter, set to "true" in a VolumeSnapshotClass's parameters, makes
// every snapshot of that class fail.
const FailParameter = "test.dittofs.com/fail"

// Config is what a Driver is started with.
type Config struct {
	// Name is the driver's name (DefaultName when empty).
	Name string
	// NodeID is the node the driver reports (NodeGetInfo).
	NodeID string
	// Root is the directory that holds volumes and snapshots.
	Root string
	// FailSnapshots, when set, fails the snapshots whose VolumeSnapshot
	// "<namespace>/<name>" or CSI name it matches.
	FailSnapshots *regexp.Regexp
}

// Driver serves the CSI Identity, Controller and Node services.
type Driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	cfg Config
	// mu serializes every operation: the sidecars retry, and the store's
	// check-then-create must not race.
	mu    sync.Mutex
	store *store
}

// New returns a driver whose state lives under cfg.Root.
func New(cfg Config) (*Driver, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.NodeID == "" {
		return nil, errors.New("csidriver: NodeID is required")
	}
	s, err := newStore(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("csidriver: %w", err)
	}
	return &Driver{cfg: cfg, store: s}, nil
}

// VolumeDir returns the directory of a volume by its ID (a
// PersistentVolume's spec.csi.volumeHandle).
func (d *Driver) VolumeDir(volumeID string) string { return d.store.dir(volumesDir, volumeID) }

// Serve listens on the unix socket at path (removing a stale one) and serves
// until ctx ends.
func (d *Driver) Serve(ctx context.Context, path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	lis, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	srv := grpc.NewServer()
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}
