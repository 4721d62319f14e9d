package controller

// The test fixture, after sample-controller's: fake clientsets whose
// trackers are the cluster, informers that are never started and whose
// indexers are filled from the trackers (catchUp plays the informers
// catching up), a fake event recorder and a fixed clock. A test calls sync
// directly and compares what the controller did: the API requests (list and
// watch ignored), the events and the status it wrote.

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
	"github.com/dittofs/dittofs-operator/test/harness/fakeapi"
)

const (
	testNamespace = "storage"
	testName      = "nas"
	testUID       = types.UID("nas-uid")
)

// t0 is the fixed clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	gvrDittoServers    = dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")
	gvrSecrets         = corev1.SchemeGroupVersion.WithResource("secrets")
	gvrServices        = corev1.SchemeGroupVersion.WithResource("services")
	gvrConfigMaps      = corev1.SchemeGroupVersion.WithResource("configmaps")
	gvrStatefulSets    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrStorageClasses  = storagev1.SchemeGroupVersion.WithResource("storageclasses")
	gvrPods            = corev1.SchemeGroupVersion.WithResource("pods")
	gvrClaims          = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	gvrNetworkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
)

// versionedTracker is the fake API server's store: the shared tracker that
// stamps resourceVersions and answers Conflict on stale writes.
type versionedTracker = fakeapi.Tracker

type fixture struct {
	t   *testing.T
	ctx context.Context

	kube, ditto, dyn      versionedTracker
	kubeClient            *kubefake.Clientset
	dittoClient           *dittofake.Clientset
	dynClient             *dynamicfake.FakeDynamicClient
	snapClient            *snapfake.Clientset // the VolumeSnapshot API a restore uses
	inf                   caches.Informers
	perconaIndexer        cache.Indexer // nil: the Percona CRD is not installed
	serviceMonitorIndexer cache.Indexer // nil: the ServiceMonitor CRD is not installed (installServiceMonitorCRD)
	recorder              *record.FakeRecorder
	clock                 time.Time
	c                     *Controller
}

// newFixture builds a controller over a cluster holding objects. With
// percona, the PerconaPGCluster CRD is installed.
func newFixture(t *testing.T, percona bool, objects ...runtime.Object) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, clock: t0}

	f.kube = f.tracker(clienttesting.NewObjectTracker(kubescheme.Scheme, kubescheme.Codecs.UniversalDecoder()))
	f.ditto = f.tracker(clienttesting.NewFieldManagedObjectTracker(dittoscheme.Scheme, dittoscheme.Codecs.UniversalDecoder(), dittoTypes(t)))
	f.dynClient = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{resources.PerconaGVR: resources.PerconaKind + "List",
			resources.ServiceMonitorGVR: resources.ServiceMonitorKind + "List"})
	f.dyn = f.tracker(f.dynClient.Tracker())
	f.kubeClient, f.dittoClient = kubefake.NewClientset(), dittofake.NewClientset()
	fakeapi.ServeFrom(&f.kubeClient.Fake, f.kube)
	fakeapi.ServeFrom(&f.dittoClient.Fake, f.ditto)
	fakeapi.ServeFrom(&f.dynClient.Fake, f.dyn)

	for _, obj := range objects {
		tracker := f.kube
		switch obj.(type) {
		case *dittov1alpha1.DittoServer, *dittov1alpha1.DittoBackup:
			tracker = f.ditto
		case *unstructured.Unstructured:
			tracker = f.dyn
		}
		if err := tracker.Add(obj); err != nil {
			t.Fatalf("add %T to the fake cluster: %v", obj, err)
		}
	}

	kubeFactory := kubeinformers.NewSharedInformerFactory(f.kubeClient, 0)
	dittoFactory := dittoinformers.NewSharedInformerFactory(f.dittoClient, 0)
	metaFactory := metadatainformer.NewSharedInformerFactory(metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), 0)
	f.inf = caches.Informers{
		DittoServers:           dittoFactory.Dittofs().V1alpha1().DittoServers(),
		StatefulSets:           kubeFactory.Apps().V1().StatefulSets(),
		Services:               kubeFactory.Core().V1().Services(),
		ConfigMaps:             kubeFactory.Core().V1().ConfigMaps(),
		Secrets:                metaFactory.ForResource(gvrSecrets),
		StorageClasses:         kubeFactory.Storage().V1().StorageClasses(),
		Pods:                   kubeFactory.Core().V1().Pods(),
		PersistentVolumeClaims: kubeFactory.Core().V1().PersistentVolumeClaims(),

		NetworkPolicies: kubeFactory.Networking().V1().NetworkPolicies(),
	}
	c, err := New(ctx, f.kubeClient, f.dittoClient, f.dynClient, f.inf, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.queue.ShutDown)
	t.Cleanup(c.broadcaster.Shutdown)
	f.recorder = record.NewFakeRecorder(100)
	c.recorder = f.recorder
	f.snapClient = snapfake.NewSimpleClientset() //nolint:staticcheck // no alternative in client/v8
	c.snap = f.snapClient
	c.now = func() time.Time { return f.clock }
	if percona {
		f.perconaIndexer = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		c.percona.SetListerForTest(cache.NewGenericLister(f.perconaIndexer, resources.PerconaGVR.GroupResource()))
	}
	f.c = c
	f.catchUp()
	return f
}

