package contract

// The operator under test: the real controller, built on fake clientsets
// exactly as cmd/dittofs-operator/wiring.go builds it on real ones (the same
// informer factories, label filter, metadata-only Secret informer with its
// transform, CRD metadata watch for Percona), and run with Controller.Run
// until it has written the StatefulSet and the ConfigMap. The fakes behave
// like one API server where the controller depends on it (fakeapi: every
// write stamps a new resourceVersion, creates assign a UID, a stale
// resourceVersion is a Conflict), and Secrets written through the typed
// clientset also appear in the metadata clientset, which a real server
// serves from the same store.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	"github.com/dittofs/dittofs-operator/test/harness/fakeapi"
)

var (
	gvrSecrets = corev1.SchemeGroupVersion.WithResource("secrets")
	gvrCRDs    = caches.CRDGVR
)

// rendered is the operator's output for one DittoServer, as the kubelet
// would read it from the cluster.
type rendered struct {
	ds          *dittov1alpha1.DittoServer
	statefulSet *appsv1.StatefulSet
	configMaps  map[string]map[string]string // every ConfigMap of the namespace, by name
	secrets     map[string]map[string][]byte // every Secret of the namespace, by name
	// configMapObjects are the ConfigMaps whole; perconaClusters the
	// PerconaPGClusters of the namespace.
	configMapObjects []corev1.ConfigMap
	perconaClusters  []unstructured.Unstructured
}

// perconaUser plays the Percona operator: given the PerconaPGCluster the
// operator created, it returns the user Secret Percona would write.
type perconaUser func(cluster *unstructured.Unstructured) *corev1.Secret

// runOperator loads ds and objects into a fake cluster, runs the controller
// until the StatefulSet exists and the operator has stopped writing, and
// returns what it rendered. With percona, the PerconaPGCluster CRD is
// installed; the cluster the operator creates is marked ready and its user
// Secret created, as the Percona operator would.
func runOperator(t *testing.T, ds *dittov1alpha1.DittoServer, objects []runtime.Object, percona perconaUser) *rendered {
	t.Helper()
	c := newFakeCluster(t)
	ds = ds.DeepCopy()
	ds.UID = types.UID("uid-" + ds.Name)
	if err := c.dittoTracker.Add(ds); err != nil {
		t.Fatal(err)
	}
	for _, obj := range objects {
		if err := c.kubeTracker.Create(gvrOf(t, obj), obj, namespaceOf(obj)); err != nil {
			t.Fatalf("load %T: %v", obj, err)
		}
	}
	if percona != nil {
		crd := &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
			ObjectMeta: metav1.ObjectMeta{Name: resources.PerconaCRDName, UID: "uid-percona-crd", ResourceVersion: fakeapi.NextResourceVersion()},
		}
		if err := c.meta.Tracker().Create(gvrCRDs, crd, ""); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	stopped := c.startOperator(t, ctx)
	defer func() { cancel(); <-stopped }()

	ctx2, cancelWait := context.WithTimeout(ctx, 60*time.Second)
	defer cancelWait()
	sts, err := c.waitConverged(ctx2, ds, percona)
	if err != nil {
		cur, _ := c.ditto.DittofsV1alpha1().DittoServers(ds.Namespace).Get(context.Background(), ds.Name, metav1.GetOptions{})
		t.Fatalf("the operator did not render %s/%s: %v\nstatus: %+v", ds.Namespace, ds.Name, err, cur.Status)
	}
	out := &rendered{ds: ds, statefulSet: sts, configMaps: map[string]map[string]string{}, secrets: map[string]map[string][]byte{}}
	cms, err := c.kube.CoreV1().ConfigMaps(ds.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		out.configMaps[cm.Name] = cm.Data
	}
	out.configMapObjects = cms.Items
	clusters, err := c.dyn.Resource(resources.PerconaGVR).Namespace(ds.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out.perconaClusters = clusters.Items
	secrets, err := c.kube.CoreV1().Secrets(ds.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		out.secrets[s.Name] = s.Data
	}
	return out
}

// fakeCluster is the set of fake clientsets the operator is built on.
type fakeCluster struct {
	kube         *kubefake.Clientset
	kubeTracker  fakeapi.Tracker
	ditto        *dittofake.Clientset
	dittoTracker fakeapi.Tracker
	dyn          *dynamicfake.FakeDynamicClient
	meta         *metadatafake.FakeMetadataClient
}

func newFakeCluster(t *testing.T) *fakeCluster {
	c := &fakeCluster{
		kube:  kubefake.NewClientset(),
		ditto: dittofake.NewClientset(),
		dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
			map[schema.GroupVersionResource]string{resources.PerconaGVR: resources.PerconaKind + "List",
				resources.ServiceMonitorGVR: resources.ServiceMonitorKind + "List"}),
		meta: metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()),
	}
	c.kubeTracker = fakeapi.NewTracker(c.kube.Tracker())
	c.kubeTracker.AfterWrite = c.mirrorSecret(t)
	c.dittoTracker = fakeapi.NewTracker(c.ditto.Tracker())
	fakeapi.ServeFrom(&c.kube.Fake, c.kubeTracker)
	fakeapi.ServeFrom(&c.ditto.Fake, c.dittoTracker)
	fakeapi.ServeFrom(&c.dyn.Fake, fakeapi.NewTracker(c.dyn.Tracker()))
	return c
}

