// Command dittofs-operator runs the DittoFS operator: it reconciles
// DittoServer resources into running DittoFS file servers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

type options struct {
	kubeconfig              string
	namespace               string
	workers                 int
	leaderElect             bool
	leaderElectionNamespace string
	leaderElectionID        string
	metricsAddr             string
	healthAddr              string
	resync                  time.Duration
	qps                     float64
	burst                   int
	drainTimeout            time.Duration
	manageServerState       bool
	serverAccess            string
	serverEndpoints         serverstate.EndpointOverrides
	profiling               bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config.")
	flag.StringVar(&o.namespace, "namespace", "", "Watch DittoServers in this namespace only; empty watches all namespaces.")
	flag.IntVar(&o.workers, "workers", 16, "Number of DittoServers synced in parallel. A first pass makes about ten requests one after "+
		"the other, so a large fleet converges as fast as the API server answers them times this number (docs/benchmarks.md).")
	flag.BoolVar(&o.leaderElect, "leader-elect", true, "Elect a leader on a Lease so that only one replica reconciles.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease. Default: the pod's namespace ($POD_NAMESPACE), else default.")
	flag.StringVar(&o.leaderElectionID, "leader-election-id", "dittofs-operator", "Name of the leader election Lease.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	flag.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz; 0 disables it.")
	flag.DurationVar(&o.resync, "resync-period", 10*time.Minute, "How often informers replay their cache; a converged DittoServer costs no request on resync.")
	flag.Float64Var(&o.qps, "kube-api-qps", -1, "Client-side limit of queries per second to the API server; negative (the default) sets none: "+
		"at most --workers syncs run at once, each making one request at a time, and the API server's Priority and Fairness "+
		"protects it, so a client-side limit only slows convergence (docs/benchmarks.md).")
	flag.IntVar(&o.burst, "kube-api-burst", 100, "Burst of queries above --kube-api-qps, when that is positive.")
	flag.DurationVar(&o.drainTimeout, "shutdown-drain-timeout", 20*time.Second, "How long in-flight syncs may go on after a shutdown signal: "+
		"no new sync starts, the API requests of those in flight still succeed, and when this time runs out they are cancelled.")
	flag.BoolVar(&o.manageServerState, "manage-server-state", true, "Converge the stores, users and shares inside each server through its REST API "+
		"(DittoShares, DittoUsers, StoresReady and SharesReady). false leaves the servers' own state alone, e.g. on a cluster whose pods run no server.")
	flag.StringVar(&o.serverAccess, "server-access", string(serverstate.AccessAuto), "How the operator reaches each server's REST API: "+
		"service (http://<name>-api.<namespace>.svc), proxy (a port-forward to the server's pod through the API server, for an operator outside the cluster), "+
		"or auto (service in a pod, else proxy).")
	o.serverEndpoints = serverstate.EndpointOverrides{}
	flag.Var(o.serverEndpoints, "server-api-endpoint", "Reach one server's REST API at a URL of your choice, <namespace>/<name>=<url>; repeatable. For tests and debugging.")
	flag.BoolVar(&o.profiling, "profiling", false, "Serve Go's profiles (/debug/pprof/: heap, CPU, goroutines) on the metrics address. "+
		"Off by default: a profile shows the operator's internals to whoever reaches that address.")
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	klog.InitFlags(nil)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.UserAgent())
		os.Exit(0)
	}
	return o
}

// profilingMemRate is the heap profile's sampling interval with --profiling:
// one sample per 16 KiB allocated instead of 512 KiB, so that a heap of a
// few tens of MiB shows which objects hold it.
const profilingMemRate = 16 << 10

func main() {
	o := parseFlags()
	if o.profiling {
		runtime.MemProfileRate = profilingMemRate
	}
	ctx := signalContext()
	logger := klog.FromContext(ctx)
	if err := run(ctx, o); err != nil {
		logger.Error(err, "Operator failed")
		klog.Flush()
		os.Exit(1)
	}
	logger.Info("Operator stopped")
	klog.Flush()
}

// signalContext is cancelled by the first SIGTERM or SIGINT; a second one
// exits at once.
func signalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		klog.Background().Info("Shutting down", "signal", sig.String())
		cancel()
		<-ch
		klog.Background().Info("Second signal: exiting now")
		klog.Flush()
		os.Exit(1)
	}()
	return klog.NewContext(ctx, klog.Background())
}

func run(ctx context.Context, o options) error {
	logger := klog.FromContext(ctx)
	logger.Info("Starting", "version", version.Version, "namespace", o.namespace, "workers", o.workers, "leaderElect", o.leaderElect)
	limit, from, err := setMemoryLimit()
	if err != nil {
		return fmt.Errorf("memory limit: %w", err)
	}
	if limit > 0 {
		logger.Info("Go memory limit set", "bytes", limit, "from", from)
	}

	reg := prometheus.NewRegistry()
	m := registerMetrics(reg)
	clients, err := newClients(o)
	if err != nil {
		return err
	}
	op, err := newOperator(ctx, clients, o, reg, m)
	if err != nil {
		return err
	}

	servers, err := startServers(ctx, o, op.registry, op.readiness)
	if err != nil {
		return err
	}
	defer servers.shutdown()

	// Each controller starts on its own caches: the DittoServer controller's
	// make the replica ready; the server state controller waits in its Run
	// for its CRDs and caches.
	op.startInformers(ctx)
	if !op.controller.WaitForCacheSync(ctx) {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("caches did not sync")
	}
	logger.Info("Caches synced")

	if !o.leaderElect {
		return op.run(ctx, o)
	}
	return runWithLeaderElection(ctx, clients, o, func(leaderCtx context.Context) error {
		return op.run(leaderCtx, o)
	})
}

// runWithLeaderElection runs work while this replica holds the Lease. On
// shutdown the work drains first, then the Lease is released so that another
// replica takes over at once; losing the Lease otherwise is fatal.
func runWithLeaderElection(ctx context.Context, clients *clients, o options, work func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	lock, err := newLeaseLock(clients, o)
	if err != nil {
		return err
	}
	electionCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()
	var leading, finished atomic.Bool
	var workErr error
	go func() {
		<-ctx.Done()
		if !leading.Load() {
			stopElection()
		}
	}()
	leaderelection.RunOrDie(electionCtx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		ReleaseOnCancel: true,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		Name:            o.leaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				leading.Store(true)
				logger.Info("Became leader", "identity", lock.Identity())
				workCtx, cancel := context.WithCancel(leaderCtx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				workErr = work(workCtx)
				finished.Store(true)
				stopElection()
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil && !finished.Load() {
					logger.Error(nil, "Leadership lost; exiting")
					klog.Flush()
					os.Exit(1)
				}
				logger.Info("Released leadership")
			},
		},
	})
	return workErr
}
