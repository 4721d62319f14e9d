package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	"github.com/dittofs/dittofs-operator/pkg/metrics"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

type clients struct {
	kube     kubernetes.Interface
	ditto    clientset.Interface
	dynamic  dynamic.Interface
	metadata metadata.Interface
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
	var c clients
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
	return &c, nil
}

// operator holds the informer factories and the controller built on them.
type operator struct {
	controller *controller.Controller
	registry   *prometheus.Registry
	start      func(stop <-chan struct{})
}

func newOperator(ctx context.Context, c *clients, o options) (*operator, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.RegisterWorkqueueMetrics(reg)

	inf, crdWatch, startInformers, err := controller.NewInformers(c.kube, c.ditto, c.metadata, o.namespace, o.resync)
	if err != nil {
		return nil, err
	}
	ctrl, err := controller.New(ctx, c.kube, c.ditto, c.dynamic, inf, crdWatch, controller.Options{
		Namespace: o.namespace, ResyncPeriod: o.resync, Metrics: controller.NewMetrics(reg),
		StatusProgressInterval: o.statusInterval,
	})
	if err != nil {
		return nil, err
	}
	return &operator{controller: ctrl, registry: reg, start: startInformers}, nil
}

func (op *operator) startInformers(ctx context.Context) {
	op.start(ctx.Done())
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
