package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/google/uuid"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/backup"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
	"github.com/dittofs/dittofs-operator/pkg/metrics"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

type clients struct {
	config   *rest.Config
	kube     kubernetes.Interface
	ditto    clientset.Interface
	dynamic  dynamic.Interface
	metadata metadata.Interface
	snapshot snapclient.Interface
}

// restConfig follows --kubeconfig, then the in-cluster config, then
// $KUBECONFIG or ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no cluster to talk to (give --kubeconfig, set KUBECONFIG, or run in a pod): %w", err)
	}
	return cfg, nil
}

func newClients(o options) (*clients, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = version.UserAgent()
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	c := clients{config: cfg}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.ditto, err = clientset.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.snapshot, err = snapclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return &c, nil
}

// operator holds the informer factories and the controllers built on them:
// the DittoServer controller, which runs each server, and the server state
// controller, which converges the stores, users and shares inside it.
type operator struct {
	controller  *controller.Controller
	serverState *serverstate.Controller
	// serverStateCRDs holds the server state controller's DittoShare and
	// DittoUser informers back until their CRDs are installed.
	serverStateCRDs *controller.CRDGate
	// backups runs DittoBackups once their CRD is installed; its snapshot
	// informers start once the snapshot CRDs are.
	backups    *backup.Controller
	backupCRDs *controller.CRDGate
	snapCRDs   *controller.CRDGate
	registry   *prometheus.Registry
	start           func(ctx context.Context)
}

// operatorMetrics are the controllers' own metrics.
type operatorMetrics struct {
	controller  *controller.Metrics
	serverState *serverstate.Metrics
	backup      *backup.Metrics
}

// liveHeapMetric adds go_gc_heap_live_bytes to the Go metrics: the heap the
// live objects occupied at the last collection. Unlike the heap in use, it
// does not rise and fall with the garbage of each pass, so it is the figure
// to size the memory limit by (docs/benchmarks.md#sizing).
var liveHeapMetric = collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}

// registerMetrics puts on reg everything /metrics serves: Go and process
// metrics, the workqueue metrics, client-go's REST client and leader
// election metrics, and the controllers' own (docs/monitoring.md). It runs
// before any client is built, so that every request to the API server is
// counted.
func registerMetrics(reg prometheus.Registerer) operatorMetrics {
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(liveHeapMetric)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.RegisterWorkqueueMetrics(reg)
	metrics.NewClient(reg).Install()
	return operatorMetrics{controller: controller.NewMetrics(reg), serverState: serverstate.NewMetrics(reg), backup: backup.NewMetrics(reg)}
}

// newOperator builds the controllers, which record into m.
func newOperator(ctx context.Context, c *clients, o options, reg *prometheus.Registry, m operatorMetrics) (*operator, error) {
	inf, crdWatch, startInformers, err := controller.NewInformers(c.kube, c.ditto, c.metadata, o.namespace, o.resync)
	if err != nil {
		return nil, err
	}
	ctrl, err := controller.New(ctx, c.kube, c.ditto, c.dynamic, inf, crdWatch, controller.Options{
		Namespace: o.namespace, ResyncPeriod: o.resync, Metrics: m.controller,
		StatusProgressInterval: o.statusInterval,
	})
	if err != nil {
		return nil, err
	}
	op := &operator{controller: ctrl, registry: reg, start: func(ctx context.Context) { startInformers(ctx.Done()) }}
	if op.backups, op.start, err = op.newBackups(ctx, c, o, inf, op.start, m.backup); err != nil {
		return nil, err
	}
	if !o.manageServerState {
		return op, nil
	}
	if op.serverState, op.serverStateCRDs, op.start, err = newServerState(ctx, c, o, inf, op.start, m.serverState); err != nil {
		return nil, err
	}
	return op, nil
}

// serverStateCRDs are the CRDs the server state controller reads beside
// the DittoServers.
var serverStateCRDs = []string{
	"dittoshares." + dittov1alpha1.SchemeGroupVersion.Group,
	"dittousers." + dittov1alpha1.SchemeGroupVersion.Group,
}

