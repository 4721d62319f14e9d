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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/localcluster"
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
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [-- operator args...]\n", os.Args[0])
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
	ports, err := freePorts(2)
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

	args := append([]string{
		"--kubeconfig", cluster.Kubeconfig,
		"--leader-elect=false",
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
	}, flag.Args()...)
	op := exec.Command(opBin, args...)
	op.Stdout, op.Stderr, op.Stdin = os.Stdout, os.Stderr, nil
	op.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig)
	// Own process group: a terminal Ctrl-C reaches only this program, which
	// forwards SIGTERM so the operator stops before the cluster does.
	op.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := op.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start operator: %v\n", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- op.Wait() }()

	select {
	case err := <-done:
		code := exitCode(err)
		fmt.Fprintf(os.Stderr, "operator exited (%v)\n", describe(err))
		return code
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "%v: stopping the operator…\n", sig)
	}
	_ = op.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		fmt.Fprintf(os.Stderr, "operator exited (%v)\n", describe(err))
	case <-sigs:
		fmt.Fprintln(os.Stderr, "second interrupt: killing the operator")
		_ = op.Process.Kill()
		<-done
	case <-time.After(15 * time.Second):
		fmt.Fprintln(os.Stderr, "operator still running after 15s: killing it")
		_ = op.Process.Kill()
		<-done
	}
	return 0
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

func describe(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := localcluster.FreePort()
		if err != nil {
			return nil, err
		}
		if len(ports) == 0 || ports[0] != p {
			ports = append(ports, p)
		}
	}
	return ports, nil
}