// tracker serves a fake clientset like the API server, creation times
// taken from the fixed clock.
func (f *fixture) tracker(t clienttesting.ObjectTracker) versionedTracker {
	tr := fakeapi.NewTracker(t)
	tr.Now = func() time.Time { return f.clock }
	return tr
}

// catchUp fills every informer cache from the fake cluster, as the informers
// would once they have seen every event: the child caches hold only objects
// with the operator's managed-by label, the Secret cache only metadata.
func (f *fixture) catchUp() {
	f.t.Helper()
	managed := func(o runtime.Object) bool {
		m, _ := meta.Accessor(o)
		return m.GetLabels()[resources.ManagedByLabel] == resources.ManagedByValue
	}
	all := func(runtime.Object) bool { return true }
	f.fill(f.inf.DittoServers.Informer().GetIndexer(), f.ditto, gvrDittoServers, "DittoServer", all, transformed(caches.DropManagedFields))
	f.fill(f.inf.StatefulSets.Informer().GetIndexer(), f.kube, gvrStatefulSets, "StatefulSet", managed, transformed(caches.DropManagedFields))
	f.fill(f.inf.Services.Informer().GetIndexer(), f.kube, gvrServices, "Service", managed, transformed(caches.DropManagedFields))
	f.fill(f.inf.ConfigMaps.Informer().GetIndexer(), f.kube, gvrConfigMaps, "ConfigMap", managed, transformed(caches.DigestConfigMap))
	f.fill(f.inf.StorageClasses.Informer().GetIndexer(), f.kube, gvrStorageClasses, "StorageClass", all, nil)
	f.fill(f.inf.Pods.Informer().GetIndexer(), f.kube, gvrPods, "Pod", managed, trimmedPod)
	f.fill(f.inf.PersistentVolumeClaims.Informer().GetIndexer(), f.kube, gvrClaims, "PersistentVolumeClaim", managed, transformed(caches.TrimClaim))
	f.fill(f.inf.NetworkPolicies.Informer().GetIndexer(), f.kube, gvrNetworkPolicies, "NetworkPolicy", managed, nil)
	f.fill(f.inf.Secrets.Informer().GetIndexer(), f.kube, gvrSecrets, "Secret", all, secretMetadata)
	if f.perconaIndexer != nil {
		f.fill(f.perconaIndexer, f.dyn, resources.PerconaGVR, resources.PerconaKind, all, nil)
	}
	if f.serviceMonitorIndexer != nil {
		f.fill(f.serviceMonitorIndexer, f.dyn, resources.ServiceMonitorGVR, resources.ServiceMonitorKind, managed, nil)
	}
}

func (f *fixture) fill(indexer cache.Indexer, tracker versionedTracker, gvr schema.GroupVersionResource, kind string,
	keep func(runtime.Object) bool, transform func(runtime.Object) runtime.Object) {
	f.t.Helper()
	if err := fakeapi.Fill(indexer, tracker, gvr, kind, keep, transform); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) list(tracker versionedTracker, gvr schema.GroupVersionResource, kind string) []runtime.Object {
	f.t.Helper()
	objs, err := fakeapi.List(tracker, gvr, kind)
	if err != nil {
		f.t.Fatal(err)
	}
	return objs
}

