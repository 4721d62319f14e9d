package controller

// The test fixture, after sample-controller's: fake clientsets whose
// trackers are the cluster, informers that are never started and whose
// indexers are filled from the trackers (catchUp plays the informers
// catching up), a fake event recorder and a fixed clock. A test calls sync
// directly and compares what the controller did: the API requests (list and
// watch ignored), the events and the status it wrote.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
)

const (
	testNamespace = "storage"
	testName      = "nas"
	testUID       = types.UID("nas-uid")
)

// t0 is the fixed clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	gvrDittoServers   = dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")
	gvrSecrets        = corev1.SchemeGroupVersion.WithResource("secrets")
	gvrServices       = corev1.SchemeGroupVersion.WithResource("services")
	gvrConfigMaps     = corev1.SchemeGroupVersion.WithResource("configmaps")
	gvrStatefulSets   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrStorageClasses = storagev1.SchemeGroupVersion.WithResource("storageclasses")
)

// lastResourceVersion numbers every write of every fake API server, so that
// resourceVersions are unique across clientsets and fixtures.
var lastResourceVersion atomic.Int64

func nextResourceVersion() string { return strconv.FormatInt(lastResourceVersion.Add(1)+1000, 10) }

// versionedTracker makes the fake API server behave like the real one where
// the controller depends on it: every write stamps a new resourceVersion,
// creates assign a UID, and an update or patch that carries a stale
// resourceVersion fails with a Conflict.
type versionedTracker struct {
	clienttesting.ObjectTracker
}

func (t versionedTracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	obj = obj.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetUID() == "" {
		m.SetUID(types.UID("uid-" + nextResourceVersion()))
	}
	m.SetResourceVersion(nextResourceVersion())
	return t.ObjectTracker.Create(gvr, obj, ns, opts...)
}

func (t versionedTracker) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	obj = obj.DeepCopyObject()
	if err := t.stamp(gvr, obj, ns); err != nil {
		return err
	}
	return t.ObjectTracker.Update(gvr, obj, ns, opts...)
}

// Patch stamps obj in place: ObjectReaction returns this very object as the
// result of the patch.
func (t versionedTracker) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	if err := t.stamp(gvr, obj, ns); err != nil {
		return err
	}
	return t.ObjectTracker.Patch(gvr, obj, ns, opts...)
}

