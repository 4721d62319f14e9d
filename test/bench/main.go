// Command bench measures what the operator costs the API server, how fast it
// converges and how much memory it holds, on a local control plane
// (test/localcluster) with the real operator binary. It is run by `make bench`:
//
//	go run ./test/bench --operator-binary bin/dittofs-operator [--n 200]
//
// It prints a table and writes the same figures as JSON to
// _output/bench-<date>.json. docs/benchmarks.md explains how to read them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// config is what the command line sets.
type config struct {
	operatorBinary string
	n              int
	resync         time.Duration
	quiet          time.Duration
	unrelated      int
	unrelatedSize  int
	unrelatedWait  time.Duration
	edits          int
	fastPods       bool
	operatorArgs   []string
	outDir         string
	keepWorkDir    bool
	timeout        time.Duration
	trace          string
	profileDir     string
	profileCPU     time.Duration
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.operatorBinary, "operator-binary", "bin/dittofs-operator", "The operator binary to run (make build).")
	flag.IntVar(&c.n, "n", 200, "Number of DittoServers.")
	flag.DurationVar(&c.resync, "resync-period", 30*time.Second,
		"The operator's --resync-period; the steady-state window is two of them.")
	flag.DurationVar(&c.quiet, "quiet", 30*time.Second, "How long the operator must make no request to count as quiet.")
	flag.IntVar(&c.unrelated, "unrelated", 2000, "Unrelated ConfigMaps, and as many Secrets, created for the memory check.")
	flag.IntVar(&c.unrelatedSize, "unrelated-size", 10*1024, "Bytes of data in each unrelated ConfigMap and Secret.")
	flag.DurationVar(&c.unrelatedWait, "unrelated-wait", 60*time.Second, "Wait after creating the unrelated objects before reading RSS.")
	flag.IntVar(&c.edits, "edits", 10, "Spec edits timed for the latency figure.")
	flag.BoolVar(&c.fastPods, "fast-pods", true,
		"Let kwok run pods without its simulated kubelet delays (1 s + up to 5 s per pod stage), so the figures measure the operator and the control plane.")
	flag.StringVar(&c.outDir, "out", "_output", "Directory of the JSON result.")
	flag.BoolVar(&c.keepWorkDir, "keep-work-dir", false, "Keep the cluster's work directory (logs, audit log) for inspection.")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "Give up after this long.")
	flag.StringVar(&c.trace, "trace-status", "", "Log every status written for this DittoServer (e.g. ds-000).")
	flag.StringVar(&c.profileDir, "profile-dir", "",
		"Run the operator with --profiling and write into this directory a CPU profile of its pass (cpu.pprof, from the first create) and a heap profile once converged (heap.pprof).")
	flag.DurationVar(&c.profileCPU, "profile-cpu", time.Minute, "Length of the CPU profile with --profile-dir.")
	var extra []string
	flag.Func("operator-arg", "An extra operator flag, e.g. --operator-arg=--kube-api-qps=200 (repeatable). The default run uses none.",
		func(s string) error { extra = append(extra, s); return nil })
	flag.Parse()
	// The simulated pods run no server: the benchmark measures the
	// DittoServer lifecycle, not the servers' own state.
	c.operatorArgs = append([]string{"--resync-period=" + c.resync.String(), "--manage-server-state=false"}, extra...)
	if c.profileDir != "" {
		c.operatorArgs = append(c.operatorArgs, "--profiling")
	}
	return c
}

func main() {
	cfg := parseFlags()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	// The first signal cancels the run, which then cleans up; a second one
	// exits at once (the child processes die with us: Pdeathsig).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		logf("interrupted: cleaning up")
		cancel()
		<-sigs
		os.Exit(130)
	}()

	res, err := run(ctx, cfg)
	if res != nil {
		printReport(os.Stdout, res)
		if path, werr := writeJSON(cfg.outDir, res); werr != nil {
			logf("write JSON: %v", werr)
		} else {
			logf("wrote %s", path)
		}
	}
	if err != nil {
		logf("bench failed: %v", err)
		os.Exit(1)
	}
}

// run sets up the cluster and the operator, measures, and always tears both
// down. It returns what it measured so far even on error.
func run(ctx context.Context, cfg config) (*Result, error) {
	bin, err := filepath.Abs(cfg.operatorBinary)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("operator binary: %w (run make build)", err)
	}
	if root, err := localcluster.RepoRoot(); err == nil {
		if err := os.Chdir(root); err != nil {
			return nil, err
		}
	}
	env, err := setUp(ctx, cfg, bin)
	if env != nil {
		defer env.tearDown()
	}
	if err != nil {
		return nil, err
	}
	res := newResult(cfg, env)
	return res, measure(ctx, cfg, env, res)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
