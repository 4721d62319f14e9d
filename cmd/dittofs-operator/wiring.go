package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
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
	starters   []func(stop <-chan struct{})
}

func newOperator(ctx context.Context, c *clients, o options) (*operator, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics.RegisterWorkqueueMetrics(reg)

	dittoFactory := dittoinformers.NewSharedInformerFactoryWithOptions(c.ditto, o.resync, dittoinformers.WithNamespace(o.namespace))
	// Children are cached only when they carry the operator's label, so
	// that unrelated objects in the cluster cost no memory.
	childFactory := kubeinformers.NewSharedInformerFactoryWithOptions(c.kube, o.resync,
		kubeinformers.WithNamespace(o.namespace),
		kubeinformers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.LabelSelector = resources.ManagedByLabel + "=" + resources.ManagedByValue
		}))
	clusterFactory := kubeinformers.NewSharedInformerFactory(c.kube, o.resync)
	// Secrets are watched as metadata only: a change to a referenced Secret
	// rolls the pods, and no Secret data is ever cached.
	metaFactory := metadatainformer.NewFilteredSharedInformerFactory(c.metadata, o.resync, o.namespace, nil)
	crdFactory := metadatainformer.NewFilteredSharedInformerFactory(c.metadata, o.resync, metav1.NamespaceAll, controller.CRDListOptions)

	secrets := metaFactory.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	if err := secrets.Informer().SetTransform(stripMetadata); err != nil {
		return nil, err
	}
	inf := controller.Informers{
		DittoServers:   dittoFactory.Dittofs().V1alpha1().DittoServers(),
		StatefulSets:   childFactory.Apps().V1().StatefulSets(),
		Services:       childFactory.Core().V1().Services(),
		ConfigMaps:     childFactory.Core().V1().ConfigMaps(),
		Secrets:        secrets,
		StorageClasses: clusterFactory.Storage().V1().StorageClasses(),
	}
	crdWatch := crdFactory.ForResource(controller.CRDGVR).Informer()
	ctrl, err := controller.New(ctx, c.kube, c.ditto, c.dynamic, inf, crdWatch, controller.Options{
		Namespace: o.namespace, ResyncPeriod: o.resync, Metrics: controller.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	return &operator{controller: ctrl, registry: reg, starters: []func(<-chan struct{}){
		dittoFactory.Start, childFactory.Start, clusterFactory.Start, metaFactory.Start, crdFactory.Start,
	}}, nil
}

func (op *operator) startInformers(ctx context.Context) {
	for _, start := range op.starters {
		start(ctx.Done())
	}
}

// stripMetadata drops managed fields and annotations from cached Secret
// metadata: the operator needs names, owners and resourceVersions only.
func stripMetadata(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	return obj, nil
}

var _ cache.TransformFunc = stripMetadata

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
