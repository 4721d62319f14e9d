// Command local-cluster runs the operator against a throw-away local control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a
// kwok node, see test/localcluster). It installs the CRDs, applies a sample
// DittoServer and runs the operator binary in the foreground; Ctrl-C stops
// the operator and then the cluster.
//
// Arguments after "--" are passed to the operator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

func main() {
	os.Exit(run())
}

func run() int {
	var (
		operatorBin = flag.String("operator-binary", "bin/dittofs-operator", "operator executable to run")
		crdDir      = flag.String("crds", "artifacts/crds", "directory of CRD YAML files to install")
		sample      = flag.String("sample", "artifacts/examples/minimal.yaml", "YAML applied to namespace default once the CRDs are established")
		workDir     = flag.String("work-dir", "", "directory for cluster data, logs and kubeconfig (kept on exit); default a temporary directory removed on exit")
		cpLogs      = flag.Bool("control-plane-logs", false, "stream control-plane component output to stderr instead of only to files")
		numPVs      = flag.Int("pvs", 50, "number of static PersistentVolumes to create")
	)
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [-- operator args...]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	opBin, err := filepath.Abs(*operatorBin)
	if err == nil {
		_, err = os.Stat(opBin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "operator binary: %v (build it first, e.g. make build)\n", err)
		return 1
	}

	// Signals during startup cancel the boot; afterwards they stop the
	// operator and then the cluster.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	bootCtx, cancelBoot := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancelBoot()
	interrupted := false
	bootWatcher := make(chan struct{})
	go func() {
		defer close(bootWatcher)
		select {
		case <-sigs:
			fmt.Fprintln(os.Stderr, "interrupted, stopping…")
			interrupted = true
			cancelBoot()
		case <-bootCtx.Done():
		}
	}()
	// endBoot stops the watcher and reports whether it consumed a signal.
	endBoot := func() bool {
		cancelBoot()
		<-bootWatcher
		return interrupted
	}

	opts := localcluster.Options{WorkDir: *workDir, NumPVs: *numPVs}
	if *numPVs == 0 {
		opts.NumPVs = -1
	}
	if *cpLogs {
		opts.Log = os.Stderr
	}
	fmt.Fprintln(os.Stderr, "starting local control plane…")
	t0 := time.Now()
	cluster, err := localcluster.Start(bootCtx, opts)
	if err != nil {
		if endBoot() {
			return 0 // interrupted while starting
		}
		fmt.Fprintf(os.Stderr, "start control plane: %v\n", err)
		return 1
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "stopping control plane…")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "control plane ready in %s (component logs in %s)\n",
		time.Since(t0).Round(100*time.Millisecond), cluster.LogDir)

	sampleName, err := install(bootCtx, cluster, *crdDir, *sample)
	if endBoot() {
		return 0 // interrupted while starting
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	if sampleName == "" {
		sampleName = "<name>"
	}
	fmt.Printf(`Local control plane is up.
  export KUBECONFIG=%s
  export PATH=%s:$PATH
  kubectl get ditto
  kubectl describe ditto %s
  kubectl get events --sort-by=.lastTimestamp
(kubectl %s at %s matches the server; Ctrl-C stops the operator and the cluster)
`, cluster.Kubeconfig, filepath.Dir(cluster.KubectlPath), sampleName, localcluster.KubeVersion, cluster.KubectlPath)

	op, err := operator.Start(context.Background(), operator.Options{
		Binary: opBin, Kubeconfig: cluster.Kubeconfig, Args: localOperatorArgs(flag.Args()), Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start operator: %v\n", err)
		return 1
	}
	select {
	case <-op.Done():
		code := op.ExitCode()
		fmt.Fprintf(os.Stderr, "operator exited (status %d)\n", code)
		return code
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "%v: stopping the operator…\n", sig)
	}
	stopped := make(chan int, 1)
	go func() { stopped <- op.Stop(15 * time.Second) }()
	select {
	case code := <-stopped:
		fmt.Fprintf(os.Stderr, "operator exited (status %d)\n", code)
	case <-sigs:
		fmt.Fprintln(os.Stderr, "second interrupt: killing the operator")
		_ = op.Signal(syscall.SIGKILL)
		<-stopped
	}
	return 0
}

// install installs the operator's CRDs and the stand-in PerconaPGCluster CRD,
// then applies the sample to namespace default. It returns the name of the
// sample's DittoServer ("" when there is no sample).
func install(ctx context.Context, c *localcluster.Cluster, crdDir, sample string) (string, error) {
	a, err := operator.NewApplier(c.RESTConfig())
	if err != nil {
		return "", err
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		return "", err
	}
	n, err := a.InstallCRDs(ctx, crdDir, filepath.Join(root, perconaCRD))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "installed %d CRDs from %s and %s\n", n, crdDir, perconaCRD)
	if _, err := os.Stat(sample); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "warning: sample %s does not exist; applying no sample\n", sample)
		return "", nil
	}
	objs, err := a.ApplyFile(ctx, sample, metav1.NamespaceDefault)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "applied %s\n", sample)
	for _, o := range objs {
		if o.GetKind() == "DittoServer" {
			return o.GetName(), nil
		}
	}
	return "", nil
}

// perconaCRD is the stand-in PerconaPGCluster CRD, relative to the repository root.
const perconaCRD = "hack/crds/perconapgcluster-minimal.yaml"

// localOperatorArgs are the operator's flags on the local control plane. Its
// pods are simulated (kwok): no DittoFS server runs behind them, so the
// server-state controller, which declares stores, users and shares through
// the server's REST API, would only report every server unreachable. It is
// off unless the given flags set it (for example with --server-api-endpoint
// pointing at a dfs run by hand).
func localOperatorArgs(args []string) []string {
	for _, a := range args {
		if a == "--manage-server-state" || strings.HasPrefix(a, "--manage-server-state=") {
			return args
		}
	}
	fmt.Println("(pods are simulated and serve no files: --manage-server-state=false; pass -- --manage-server-state=true --server-api-endpoint=NS/NAME=URL to manage a dfs you run)")
	return append([]string{"--manage-server-state=false"}, args...)
}
