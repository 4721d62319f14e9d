// Command dittofs-test-csi runs the directory-backed test CSI driver
// (package csidriver) on a unix socket, for the real Kubernetes CSI sidecars.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/dittofs/dittofs-operator/test/csidriver"
)

func main() {
	var (
		endpoint = flag.String("endpoint", "", "unix socket path to serve on")
		root     = flag.String("root", "", "directory that holds the volumes and snapshots")
		nodeID   = flag.String("node-id", "", "node name reported by NodeGetInfo")
		name     = flag.String("driver-name", csidriver.DefaultName, "CSI driver name")
		fail     = flag.String("fail-snapshots", "", "regular expression: snapshots whose VolumeSnapshot <namespace>/<name> or CSI name matches fail")
	)
	flag.Parse()
	if err := run(*endpoint, *root, *nodeID, *name, *fail); err != nil {
		fmt.Fprintln(os.Stderr, "dittofs-test-csi:", err)
		os.Exit(1)
	}
}

func run(endpoint, root, nodeID, name, fail string) error {
	if endpoint == "" || root == "" {
		return fmt.Errorf("-endpoint and -root are required")
	}
	cfg := csidriver.Config{Name: name, NodeID: nodeID, Root: root}
	if fail != "" {
		re, err := regexp.Compile(fail)
		if err != nil {
			return fmt.Errorf("-fail-snapshots: %w", err)
		}
		cfg.FailSnapshots = re
	}
	d, err := csidriver.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return d.Serve(ctx, endpoint)
}
