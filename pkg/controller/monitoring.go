package controller

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The optional objects around a server: its NetworkPolicy and its Prometheus
// Operator ServiceMonitor. Both go through the one write path (apply.go);
// the ServiceMonitor only while its CRD is installed.

// newServiceMonitorWatch watches the operator's own ServiceMonitors while
// their CRD is installed; others' ServiceMonitors are never cached.
func newServiceMonitorWatch(dyn dynamic.Interface, crd cache.SharedIndexInformer, namespace string, resync time.Duration,
	onCRDChange func(), onObject func(interface{})) *crdwatch.Watch {
	managed := func(o *metav1.ListOptions) {
		o.LabelSelector = resources.ManagedByLabel + "=" + resources.ManagedByValue
	}
	return crdwatch.New(dyn, crd, resources.ServiceMonitorCRDName, resources.ServiceMonitorGVR, managed,
		namespace, resync, onCRDChange, onObject)
}

// ensureMonitoring makes, updates or deletes the NetworkPolicy and the
// ServiceMonitor as the spec asks.
func (c *Controller) ensureMonitoring(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	w := c.networkPolicyWriter()
	if resources.NetworkPolicyEnabled(ds) {
		if _, _, err := ensure(ctx, w, ds, resources.NetworkPolicy(ds)); err != nil {
			return err
		}
	} else if _, err := deleteOwned(ctx, w, ds, ds.Namespace, resources.NetworkPolicyName(ds),
		c.kube.NetworkingV1().NetworkPolicies(ds.Namespace).Delete); err != nil {
		return err
	}
	return c.ensureServiceMonitor(ctx, ds)
}

// ensureServiceMonitor writes the ServiceMonitor while the CRD is installed.
// Without the CRD there is nothing to write or delete; a spec that asks for
// one is told so once per generation (ServiceMonitorUnavailable), and the
// CRD's arrival requeues it.
func (c *Controller) ensureServiceMonitor(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	lister, state := c.serviceMonitors.Lister()
	want := resources.ServiceMonitorEnabled(ds)
	switch state {
	case crdwatch.NotInstalled:
		if want && c.smNotices.first(ds) {
			c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonServiceMonitorUnavailable,
				"spec.metrics.serviceMonitor.enabled is true but the ServiceMonitor CRD (%s) is not installed: "+
					"install the Prometheus Operator's CRDs, and the ServiceMonitor follows", resources.ServiceMonitorCRDName)
		}
		return nil
	case crdwatch.Syncing:
		return kit.Waitf("the ServiceMonitor cache is syncing")
	}
	if want {
		c.smNotices.installed(ds)
	} else {
		c.smNotices.forget(cache.MetaObjectToName(ds))
	}
	w := c.serviceMonitorWriter(lister)
	if want {
		_, _, err := ensure(ctx, w, ds, resources.ServiceMonitor(ds))
		return err
	}
	client := c.dyn.Resource(resources.ServiceMonitorGVR).Namespace(ds.Namespace)
	_, err := deleteOwned(ctx, w, ds, ds.Namespace, resources.ServiceMonitorName(ds),
		func(ctx context.Context, name string, opts metav1.DeleteOptions) error {
			return client.Delete(ctx, name, opts)
		})
	return err
}

// enqueueServiceMonitorUsers requeues the DittoServers that ask for a
// ServiceMonitor, when its CRD appears or goes away.
func (c *Controller) enqueueServiceMonitorUsers() {
	c.enqueueServersWhere(resources.ServiceMonitorEnabled)
}

func (c *Controller) networkPolicyWriter() writer[*networkingv1.NetworkPolicy] {
	w := typedWriter(c, "NetworkPolicy",
		func(ns, name string) (*networkingv1.NetworkPolicy, error) {
			return c.npLister.NetworkPolicies(ns).Get(name)
		},
		func(ns string) typedClient[*networkingv1.NetworkPolicy] {
			return c.kube.NetworkingV1().NetworkPolicies(ns)
		})
	w.recorder = nil
	w.inSync = func(desired, existing *networkingv1.NetworkPolicy) bool {
		return labelsKept(desired, existing) && equality.Semantic.DeepDerivative(desired.Spec, existing.Spec)
	}
	return w
}

// serviceMonitorWriter writes ServiceMonitors through the dynamic client;
// lister is the synced ServiceMonitor cache.
func (c *Controller) serviceMonitorWriter(lister cache.GenericLister) writer[*unstructured.Unstructured] {
	w := dynamicWriter(c.dyn, resources.ServiceMonitorGVR, resources.ServiceMonitorKind, lister, c.ownWrites)
	w.inSync = func(desired, existing *unstructured.Unstructured) bool {
		// Fields the CRD defaults are not compared (DeepDerivative).
		return labelsKept(desired, existing) && equality.Semantic.DeepDerivative(desired.Object["spec"], existing.Object["spec"])
	}
	return w
}

// serviceMonitorNotices remembers, per DittoServer, the generation for
// which ServiceMonitorUnavailable was last said, so that it is said once per
// spec change and not on every pass; 0 records that this operator saw the
// CRD installed for it, so that the CRD going away is said too. A restarted
// operator remembers nothing, and derives the rest from the status: a
// spec the operator has already acted on (status.observedGeneration) was
// told about then, so a restart says nothing again. Bounded: one entry per
// DittoServer asking for a ServiceMonitor, dropped when it is gone.
type serviceMonitorNotices struct{ said *kit.PerServer[int64] }

func newServiceMonitorNotices() *serviceMonitorNotices {
	return &serviceMonitorNotices{said: kit.NewPerServer[int64]()}
}

// first reports whether ds's current generation has not been told yet, and
// records that it now is.
func (n *serviceMonitorNotices) first(ds *dittov1alpha1.DittoServer) bool {
	first := false
	n.said.Update(cache.MetaObjectToName(ds), func(g int64, seen bool) (int64, bool) {
		if seen {
			first = g != ds.Generation
		} else {
			first = ds.Status.ObservedGeneration != ds.Generation
		}
		return ds.Generation, true
	})
	return first
}

// installed records that the CRD is installed for ds's ServiceMonitor.
func (n *serviceMonitorNotices) installed(ds *dittov1alpha1.DittoServer) {
	n.said.Update(cache.MetaObjectToName(ds), func(int64, bool) (int64, bool) { return 0, true })
}

func (n *serviceMonitorNotices) forget(key cache.ObjectName) { n.said.Forget(key) }
