package serverstate

// The test fixture: fake clientsets whose trackers are the cluster (every
// write stamps a new resourceVersion; a stale write gets a Conflict), never
// started informers whose indexers catchUp fills from the trackers, the
// in-memory DittoFS server behind the fake API factory, a fake event
// recorder and a fixed clock. A test calls sync and compares what the
// controller did: REST writes, Kubernetes writes, events and statuses.

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
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
	"github.com/dittofs/dittofs-operator/test/harness/fakeapi"
)

const (
	testNamespace = "storage"
	testServer    = "nas"
)

var (
	t0              = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	gvrDittoServers = dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")
	gvrDittoShares  = dittov1alpha1.SchemeGroupVersion.WithResource("dittoshares")
	gvrDittoUsers   = dittov1alpha1.SchemeGroupVersion.WithResource("dittousers")
	gvrSecrets      = corev1.SchemeGroupVersion.WithResource("secrets")
	gvrNamespaces   = corev1.SchemeGroupVersion.WithResource("namespaces")
	gvrStatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
)

// versionedTracker is the fake API server's store: the shared tracker that
// stamps resourceVersions and UIDs, refuses stale writes and removes an
// object being deleted once its last finalizer goes (shares and users).
type versionedTracker = fakeapi.Tracker

type fixture struct {
	t        *testing.T
	ctx      context.Context
	kube     versionedTracker
	ditto    versionedTracker
	kubeCS   *kubefake.Clientset
	dittoCS  *dittofake.Clientset
	inf      Informers
	recorder *record.FakeRecorder
	srv      *fakeServer
	c        *Controller
}

func newFixture(t *testing.T, objects ...runtime.Object) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, srv: newFakeServer()}
	f.kube = tracker(clienttesting.NewObjectTracker(kubescheme.Scheme, kubescheme.Codecs.UniversalDecoder()))
	f.ditto = tracker(clienttesting.NewFieldManagedObjectTracker(dittoscheme.Scheme, dittoscheme.Codecs.UniversalDecoder(), dittoTypes(t)))
	f.kubeCS, f.dittoCS = kubefake.NewClientset(), dittofake.NewClientset()
	fakeapi.ServeFrom(&f.kubeCS.Fake, f.kube)
	fakeapi.ServeFrom(&f.dittoCS.Fake, f.ditto)
	for _, obj := range objects {
		f.add(obj)
	}
	f.addIssuedTLS(t, objects)
	kubeFactory := kubeinformers.NewSharedInformerFactory(f.kubeCS, 0)
	dittoFactory := dittoinformers.NewSharedInformerFactory(f.dittoCS, 0)
	metaFactory := metadatainformer.NewSharedInformerFactory(metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), 0)
	f.inf = Informers{
		DittoServers: dittoFactory.Dittofs().V1alpha1().DittoServers(),
		DittoShares:  dittoFactory.Dittofs().V1alpha1().DittoShares(),
		DittoUsers:   dittoFactory.Dittofs().V1alpha1().DittoUsers(),
		StatefulSets: kubeFactory.Apps().V1().StatefulSets(),
		Secrets:      metaFactory.ForResource(gvrSecrets),
		Namespaces:   metaFactory.ForResource(gvrNamespaces),
	}
	endpoints := NewEndpoints(AccessService, nil, nil)
	c, err := New(ctx, f.kubeCS, f.dittoCS, f.inf, Options{Endpoints: endpoints, NewAPI: f.srv.factory()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.queue.ShutDown)
	t.Cleanup(c.broadcaster.Shutdown)
	f.recorder = record.NewFakeRecorder(1000)
	c.recorder = f.recorder
	c.now = func() time.Time { return t0 }
	f.c = c
	f.catchUp()
	return f
}

