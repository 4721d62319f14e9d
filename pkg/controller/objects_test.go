package controller

// The objects of the test cluster, and access to them in the fake API server.

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// dittoServer is the test DittoServer as the cluster holds it.
func (f *fixture) dittoServer() *dittov1alpha1.DittoServer {
	f.t.Helper()
	obj, err := f.ditto.Get(gvrDittoServers, testNamespace, testName)
	if err != nil {
		f.t.Fatalf("get DittoServer: %v", err)
	}
	return obj.(*dittov1alpha1.DittoServer)
}

// edit changes the test DittoServer in the cluster, as kubectl would.
func (f *fixture) edit(change func(ds *dittov1alpha1.DittoServer), specChange bool) {
	f.t.Helper()
	ds := f.dittoServer().DeepCopy()
	change(ds)
	if specChange {
		ds.Generation++
	}
	if err := f.ditto.Update(gvrDittoServers, ds, testNamespace); err != nil {
		f.t.Fatalf("edit DittoServer: %v", err)
	}
}

// get returns an object of the fake cluster.
func (f *fixture) get(tracker versionedTracker, gvr schema.GroupVersionResource, name string) runtime.Object {
	f.t.Helper()
	obj, err := tracker.Get(gvr, testNamespace, name)
	if err != nil {
		f.t.Fatalf("get %s %s: %v", gvr.Resource, name, err)
	}
	return obj
}

func (f *fixture) exists(tracker versionedTracker, gvr schema.GroupVersionResource, name string) bool {
	_, err := tracker.Get(gvr, testNamespace, name)
	return err == nil
}

// put creates or replaces an object of the fake cluster.
func (f *fixture) put(obj runtime.Object) {
	f.t.Helper()
	tracker := f.kube
	gvr := gvrFor(obj)
	if _, ok := obj.(*unstructured.Unstructured); ok {
		tracker = f.dyn
	}
	m, _ := meta.Accessor(obj)
	var err error
	if cur, gerr := tracker.Get(gvr, m.GetNamespace(), m.GetName()); gerr == nil {
		obj = obj.DeepCopyObject()
		cm, _ := meta.Accessor(cur)
		m, _ = meta.Accessor(obj)
		m.SetResourceVersion(cm.GetResourceVersion())
		err = tracker.Update(gvr, obj, m.GetNamespace())
	} else {
		err = tracker.Create(gvr, obj, m.GetNamespace())
	}
	if err != nil {
		f.t.Fatalf("put %s %s: %v", gvr.Resource, m.GetName(), err)
	}
}

func gvrFor(obj runtime.Object) schema.GroupVersionResource {
	switch o := obj.(type) {
	case *corev1.Secret:
		return gvrSecrets
	case *corev1.Service:
		return gvrServices
	case *corev1.ConfigMap:
		return gvrConfigMaps
	case *storagev1.StorageClass:
		return gvrStorageClasses
	case *corev1.PersistentVolumeClaim:
		return gvrClaims
	case *appsv1.StatefulSet:
		return gvrStatefulSets
	case *networkingv1.NetworkPolicy:
		return gvrNetworkPolicies
	case *unstructured.Unstructured:
		if o.GetKind() == resources.ServiceMonitorKind {
			return resources.ServiceMonitorGVR
		}
		return resources.PerconaGVR
	}
	panic(fmt.Sprintf("no resource for %T", obj))
}

// newDittoServer is the smallest DittoServer: SQLite, generated Secrets.
func newDittoServer(mods ...func(*dittov1alpha1.DittoServer)) *dittov1alpha1.DittoServer {
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: testName, Namespace: testNamespace, UID: testUID, Generation: 1},
		Spec:       dittov1alpha1.DittoServerSpec{Storage: dittov1alpha1.StorageSpec{MetadataSize: resource.MustParse("1Gi")}},
	}
	for _, mod := range mods {
		mod(ds)
	}
	return ds
}