// newServerState builds the server state controller on the shared
// DittoServer, StatefulSet and Secret informers and its own DittoShare and
// DittoUser informers, and returns the gate on their CRDs and the start
// function of all informers: the shared ones start at once, the DittoShare
// and DittoUser ones when their CRDs are installed, so that a missing CRD
// holds back this controller only.
func newServerState(ctx context.Context, c *clients, o options, inf controller.Informers,
	startShared func(context.Context), metrics *serverstate.Metrics) (*serverstate.Controller, *controller.CRDGate, func(context.Context), error) {
	access, err := serverstate.ParseAccess(o.serverAccess)
	if err != nil {
		return nil, nil, nil, err
	}
	gate, err := controller.NewCRDGate(c.metadata, o.resync, serverStateCRDs...)
	if err != nil {
		return nil, nil, nil, err
	}
	factory := dittoinformers.NewSharedInformerFactoryWithOptions(c.ditto, o.resync, dittoinformers.WithNamespace(o.namespace),
		dittoinformers.WithTransform(dropManagedFields))
	endpoints := serverstate.NewEndpoints(access, serverstate.NewPortForwardTunnel(c.config), o.serverEndpoints)
	stateInf := serverstate.Informers{
		DittoServers: inf.DittoServers,
		DittoShares:  factory.Dittofs().V1alpha1().DittoShares(),
		DittoUsers:   factory.Dittofs().V1alpha1().DittoUsers(),
		StatefulSets: inf.StatefulSets,
		Secrets:      inf.Secrets,
	}
	// Namespace labels decide spec.tenants.selector; an operator that
	// watches one namespace has no other namespace to admit.
	var nsFactory metadatainformer.SharedInformerFactory
	if o.namespace == "" {
		nsFactory = metadatainformer.NewSharedInformerFactoryWithOptions(c.metadata, o.resync,
			metadatainformer.WithTransform(dropManagedFields))
		stateInf.Namespaces = nsFactory.ForResource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	}
	ctrl, err := serverstate.New(ctx, c.kube, c.ditto, stateInf, serverstate.Options{Endpoints: endpoints, NewAPI: newServerAPI, Metrics: metrics})
	if err != nil {
		return nil, nil, nil, err
	}
	start := func(ctx context.Context) {
		startShared(ctx)
		if nsFactory != nil {
			nsFactory.Start(ctx.Done())
		}
		gate.Start(ctx.Done())
		go func() {
			if gate.Wait(ctx, serverstate.ControllerName) {
				factory.Start(ctx.Done())
			}
		}()
	}
	return ctrl, gate, start, nil
}

// dropManagedFields keeps managed fields out of the cache: nothing reads them.
func dropManagedFields(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (op *operator) startInformers(ctx context.Context) {
	op.start(ctx)
}

// readiness is what /readyz answers: ready once the DittoServer controller
// has synced its caches, whatever the server state controller waits for (a
// missing DittoShare or DittoUser CRD holds back that controller only), with
// one line per controller saying what it waits for.
func (op *operator) readiness() (bool, string) {
	ready := op.controller.HasSynced()
	state := "ready"
	if !ready {
		state = "caches syncing"
	}
	lines := []string{controller.ControllerName + ": " + state}
	if op.backups != nil {
		missing, known := op.backupCRDs.Missing()
		line := backup.ControllerName + ": " + gatedState(missing, known, op.backups.HasSynced())
		if snap, snapKnown := op.snapCRDs.Missing(); snapKnown && len(snap) > 0 {
			line += fmt.Sprintf("; backups wait for the snapshot CRDs %s", strings.Join(snap, ", "))
		}
		lines = append(lines, line)
	}
	if op.serverState != nil {
		missing, known := op.serverStateCRDs.Missing()
		lines = append(lines, serverstate.ControllerName+": "+gatedState(missing, known, op.serverState.HasSynced()))
	}
	return ready, strings.Join(lines, "\n") + "\n"
}

// gatedState says what a controller behind a CRDGate waits for.
func gatedState(missingCRDs []string, known, synced bool) string {
	switch {
	case !known:
		return "looking for its CRDs"
	case len(missingCRDs) > 0:
		return fmt.Sprintf("waiting for CRDs %s (install them: %s)", strings.Join(missingCRDs, ", "), controller.InstallCRDsCommand)
	case !synced:
		return "caches syncing"
	}
	return "ready"
}

// run runs the controllers until ctx is done and all have drained.
func (op *operator) run(ctx context.Context, o options) error {
	var wg sync.WaitGroup
	var stateErr, backupErr error
	if op.serverState != nil {
		wg.Go(func() { stateErr = op.serverState.Run(ctx, o.workers, o.drainTimeout) })
	}
	if op.backups != nil {
		wg.Go(func() {
			// The backup controller starts once its CRD is installed.
			if op.backupCRDs.Wait(ctx, backup.ControllerName) {
				backupErr = op.backups.Run(ctx, o.workers, o.drainTimeout)
			}
		})
	}
	err := op.controller.Run(ctx, o.workers, o.drainTimeout)
	wg.Wait()
	return errors.Join(err, stateErr, backupErr)
}

func newLeaseLock(c *clients, o options) (*resourcelock.LeaseLock, error) {
	ns := o.leaderElectionNamespace
	if ns == "" {
		ns = podNamespace()
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: o.leaderElectionID},
		Client:     c.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: host + "_" + uuid.NewString()},
	}, nil
}

// podNamespace is the namespace the operator runs in, or "default" outside a pod.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(data)); ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}