// dittoTypes merges apply patches of the operator's kinds as the API server
// does: by the CRDs' schemas (conditions merged by type).
func dittoTypes(t *testing.T) managedfields.TypeConverter {
	t.Helper()
	var files []string
	for _, kind := range []string{"dittoservers", "dittoshares", "dittousers"} {
		files = append(files, filepath.Join("..", "..", "..", "artifacts", "crds", "dittofs.dittofs.com_"+kind+".yaml"))
	}
	tc, err := fakeapi.CRDTypeConverter(files...)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// tracker serves a fake clientset like the API server, creation times
// taken from the fixed clock.
func tracker(t clienttesting.ObjectTracker) versionedTracker {
	tr := fakeapi.NewTracker(t)
	tr.Now = func() time.Time { return t0 }
	tr.RemoveFinalized = true
	return tr
}

// add puts an object into the fake cluster.
func (f *fixture) add(obj runtime.Object) {
	f.t.Helper()
	tracker := f.kube
	switch obj.(type) {
	case *dittov1alpha1.DittoServer, *dittov1alpha1.DittoShare, *dittov1alpha1.DittoUser:
		tracker = f.ditto
	}
	if err := tracker.Add(obj); err != nil {
		f.t.Fatalf("add %T: %v", obj, err)
	}
}

// catchUp fills the caches from the fake cluster, as the informers would.
func (f *fixture) catchUp() {
	f.t.Helper()
	fill := func(indexer cache.Indexer, tracker versionedTracker, gvr schema.GroupVersionResource, kind string, transform func(runtime.Object) runtime.Object) {
		if err := fakeapi.Fill(indexer, tracker, gvr, kind, nil, transform); err != nil {
			f.t.Fatal(err)
		}
	}
	fill(f.inf.DittoServers.Informer().GetIndexer(), f.ditto, gvrDittoServers, "DittoServer", nil)
	fill(f.inf.DittoShares.Informer().GetIndexer(), f.ditto, gvrDittoShares, "DittoShare", nil)
	fill(f.inf.DittoUsers.Informer().GetIndexer(), f.ditto, gvrDittoUsers, "DittoUser", nil)
	fill(f.inf.StatefulSets.Informer().GetIndexer(), f.kube, gvrStatefulSets, "StatefulSet", nil)
	fill(f.inf.Secrets.Informer().GetIndexer(), f.kube, gvrSecrets, "Secret", func(o runtime.Object) runtime.Object {
		s := o.(*corev1.Secret)
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: *s.ObjectMeta.DeepCopy()}
	})
	fill(f.inf.Namespaces.Informer().GetIndexer(), f.kube, gvrNamespaces, "Namespace", func(o runtime.Object) runtime.Object {
		ns := o.(*corev1.Namespace)
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: *ns.ObjectMeta.DeepCopy()}
	})
}

// sync runs one pass from a clean slate of recorded calls and events.
func (f *fixture) sync() error {
	f.catchUp()
	f.clear()
	err := f.c.sync(f.ctx, cache.ObjectName{Namespace: testNamespace, Name: testServer})
	f.catchUp()
	return err
}

func (f *fixture) clear() {
	f.kubeCS.ClearActions()
	f.dittoCS.ClearActions()
	f.srv.clearCalls()
	f.events()
}

// kubeWrites are the Kubernetes writes of the last pass.
func (f *fixture) kubeWrites() []string {
	var out []string
	for _, list := range [][]clienttesting.Action{f.kubeCS.Actions(), f.dittoCS.Actions()} {
		for _, a := range list {
			switch a.GetVerb() {
			case "get", "list", "watch":
				continue
			}
			res := a.GetResource().Resource
			if a.GetSubresource() != "" {
				res += "/" + a.GetSubresource()
			}
			out = append(out, a.GetVerb()+" "+res)
		}
	}
	return out
}

// kubeReads are the Kubernetes GETs of the last pass.
func (f *fixture) kubeReads() []string {
	var out []string
	for _, list := range [][]clienttesting.Action{f.kubeCS.Actions(), f.dittoCS.Actions()} {
		for _, a := range list {
			if a.GetVerb() == "get" {
				out = append(out, "get "+a.GetResource().Resource+" "+a.(clienttesting.GetAction).GetName())
			}
		}
	}
	return out
}

// events drains the events recorded since the last call.
func (f *fixture) events() []string { return fakeapi.Events(f.recorder) }

// converge syncs until a pass makes no write, and fails after 4 passes.
func (f *fixture) converge() {
	f.t.Helper()
	for pass := 1; pass <= 4; pass++ {
		if err := f.sync(); err != nil {
			f.t.Fatalf("converge: pass %d: %v", pass, err)
		}
		if len(f.srv.writes()) == 0 && len(f.kubeWrites()) == 0 {
			f.clear()
			return
		}
	}
	f.t.Fatalf("converge: still writing after 4 passes: %v %v", f.srv.writes(), f.kubeWrites())
}

func (f *fixture) server() *dittov1alpha1.DittoServer {
	f.t.Helper()
	ds, err := f.dittoCS.DittofsV1alpha1().DittoServers(testNamespace).Get(f.ctx, testServer, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get DittoServer: %v", err)
	}
	return ds
}

func (f *fixture) share(name string) *dittov1alpha1.DittoShare {
	f.t.Helper()
	s, err := f.dittoCS.DittofsV1alpha1().DittoShares(testNamespace).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get DittoShare %s: %v", name, err)
	}
	return s
}

func (f *fixture) user(name string) *dittov1alpha1.DittoUser {
	f.t.Helper()
	u, err := f.dittoCS.DittofsV1alpha1().DittoUsers(testNamespace).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatalf("get DittoUser %s: %v", name, err)
	}
	return u
}