func (t versionedTracker) stamp(gvr schema.GroupVersionResource, obj runtime.Object, ns string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if rv := m.GetResourceVersion(); rv != "" {
		cur, err := t.ObjectTracker.Get(gvr, ns, m.GetName())
		if err != nil {
			return err
		}
		if cm, _ := meta.Accessor(cur); cm.GetResourceVersion() != rv {
			return apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
	}
	m.SetResourceVersion(nextResourceVersion())
	return nil
}

// serveFrom makes fake answer every request from tracker.
func serveFrom(fake *clienttesting.Fake, tracker clienttesting.ObjectTracker) {
	fake.ReactionChain = nil
	fake.AddReactor("*", "*", clienttesting.ObjectReaction(tracker))
}

type fixture struct {
	t   *testing.T
	ctx context.Context

	kube, ditto, dyn             versionedTracker
	kubeClient                   *kubefake.Clientset
	dittoClient                  *dittofake.Clientset
	dynClient                    *dynamicfake.FakeDynamicClient
	inf                          Informers
	perconaIndexer               cache.Indexer // nil: the Percona CRD is not installed
	recorder                     *record.FakeRecorder
	clock                        time.Time
	c                            *Controller
	kubeObjs, dittoObjs, dynObjs []runtime.Object
}

// newFixture builds a controller over a cluster holding objects. With
// percona, the PerconaPGCluster CRD is installed.
func newFixture(t *testing.T, percona bool, objects ...runtime.Object) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, clock: t0}

	f.kube = versionedTracker{clienttesting.NewObjectTracker(kubescheme.Scheme, kubescheme.Codecs.UniversalDecoder())}
	f.ditto = versionedTracker{clienttesting.NewObjectTracker(dittoscheme.Scheme, dittoscheme.Codecs.UniversalDecoder())}
	f.dynClient = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{resources.PerconaGVR: resources.PerconaKind + "List"})
	f.dyn = versionedTracker{f.dynClient.Tracker()}
	f.kubeClient, f.dittoClient = kubefake.NewClientset(), dittofake.NewClientset()
	serveFrom(&f.kubeClient.Fake, f.kube)
	serveFrom(&f.dittoClient.Fake, f.ditto)
	serveFrom(&f.dynClient.Fake, f.dyn)

	for _, obj := range objects {
		obj = obj.DeepCopyObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetResourceVersion() == "" {
			m.SetResourceVersion(nextResourceVersion())
		}
		tracker := f.kube
		switch obj.(type) {
		case *dittov1alpha1.DittoServer:
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
	f.inf = Informers{
		DittoServers:   dittoFactory.Dittofs().V1alpha1().DittoServers(),
		StatefulSets:   kubeFactory.Apps().V1().StatefulSets(),
		Services:       kubeFactory.Core().V1().Services(),
		ConfigMaps:     kubeFactory.Core().V1().ConfigMaps(),
		Secrets:        metaFactory.ForResource(gvrSecrets),
		StorageClasses: kubeFactory.Storage().V1().StorageClasses(),
	}
	c, err := New(ctx, f.kubeClient, f.dittoClient, f.dynClient, f.inf, nil, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.queue.ShutDown)
	t.Cleanup(c.broadcaster.Shutdown)
	f.recorder = record.NewFakeRecorder(100)
	c.recorder = f.recorder
	c.now = func() time.Time { return f.clock }
	if percona {
		f.perconaIndexer = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		c.percona.setListerForTest(cache.NewGenericLister(f.perconaIndexer, resources.PerconaGVR.GroupResource()))
	}
	f.c = c
	f.catchUp()
	return f
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
	f.fill(f.inf.DittoServers.Informer().GetIndexer(), f.ditto, gvrDittoServers, "DittoServer", all, nil)
	f.fill(f.inf.StatefulSets.Informer().GetIndexer(), f.kube, gvrStatefulSets, "StatefulSet", managed, nil)
	f.fill(f.inf.Services.Informer().GetIndexer(), f.kube, gvrServices, "Service", managed, nil)
	f.fill(f.inf.ConfigMaps.Informer().GetIndexer(), f.kube, gvrConfigMaps, "ConfigMap", managed, nil)
	f.fill(f.inf.StorageClasses.Informer().GetIndexer(), f.kube, gvrStorageClasses, "StorageClass", all, nil)
	f.fill(f.inf.Secrets.Informer().GetIndexer(), f.kube, gvrSecrets, "Secret", all, secretMetadata)
	if f.perconaIndexer != nil {
		f.fill(f.perconaIndexer, f.dyn, resources.PerconaGVR, resources.PerconaKind, all, nil)
	}
}

func (f *fixture) fill(indexer cache.Indexer, tracker versionedTracker, gvr schema.GroupVersionResource, kind string,
	keep func(runtime.Object) bool, transform func(runtime.Object) runtime.Object) {
	f.t.Helper()
	var items []interface{}
	for _, obj := range f.list(tracker, gvr, kind) {
		if !keep(obj) {
			continue
		}
		if transform != nil {
			obj = transform(obj)
		}
		items = append(items, obj)
	}
	if err := indexer.Replace(items, ""); err != nil {
		f.t.Fatalf("fill %s cache: %v", kind, err)
	}
}

func (f *fixture) list(tracker versionedTracker, gvr schema.GroupVersionResource, kind string) []runtime.Object {
	f.t.Helper()
	list, err := tracker.List(gvr, gvr.GroupVersion().WithKind(kind), "")
	if err != nil {
		f.t.Fatalf("list %s: %v", gvr.Resource, err)
	}
	objs, err := meta.ExtractList(list)
	if err != nil {
		f.t.Fatalf("extract %s: %v", gvr.Resource, err)
	}
	return objs
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
	for _, list := range [][]clienttesting.Action{f.kubeClient.Actions(), f.dittoClient.Actions(), f.dynClient.Actions()} {
		for _, a := range list {
			if a.Matches("list", a.GetResource().Resource) || a.Matches("watch", a.GetResource().Resource) {
				continue
			}
			out = append(out, describeAction(a))
		}
	}
	return out
}

func describeAction(a clienttesting.Action) string {
	res := a.GetResource().Resource
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	return a.GetVerb() + " " + res + " " + actionName(a)
}

func actionName(a clienttesting.Action) string {
	switch a := a.(type) {
	case clienttesting.CreateAction:
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			return m.GetName()
		}
	case clienttesting.UpdateAction:
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			return m.GetName()
		}
	case clienttesting.GetAction:
		return a.GetName()
	case clienttesting.PatchAction:
		return a.GetName()
	case clienttesting.DeleteAction:
		return a.GetName()
	}
	return "?"
}

