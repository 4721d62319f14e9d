// Package caches builds the informer caches the operator reads, each shaped
// to what the operator reads of its kind: children filtered by the
// managed-by label, Secrets as metadata only, pods and claims trimmed,
// ConfigMap values replaced by their digests, no managed fields anywhere.
// The transforms are pure functions of one object.
package caches

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeinformers "k8s.io/client-go/informers"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/informers/internalinterfaces"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
	dittov1alpha1informers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions/dittofs/v1alpha1"
)

// Informers are the shared informers the DittoServer controller reads from.
// The child informers are filtered by the operator's managed-by label;
// Secrets are watched as metadata only, so no Secret data is cached.
type Informers struct {
	DittoServers   dittov1alpha1informers.DittoServerInformer
	StatefulSets   appsinformers.StatefulSetInformer
	Services       coreinformers.ServiceInformer
	ConfigMaps     coreinformers.ConfigMapInformer
	Secrets        kubeinformers.GenericInformer
	StorageClasses storageinformers.StorageClassInformer
	// Pods are the server pods (managed-by label), trimmed by TrimPod.
	Pods coreinformers.PodInformer
	// PersistentVolumeClaims: the server's volume claims, for resizing.
	PersistentVolumeClaims coreinformers.PersistentVolumeClaimInformer
	// NetworkPolicies, label-filtered like the other children.
	NetworkPolicies networkinginformers.NetworkPolicyInformer
	// PerconaCRD and ServiceMonitorCRD watch the metadata of one CRD each
	// (CRDInformer); nil never watches objects of that kind.
	PerconaCRD        cache.SharedIndexInformer
	ServiceMonitorCRD cache.SharedIndexInformer
}

// CRDGVR is the resource of CustomResourceDefinitions.
var CRDGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDInformer is an informer over the metadata of the CRD named name
// (plural.group) alone, and the factory that starts it.
func CRDInformer(meta metadata.Interface, resync time.Duration, name string) (cache.SharedIndexInformer, metadatainformer.SharedInformerFactory) {
	factory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name })
	return factory.ForResource(CRDGVR).Informer(), factory
}

// New builds the shared informers the controller reads, for one
// namespace or all (""), and returns a function that starts them.
//
//   - DittoServers: the generated informer.
//   - StatefulSets, Services, ConfigMaps, PersistentVolumeClaims,
//     NetworkPolicies: only objects carrying the
//     operator's managed-by label, so unrelated objects cost no memory; read
//     by name, so without a namespace index (NetworkPolicies aside).
//   - Secrets: metadata only, without managed fields or annotations; a change
//     to a referenced Secret rolls the pods, and no Secret data is cached.
//   - StorageClasses (cluster-scoped), and the PerconaPGCluster and
//     ServiceMonitor CRDs, each alone.
//   - Pods: the server pods (managed-by label), trimmed to what the operator
//     reads of them (TrimPod); volume claims likewise (TrimClaim);
//     ConfigMaps with digests in place of their values (DigestConfigMap).
//
// No cached object keeps its managed fields (see DropManagedFields).
func New(kube kubernetes.Interface, ditto clientset.Interface, meta metadata.Interface,
	namespace string, resync time.Duration) (Informers, func(stop <-chan struct{}), error) {
	dittoFactory := dittoinformers.NewSharedInformerFactoryWithOptions(ditto, resync, dittoinformers.WithNamespace(namespace),
		dittoinformers.WithTransform(DropManagedFields))
	managed := func(lo *metav1.ListOptions) {
		lo.LabelSelector = resources.ManagedByLabel + "=" + resources.ManagedByValue
	}
	childFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithNamespace(namespace), kubeinformers.WithTweakListOptions(managed),
		kubeinformers.WithTransform(DropManagedFields))
	clusterFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync, kubeinformers.WithTransform(DropManagedFields))
	metaFactory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, namespace, nil)
	perconaCRD, perconaCRDFactory := CRDInformer(meta, resync, resources.PerconaCRDName)
	smCRD, smCRDFactory := CRDInformer(meta, resync, resources.ServiceMonitorCRDName)

	// The child caches are read by name only (pods also by their
	// controller, podControllerIndex): registered first, without the
	// namespace index the factory would add, which costs an entry per object.
	for obj, newInformer := range map[runtime.Object]newFilteredInformer{
		&corev1.Pod{}:                   coreinformers.NewFilteredPodInformer,
		&corev1.ConfigMap{}:             coreinformers.NewFilteredConfigMapInformer,
		&corev1.PersistentVolumeClaim{}: coreinformers.NewFilteredPersistentVolumeClaimInformer,
		&corev1.Service{}:               coreinformers.NewFilteredServiceInformer,
		&appsv1.StatefulSet{}:           appsinformers.NewFilteredStatefulSetInformer,
	} {
		childFactory.InformerFor(obj, func(kube kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			return newInformer(kube, namespace, resync, cache.Indexers{}, managed)
		})
	}
	secrets := metaFactory.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	pods := childFactory.Core().V1().Pods()
	configMaps := childFactory.Core().V1().ConfigMaps()
	claims := childFactory.Core().V1().PersistentVolumeClaims()
	statefulSets := childFactory.Apps().V1().StatefulSets()
	services := childFactory.Core().V1().Services()
	dittoServers := dittoFactory.Dittofs().V1alpha1().DittoServers()
	for _, t := range []struct {
		informer  cache.SharedIndexInformer
		transform cache.TransformFunc
	}{
		{dittoServers.Informer(), DropManagedFields},
		{secrets.Informer(), StripMetadata},
		{pods.Informer(), TrimPod},
		{configMaps.Informer(), DigestConfigMap},
		{claims.Informer(), TrimClaim},
		{statefulSets.Informer(), DropManagedFields},
		{services.Informer(), DropManagedFields},
	} {
		if err := t.informer.SetTransform(t.transform); err != nil {
			return Informers{}, nil, err
		}
	}
	inf := Informers{
		DittoServers:   dittoServers,
		StatefulSets:   statefulSets,
		Services:       services,
		ConfigMaps:     configMaps,
		Secrets:        secrets,
		StorageClasses: clusterFactory.Storage().V1().StorageClasses(),
		Pods:           pods,
		// The claims made from the StatefulSet's templates carry the labels.
		PersistentVolumeClaims: claims,

		NetworkPolicies:   childFactory.Networking().V1().NetworkPolicies(),
		PerconaCRD:        perconaCRD,
		ServiceMonitorCRD: smCRD,
	}
	start := func(stop <-chan struct{}) {
		for _, f := range []interface{ Start(<-chan struct{}) }{dittoFactory, childFactory, clusterFactory, metaFactory, perconaCRDFactory, smCRDFactory} {
			f.Start(stop)
		}
	}
	return inf, start, nil
}

// newFilteredInformer is the constructor client-go has for each kind.
type newFilteredInformer func(kubernetes.Interface, string, time.Duration, cache.Indexers,
	internalinterfaces.TweakListOptionsFunc) cache.SharedIndexInformer