func withFinalizer(ds *dittov1alpha1.DittoServer) { ds.Finalizers = []string{Finalizer} }

func withPercona(deleteWithServer bool) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true, DeleteWithServer: deleteWithServer}
	}
}

func withJWTSecret(name, key string) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		if ds.Spec.Identity == nil {
			ds.Spec.Identity = &dittov1alpha1.IdentitySpec{}
		}
		ds.Spec.Identity.JWT = &dittov1alpha1.JWTSpec{SecretRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
	}
}

func withMetrics(ds *dittov1alpha1.DittoServer) {
	ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true}
}

func newSecret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: types.UID(name + "-uid")},
		Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func postgresSecret(name string) *corev1.Secret {
	return newSecret(name, map[string]string{"host": "db", "port": "5432", "user": "dittofs", "password": "pw", "dbname": "dittofs"})
}

// perconaCluster is the cluster the operator creates for ds, as the Percona
// operator reports it in state.
func perconaCluster(ds *dittov1alpha1.DittoServer, state string) *unstructured.Unstructured {
	u := resources.PerconaCluster(ds)
	u.SetUID("pg-uid")
	if state != "" {
		_ = unstructured.SetNestedField(u.Object, state, "status", "state")
	}
	return u
}

// foreignPerconaCluster is a ready cluster named like the test server's that
// someone else created: no owner, none of the operator's labels.
func foreignPerconaCluster() *unstructured.Unstructured {
	u := perconaCluster(newDittoServer(), "ready")
	u.SetOwnerReferences(nil)
	u.SetLabels(map[string]string{"team": "billing"})
	return u
}

// keptPerconaCluster is the cluster an earlier DittoServer of the test
// server's name created with deleteWithServer false, and left behind.
func keptPerconaCluster() *unstructured.Unstructured {
	u := perconaCluster(newDittoServer(withPercona(false), func(ds *dittov1alpha1.DittoServer) { ds.UID = "earlier-uid" }), "ready")
	if len(u.GetOwnerReferences()) != 0 {
		panic("a kept cluster carries an owner reference")
	}
	return u
}

// foreignService is a Service named like one of ds's that ds does not control.
func foreignService(name string, labelled bool) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: "foreign-uid"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if labelled {
		svc.Labels = map[string]string{resources.ManagedByLabel: resources.ManagedByValue}
		svc.OwnerReferences = []metav1.OwnerReference{{APIVersion: dittov1alpha1.SchemeGroupVersion.String(), Kind: "DittoServer",
			Name: testName, UID: "uid-of-a-deleted-namesake", Controller: ptr.To(true)}}
	}
	return svc
}

// statefulSet is the server's StatefulSet as the cluster holds it.
func (f *fixture) statefulSet() *appsv1.StatefulSet {
	f.t.Helper()
	return f.get(f.kube, gvrStatefulSets, testName).(*appsv1.StatefulSet)
}

// podConfigHash is the config hash on the pod template of the StatefulSet.
func (f *fixture) podConfigHash() string {
	f.t.Helper()
	return f.statefulSet().Spec.Template.Annotations[resources.ConfigHashAnnotation]
}

// clusterObjects is everything in the fake cluster.
func (f *fixture) clusterObjects() []runtime.Object {
	out := f.list(f.ditto, gvrDittoServers, "DittoServer")
	out = append(out, f.list(f.kube, gvrSecrets, "Secret")...)
	out = append(out, f.list(f.kube, gvrServices, "Service")...)
	out = append(out, f.list(f.kube, gvrConfigMaps, "ConfigMap")...)
	out = append(out, f.list(f.kube, gvrStatefulSets, "StatefulSet")...)
	out = append(out, f.list(f.kube, gvrStorageClasses, "StorageClass")...)
	return append(out, f.list(f.dyn, resources.PerconaGVR, resources.PerconaKind)...)
}
