package controller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/informers/internalinterfaces"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
)

// NewInformers builds the shared informers the controller reads, for one
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
//     reads of them (trimPod); volume claims likewise (trimClaim);
//     ConfigMaps with digests in place of their values (digestConfigMap).
//
// No cached object keeps its managed fields (see dropManagedFields).
func NewInformers(kube kubernetes.Interface, ditto clientset.Interface, meta metadata.Interface,
	namespace string, resync time.Duration) (Informers, CRDWatch, func(stop <-chan struct{}), error) {
	dittoFactory := dittoinformers.NewSharedInformerFactoryWithOptions(ditto, resync, dittoinformers.WithNamespace(namespace),
		dittoinformers.WithTransform(dropManagedFields))
	managed := func(lo *metav1.ListOptions) {
		lo.LabelSelector = resources.ManagedByLabel + "=" + resources.ManagedByValue
	}
	childFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithNamespace(namespace), kubeinformers.WithTweakListOptions(managed),
		kubeinformers.WithTransform(dropManagedFields))
	clusterFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync, kubeinformers.WithTransform(dropManagedFields))
	metaFactory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, namespace, nil)
	crdFactory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, metav1.NamespaceAll, crdFieldSelector)
	smCRDFactory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, metav1.NamespaceAll, serviceMonitorCRDSelector)

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
		{dittoServers.Informer(), dropManagedFields},
		{secrets.Informer(), stripMetadata},
		{pods.Informer(), trimPod}, // each pod's labels are its own
		{configMaps.Informer(), digestConfigMap},
		{claims.Informer(), trimClaim},
		{statefulSets.Informer(), dropManagedFields},
		{services.Informer(), dropManagedFields},
	} {
		if err := t.informer.SetTransform(t.transform); err != nil {
			return Informers{}, nil, nil, err
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
		ServiceMonitorCRD: smCRDFactory.ForResource(CRDGVR).Informer(),
	}
	crdWatch := crdFactory.ForResource(CRDGVR).Informer()
	start := func(stop <-chan struct{}) {
		for _, f := range []interface{ Start(<-chan struct{}) }{dittoFactory, childFactory, clusterFactory, metaFactory, crdFactory, smCRDFactory} {
			f.Start(stop)
		}
	}
	return inf, crdWatch, start, nil
}

// newFilteredInformer is the constructor client-go has for each kind.
type newFilteredInformer func(kubernetes.Interface, string, time.Duration, cache.Indexers,
	internalinterfaces.TweakListOptionsFunc) cache.SharedIndexInformer

// dropManagedFields drops managed fields from cached objects: the operator
// never reads them, and an update that omits them leaves them unchanged on
// the server. They are a large part of every cached StatefulSet and Service.
func dropManagedFields(obj interface{}) (interface{}, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
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