// update writes obj back to the fake cluster (a user's kubectl edit).
func (f *fixture) update(obj runtime.Object, gvr schema.GroupVersionResource) {
	f.t.Helper()
	m, _ := meta.Accessor(obj)
	tracker := f.ditto
	if gvr.Group == "" || gvr.Group == "apps" {
		tracker = f.kube
	}
	if err := tracker.Update(gvr, obj, m.GetNamespace()); err != nil {
		f.t.Fatalf("update %s: %v", m.GetName(), err)
	}
}

// deleteObj marks an object deleted, as the API server does when it has finalizers.
func (f *fixture) deleteObj(obj metav1.Object, gvr schema.GroupVersionResource) {
	f.t.Helper()
	now := metav1.NewTime(t0)
	obj.SetDeletionTimestamp(&now)
	f.update(obj.(runtime.Object), gvr)
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	return meta.FindStatusCondition(conds, t)
}

func hasEvent(events []string, prefix string) bool {
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}

// Objects of the tests.

// availableServer is a DittoServer the main controller reports Available.
func availableServer(mutate ...func(*dittov1alpha1.DittoServer)) *dittov1alpha1.DittoServer {
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: testServer, Namespace: testNamespace, UID: "nas-uid", Generation: 1},
		Spec:       dittov1alpha1.DittoServerSpec{Replicas: ptr.To[int32](1)},
		Status: dittov1alpha1.DittoServerStatus{AvailableReplicas: 1, Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready", LastTransitionTime: metav1.NewTime(t0)},
			{Type: "Available", Status: metav1.ConditionTrue, Reason: "ReplicasAvailable", LastTransitionTime: metav1.NewTime(t0)},
		}},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

// adminSecret is the generated credentials Secret of a new server.
func adminSecret(ds *dittov1alpha1.DittoServer) *corev1.Secret {
	return resources.CredentialsSecret(ds, resources.CredentialsSecretName(ds), map[string]string{
		resources.JWTSecretKey: "fake-jwt-secret-0123456789abcdef0123456789", resources.AdminPasswordKey: fakeAdminPassword})
}

func statefulSet(ds *dittov1alpha1.DittoServer) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: ds.Name, Namespace: ds.Namespace,
		Labels: resources.Labels(ds, resources.ComponentServer)}}
}

func passwordSecret(name, password string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace},
		Data: map[string][]byte{"password": []byte(password)}}
}

func dittoUser(name string, mutate ...func(*dittov1alpha1.DittoUser)) *dittov1alpha1.DittoUser {
	u := &dittov1alpha1.DittoUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: types.UID("user-" + name), Generation: 1,
			CreationTimestamp: metav1.NewTime(t0)},
		Spec: dittov1alpha1.DittoUserSpec{
			ServerRef:         dittov1alpha1.ServerReference{Name: testServer},
			PasswordSecretRef: corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-password"}, Key: "password"},
		},
	}
	for _, m := range mutate {
		m(u)
	}
	return u
}

func dittoShare(name string, mutate ...func(*dittov1alpha1.DittoShare)) *dittov1alpha1.DittoShare {
	s := &dittov1alpha1.DittoShare{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: types.UID("share-" + name), Generation: 1,
			CreationTimestamp: metav1.NewTime(t0)},
		Spec: dittov1alpha1.DittoShareSpec{ServerRef: dittov1alpha1.ServerReference{Name: testServer}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func cacheKey() cache.ObjectName { return cache.ObjectName{Namespace: testNamespace, Name: testServer} }

// addIssuedTLS adds, for each DittoServer whose API certificate the
// operator issues, the Secret the DittoServer controller would have made
// before its pod started (unless the test brings its own).
func (f *fixture) addIssuedTLS(t *testing.T, objects []runtime.Object) {
	t.Helper()
	have := map[string]bool{}
	for _, obj := range objects {
		if s, ok := obj.(*corev1.Secret); ok {
			have[s.Namespace+"/"+s.Name] = true
		}
	}
	for _, obj := range objects {
		ds, ok := obj.(*dittov1alpha1.DittoServer)
		if !ok || !resources.TLSIssued(ds) || have[ds.Namespace+"/"+resources.IssuedTLSSecretName(ds)] {
			continue
		}
		f.add(issuedTLSSecret(t, ds))
	}
}

// issuedTLSSecret is the serving Secret the operator issues for ds.
func issuedTLSSecret(t *testing.T, ds *dittov1alpha1.DittoServer) *corev1.Secret {
	t.Helper()
	ca, err := resources.IssueCA(ds, t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := resources.IssueServingCert(ds, ca, t0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return resources.IssuedTLSSecret(ds, cert, ca, ca.CertPEM)
}