// startOperator builds the informers and the controller as wiring.go does
// (all namespaces, the default resync) and runs it; the returned channel is
// closed when Run has returned after ctx is cancelled.
func (c *fakeCluster) startOperator(t *testing.T, ctx context.Context) <-chan struct{} {
	t.Helper()
	const resync = 10 * time.Minute
	namespace := metav1.NamespaceAll
	inf, startInformers, err := caches.New(c.kube, c.ditto, c.meta, namespace, resync)
	if err != nil {
		t.Fatal(err)
	}
	ctrl, err := controller.New(ctx, c.kube, c.ditto, c.dyn, inf, controller.Options{
		Namespace: namespace, ResyncPeriod: resync, Metrics: controller.NewMetrics(prometheus.NewRegistry()),
	})
	if err != nil {
		t.Fatalf("controller.New: %v", err)
	}
	startInformers(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ctrl.Run(ctx, 2, 5*time.Second); err != nil && ctx.Err() == nil {
			t.Errorf("Controller.Run: %v", err)
		}
	}()
	return done
}

// waitConverged waits until the StatefulSet exists and nothing the operator
// writes (StatefulSet, ConfigMap, Secrets) changed for a quiet second. For
// Percona it meanwhile marks the cluster ready and creates its user Secret.
func (c *fakeCluster) waitConverged(ctx context.Context, ds *dittov1alpha1.DittoServer, percona perconaUser) (*appsv1.StatefulSet, error) {
	const quiet = time.Second
	var last string
	var since time.Time
	for {
		if percona != nil {
			if err := c.playPercona(ctx, ds.Namespace, percona); err != nil {
				return nil, err
			}
		}
		sts, err := c.kube.AppsV1().StatefulSets(ds.Namespace).Get(ctx, resources.StatefulSetName(ds), metav1.GetOptions{})
		if err == nil {
			state, err := c.versions(ds.Namespace)
			if err != nil {
				return nil, err
			}
			if state += "," + sts.ResourceVersion; state != last {
				last, since = state, time.Now()
			} else if time.Since(since) >= quiet {
				return sts, nil
			}
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no converged StatefulSet %s: %w", resources.StatefulSetName(ds), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// versions names the ConfigMaps and Secrets of ns with their
// resourceVersions: it changes with every write to them.
func (c *fakeCluster) versions(ns string) (string, error) {
	var state []string
	for _, kind := range []string{"ConfigMap", "Secret"} {
		gvk := corev1.SchemeGroupVersion.WithKind(kind)
		gvr, _ := meta.UnsafeGuessKindToResource(gvk)
		list, err := c.kubeTracker.List(gvr, gvk, ns)
		if err != nil {
			return "", fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		objs, err := meta.ExtractList(list)
		if err != nil {
			return "", err
		}
		for _, o := range objs {
			m, err := meta.Accessor(o)
			if err != nil {
				return "", err
			}
			state = append(state, kind+"/"+m.GetName()+"="+m.GetResourceVersion())
		}
	}
	sort.Strings(state) // the tracker lists in no particular order
	return strings.Join(state, ","), nil
}

// playPercona does what the Percona operator does for each PerconaPGCluster
// that is not ready yet: it creates the user Secret and sets status.state to
// ready.
func (c *fakeCluster) playPercona(ctx context.Context, ns string, user perconaUser) error {
	list, err := c.dyn.Resource(resources.PerconaGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		cluster := &list.Items[i]
		if state, _, _ := unstructured.NestedString(cluster.Object, "status", "state"); state == "ready" {
			continue
		}
		// The database gate: no server before its database is ready.
		if sts, err := c.kube.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{}); err != nil || len(sts.Items) > 0 {
			return fmt.Errorf("a StatefulSet exists before PerconaPGCluster %s is ready (%v)", cluster.GetName(), err)
		}
		secret := user(cluster)
		if _, err := c.kube.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create the Percona user Secret: %w", err)
		}
		if err := unstructured.SetNestedField(cluster.Object, "ready", "status", "state"); err != nil {
			return err
		}
		if _, err := c.dyn.Resource(resources.PerconaGVR).Namespace(ns).UpdateStatus(ctx, cluster, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("mark PerconaPGCluster %s ready: %w", cluster.GetName(), err)
		}
	}
	return nil
}

// mirrorSecret returns the hook that copies every Secret write of the typed
// clientset into the metadata clientset.
func (c *fakeCluster) mirrorSecret(t *testing.T) func(verb string, gvr schema.GroupVersionResource, obj runtime.Object, ns, name string) {
	return func(verb string, gvr schema.GroupVersionResource, obj runtime.Object, ns, name string) {
		if gvr != gvrSecrets {
			return
		}
		tracker := c.meta.Tracker()
		var err error
		switch verb {
		case "delete":
			err = tracker.Delete(gvr, ns, name)
		default:
			s, ok := obj.(*corev1.Secret)
			if !ok {
				err = fmt.Errorf("unexpected %T", obj)
				break
			}
			m := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: *s.ObjectMeta.DeepCopy()}
			if err = tracker.Create(gvr, m, ns); apierrors.IsAlreadyExists(err) {
				err = tracker.Update(gvr, m, ns)
			}
		}
		if err != nil {
			t.Errorf("mirror Secret %s %s/%s into the metadata clientset: %v", verb, ns, name, err)
		}
	}
}

func gvrOf(t *testing.T, obj runtime.Object) schema.GroupVersionResource {
	switch obj.(type) {
	case *corev1.Secret:
		return gvrSecrets
	case *storagev1.StorageClass:
		return storagev1.SchemeGroupVersion.WithResource("storageclasses")
	}
	t.Fatalf("no resource known for %T", obj)
	return schema.GroupVersionResource{}
}

func namespaceOf(obj runtime.Object) string {
	m, _ := meta.Accessor(obj)
	return m.GetNamespace()
}
