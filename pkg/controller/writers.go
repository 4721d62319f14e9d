package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The write path of each kind of child, built on the generic writer.

// typedClient is what a typed client-go client of one kind in one namespace
// offers the writer.
type typedClient[T object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// typedWriter is the writer of a kind with a typed client and a lister:
// cached reads from the lister, live reads and writes through the client.
func typedWriter[T object](c *Controller, kind string, cached func(ns, name string) (T, error), client func(ns string) typedClient[T]) writer[T] {
	return writer[T]{
		kind:     kind,
		own:      c.ownWrites,
		recorder: c.recorder,
		cached:   cached,
		live: func(ctx context.Context, ns, name string) (T, error) {
			return client(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o T) (T, error) { return client(o.GetNamespace()).Create(ctx, o, createOpts) },
		update: func(ctx context.Context, o T) (T, error) { return client(o.GetNamespace()).Update(ctx, o, updateOpts) },
	}
}

func (c *Controller) configMapWriter() writer[*corev1.ConfigMap] {
	w := typedWriter(c, "ConfigMap",
		func(ns, name string) (*corev1.ConfigMap, error) { return c.cmLister.ConfigMaps(ns).Get(name) },
		func(ns string) typedClient[*corev1.ConfigMap] { return c.kube.CoreV1().ConfigMaps(ns) })
	w.adopts = controlledOrAdoptable[*corev1.ConfigMap]
	w.inSync = func(desired, existing *corev1.ConfigMap) bool {
		// The cache holds digests of the values (caches.DigestConfigMap); a
		// ConfigMap read live is digested alike.
		return labelsKept(desired, existing) && equality.Semantic.DeepEqual(caches.DataDigests(desired.Data), caches.DataDigests(existing.Data))
	}
	return w
}

func (c *Controller) serviceWriter() writer[*corev1.Service] {
	w := typedWriter(c, "Service",
		func(ns, name string) (*corev1.Service, error) { return c.svcLister.Services(ns).Get(name) },
		func(ns string) typedClient[*corev1.Service] { return c.kube.CoreV1().Services(ns) })
	w.adopts = controlledOrAdoptable[*corev1.Service]
	w.preserve = preserveServiceAllocations
	w.inSync = func(desired, existing *corev1.Service) bool {
		// Compared with what the API server allocated (node ports,
		// cluster IPs) filled in, as an update would keep it.
		d := desired.DeepCopy()
		preserveServiceAllocations(d, existing)
		return labelsKept(desired, existing) && equality.Semantic.DeepDerivative(d.Spec, existing.Spec)
	}
	return w
}

// preserveServiceAllocations keeps what the API server allocated where the
// builder leaves it to the API server: the cluster IPs and families, which no
// update may change, and node ports (else they would move).
func preserveServiceAllocations(desired, existing *corev1.Service) {
	if existing.Spec.ClusterIP != "" && (desired.Spec.ClusterIP == "" || desired.Spec.ClusterIP == existing.Spec.ClusterIP) {
		desired.Spec.ClusterIP = existing.Spec.ClusterIP
		desired.Spec.ClusterIPs = existing.Spec.ClusterIPs
		if desired.Spec.IPFamilies == nil {
			desired.Spec.IPFamilies = existing.Spec.IPFamilies
		}
		if desired.Spec.IPFamilyPolicy == nil {
			desired.Spec.IPFamilyPolicy = existing.Spec.IPFamilyPolicy
		}
	}
	if desired.Spec.Type == existing.Spec.Type && desired.Spec.HealthCheckNodePort == 0 {
		desired.Spec.HealthCheckNodePort = existing.Spec.HealthCheckNodePort
	}
	if desired.Spec.Type == corev1.ServiceTypeClusterIP {
		return
	}
	nodePorts := map[string]int32{}
	for _, p := range existing.Spec.Ports {
		nodePorts[p.Name] = p.NodePort
	}
	for i := range desired.Spec.Ports {
		if desired.Spec.Ports[i].NodePort == 0 {
			desired.Spec.Ports[i].NodePort = nodePorts[desired.Spec.Ports[i].Name]
		}
	}
}

func (c *Controller) statefulSetWriter() writer[*appsv1.StatefulSet] {
	w := typedWriter(c, "StatefulSet",
		func(ns, name string) (*appsv1.StatefulSet, error) { return c.stsLister.StatefulSets(ns).Get(name) },
		func(ns string) typedClient[*appsv1.StatefulSet] { return c.kube.AppsV1().StatefulSets(ns) })
	w.adopts = controlledOrAdoptable[*appsv1.StatefulSet]
	w.inSync = func(desired, existing *appsv1.StatefulSet) bool {
		return labelsKept(desired, existing) && equality.Semantic.DeepDerivative(desired.Spec, existing.Spec)
	}
	return w
}

// labelsKept reports whether existing still has every label desired sets:
// the label-filtered informers lose sight of a child without them.
func labelsKept(desired, existing metav1.Object) bool {
	have := existing.GetLabels()
	for k, v := range desired.GetLabels() {
		if have[k] != v {
			return false
		}
	}
	return true
}

var (
	createOpts = metav1.CreateOptions{FieldManager: FieldManager}
	updateOpts = metav1.UpdateOptions{FieldManager: FieldManager}
)

// secretWriter creates the generated Secrets (createOnce), and adopts those
// kept for this name or left without owner under it (adopt.go). The cache holds
// Secret metadata only, so a cached Secret carries no data.
func (c *Controller) secretWriter() writer[*corev1.Secret] {
	w := typedWriter(c, "Secret", func(ns, name string) (*corev1.Secret, error) {
		obj, err := c.secretMeta.ByNamespace(ns).Get(name)
		if err != nil {
			return nil, err
		}
		m, ok := obj.(metav1.Object)
		if !ok {
			return nil, fmt.Errorf("unexpected object %T in the Secret cache", obj)
		}
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), Labels: m.GetLabels(), OwnerReferences: m.GetOwnerReferences()}}, nil
	}, func(ns string) typedClient[*corev1.Secret] { return c.kube.CoreV1().Secrets(ns) })
	w.recorder, w.update = nil, nil
	w.adopts = func(s *corev1.Secret, ds *dittov1alpha1.DittoServer) bool {
		return ownedOrKept(s, ds) || adoptable(s, ds)
	}
	return w
}