// action returns the last pass's request described as desc.
func (f *fixture) action(desc string) clienttesting.Action {
	f.t.Helper()
	for _, list := range [][]clienttesting.Action{f.kubeClient.Actions(), f.dittoClient.Actions(), f.dynClient.Actions()} {
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
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// expectActions compares requests as a multiset: order does not matter.
func expectActions(t *testing.T, got []string, want ...string) {
	t.Helper()
	missing := slices.Clone(want)
	var unexpected []string
	for _, g := range got {
		if i := slices.Index(missing, g); i >= 0 {
			missing = slices.Delete(missing, i, i+1)
		} else {
			unexpected = append(unexpected, g)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		t.Errorf("requests differ:\n  missing:    %q\n  unexpected: %q\n  all:        %q", missing, unexpected, got)
	}
}

// expectEvents compares events in order; each wanted event is "Type Reason
// message prefix".
func expectEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Errorf("events differ:\n  got:  %q\n  want: %q", got, want)
	}
}

func expectErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("sync: unexpected error %v", err)
	case want == errAny && err == nil:
		t.Errorf("sync: want an error, got none")
	case want == errWaiting && !errors.Is(err, errWaiting):
		t.Errorf("sync: want errWaiting (requeue with backoff), got %v", err)
	case want == errAny && errors.Is(err, errWaiting):
		t.Errorf("sync: want a failure, got errWaiting (%v)", err)
	}
}

// errAny stands for any error that is not errWaiting.
var errAny = errors.New("any failure")

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
	switch obj.(type) {
	case *corev1.Secret:
		return gvrSecrets
	case *corev1.Service:
		return gvrServices
	case *corev1.ConfigMap:
		return gvrConfigMaps
	case *storagev1.StorageClass:
		return gvrStorageClasses
	case *appsv1.StatefulSet:
		return gvrStatefulSets
	case *unstructured.Unstructured:
		return resources.PerconaGVR
	}
	panic(fmt.Sprintf("no resource for %T", obj))
}

// expectStatus checks the phase and conditions, each "Type=Status/Reason".
func expectStatus(t *testing.T, ds *dittov1alpha1.DittoServer, phase dittov1alpha1.Phase, conds ...string) {
	t.Helper()
	if ds.Status.Phase != phase {
		t.Errorf("phase = %q, want %q (conditions %s)", ds.Status.Phase, phase, describeConditions(ds))
	}
	for _, want := range conds {
		typ, _, _ := strings.Cut(want, "=")
		c := meta.FindStatusCondition(ds.Status.Conditions, typ)
		if c == nil {
			t.Errorf("condition %s missing; want %s", typ, want)
			continue
		}
		if got := fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason); got != want {
			t.Errorf("condition %s, want %s (message %q)", got, want, c.Message)
		}
	}
}

func describeConditions(ds *dittov1alpha1.DittoServer) string {
	var parts []string
	for _, c := range ds.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return strings.Join(parts, " ")
}

func condition(ds *dittov1alpha1.DittoServer, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(ds.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// Objects of the test cluster.

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

// expectQuiet checks that, once the informers have caught up with a pass, the
// controller settles: the next pass may refresh the status (a rollout
// observed on the StatefulSet) but writes no child and emits no event, and
// the pass after that makes no request at all.
func (f *fixture) expectQuiet(t *testing.T) {
	t.Helper()
	f.catchUp()
	err := f.sync()
	if err != nil && !errors.Is(err, errWaiting) {
		t.Errorf("settling pass: %v", err)
	}
	for _, a := range f.actions() {
		if a != "update dittoservers/status "+testName {
			t.Errorf("settling pass wrote %q; only a status refresh is allowed", a)
		}
	}
	expectEvents(t, f.events())
	f.catchUp()
	_ = f.sync()
	expectActions(t, f.actions())
	expectEvents(t, f.events())
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