// transformed is what an informer with transform caches of an object.
func transformed(transform cache.TransformFunc) func(runtime.Object) runtime.Object {
	return func(obj runtime.Object) runtime.Object {
		out, _ := transform(obj.DeepCopyObject())
		return out.(runtime.Object)
	}
}

// trimmedPod is what the pod informer (with caches.TrimPod) caches of a pod.
func trimmedPod(obj runtime.Object) runtime.Object {
	out, _ := caches.TrimPod(obj)
	return out.(*corev1.Pod)
}

// secretMetadata is what the metadata informer (with the operator's
// transform) caches of a Secret.
func secretMetadata(obj runtime.Object) runtime.Object {
	s := obj.(*corev1.Secret)
	m := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: *s.ObjectMeta.DeepCopy()}
	m.Annotations, m.ManagedFields = nil, nil
	return m
}

// sync runs one pass over the test DittoServer, starting from a clean slate
// of recorded actions and events.
func (f *fixture) sync() error {
	f.clear()
	return f.c.sync(f.ctx, cache.ObjectName{Namespace: testNamespace, Name: testName})
}

func (f *fixture) clear() {
	f.kubeClient.ClearActions()
	f.dittoClient.ClearActions()
	f.dynClient.ClearActions()
	f.snapClient.ClearActions()
	f.events()
}

// converge catches up and syncs until a pass writes nothing, as the
// informers' events would drive the controller, and fails if that takes
// more than a few passes or a pass fails.
func (f *fixture) converge() {
	f.t.Helper()
	for pass := 1; pass <= 4; pass++ {
		f.catchUp()
		if err := f.sync(); err != nil {
			f.t.Fatalf("converge: pass %d: %v", pass, err)
		}
		f.catchUp()
		if len(f.actions()) == 0 {
			f.clear()
			return
		}
	}
	f.t.Fatalf("converge: still writing after 4 passes: %v", f.actions())
}

// actions are the requests of the last pass, as "verb resource[/subresource] name".
func (f *fixture) actions() []string {
	var out []string
	for _, list := range [][]clienttesting.Action{f.kubeClient.Actions(), f.dittoClient.Actions(), f.dynClient.Actions(), f.snapClient.Actions()} {
		for _, a := range list {
			if a.Matches("list", a.GetResource().Resource) || a.Matches("watch", a.GetResource().Resource) {
				continue
			}
			out = append(out, describeAction(a))
		}
	}
	return out
}

// dittoTypes merges apply patches of the operator's kinds as the API server
// does: by the CRDs' schemas (conditions merged by type).
func dittoTypes(t *testing.T) managedfields.TypeConverter {
	t.Helper()
	tc, err := fakeapi.CRDTypeConverter(filepath.Join("..", "..", "artifacts", "crds", "dittofs.dittofs.com_dittoservers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// describeAction says what a request was; a server-side apply is "apply".
func describeAction(a clienttesting.Action) string {
	res := a.GetResource().Resource
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	verb := a.GetVerb()
	if p, ok := a.(clienttesting.PatchAction); ok && p.GetPatchType() == types.ApplyPatchType {
		verb = "apply"
	}
	return verb + " " + res + " " + actionName(a)
}

func actionName(a clienttesting.Action) string {
	// CreateAction also matches updates, GetAction also patches and
	// deletes: the interfaces have the same methods.
	switch a := a.(type) {
	case clienttesting.CreateAction:
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			return m.GetName()
		}
	case clienttesting.GetAction:
		return a.GetName()
	}
	return "?"
}

// action returns the last pass's request described as desc.
func (f *fixture) action(desc string) clienttesting.Action {
	f.t.Helper()
	for _, list := range [][]clienttesting.Action{f.kubeClient.Actions(), f.dittoClient.Actions(), f.dynClient.Actions(), f.snapClient.Actions()} {
		for _, a := range list {
			if describeAction(a) == desc {
				return a
			}
		}
	}
	f.t.Fatalf("no request %q among %v", desc, f.actions())
	return nil
}

// events drains the events recorded since the last call.
func (f *fixture) events() []string { return fakeapi.Events(f.recorder) }
