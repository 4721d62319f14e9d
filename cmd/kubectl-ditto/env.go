package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
)

// env is what a subcommand runs with: the clients, the namespace chosen
// like kubectl chooses it (-n, else the context's, else default), and where
// it prints.
type env struct {
	kube          kubernetes.Interface
	ditto         versioned.Interface
	namespace     string
	allNamespaces bool
	// flags are the plugin's own flags (-o, --name, --wait, ...).
	flags *flags
	out   io.Writer
	// errOut is stderr, for warnings that must not mix with the output.
	errOut io.Writer
	// now dates events and conditions; tests fix it.
	now time.Time
}

func newEnv(cfg clientcmd.ClientConfig, all bool, out io.Writer, connect connectFunc, now time.Time) (*env, error) {
	ns, _, err := cfg.Namespace()
	if err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	kube, ditto, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	return &env{kube: kube, ditto: ditto, namespace: ns, allNamespaces: all, out: out, errOut: io.Discard, flags: &flags{}, now: now}, nil
}

// command is one subcommand: its positional arguments and what it does.
type command struct {
	usage string
	help  string
	args  int
	run   func(ctx context.Context, e *env, args []string) error
}

var commandOrder = []string{"status", "shares", "mount", "credentials", "backup", "restore", "version"}

var commands = map[string]command{
	"status": {usage: "status SERVER", args: 1, run: status,
		help: "a DittoServer with its endpoints, conditions, volumes, shares, users, backups and recent warnings"},
	"shares": {usage: "shares [-A]", args: 0, run: shares,
		help: "the DittoShares, each with its server, readiness and NFS address"},
	"mount": {usage: "mount SHARE [-o yaml]", args: 1, run: mount,
		help: "the NFS and SMB mount commands, and the claim of spec.volume or a PersistentVolume"},
	"credentials": {usage: "credentials SERVER [--show-password]", args: 1, run: credentials,
		help: "how to log in to the server's REST API as the administrator"},
	"backup": {usage: "backup SERVER [--name N] [--class C] [--wait]", args: 1, run: backup,
		help: "create a DittoBackup of the server"},
	"restore": {usage: "restore BACKUP --to NAME [-n NS]", args: 1, run: restore,
		help: "create a DittoServer from a DittoBackup ([NAMESPACE/]BACKUP)"},
	"version": {usage: "version [-A]", args: 0, run: versions,
		help: "this plugin's version, the operator's, and the DittoFS image each server runs"},
}