// perconaWriter creates the PerconaPGCluster (createOnce): later edits of
// the cluster are the user's. It adopts a cluster kept for this name. lister is the synced Percona cache.
func (c *Controller) perconaWriter(lister cache.GenericLister) writer[*unstructured.Unstructured] {
	w := dynamicWriter(c.dyn, resources.PerconaGVR, resources.PerconaKind, lister, c.ownWrites)
	w.adopts = ownedOrKept[*unstructured.Unstructured]
	w.update = nil
	return w
}

// dynamicWriter writes objects of a CRD that may be absent (Percona, the
// Prometheus Operator's) through the dynamic client; lister is their synced
// cache.
func dynamicWriter(dyn dynamic.Interface, gvr schema.GroupVersionResource, kind string, lister cache.GenericLister, own *kit.OwnWrites) writer[*unstructured.Unstructured] {
	client := func(ns string) dynamic.ResourceInterface { return dyn.Resource(gvr).Namespace(ns) }
	return writer[*unstructured.Unstructured]{
		kind: kind,
		own:  own,
		cached: func(ns, name string) (*unstructured.Unstructured, error) {
			obj, err := lister.ByNamespace(ns).Get(name)
			if err != nil {
				return nil, err
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return nil, fmt.Errorf("unexpected object %T in the %s cache", obj, kind)
			}
			return u, nil
		},
		live: func(ctx context.Context, ns, name string) (*unstructured.Unstructured, error) {
			return client(ns).Get(ctx, name, metav1.GetOptions{})
		},
		create: func(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
			return client(o.GetNamespace()).Create(ctx, o, createOpts)
		},
		update: func(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
			return client(o.GetNamespace()).Update(ctx, o, updateOpts)
		},
	}
}
