package controller

// The event handlers map a change to the DittoServers it concerns, and only
// those; the worker requeues with backoff and forgets on success.

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/harness/promtest"
)

// queued drains the work queue and returns its keys, sorted.
func (f *fixture) queued() []string {
	var out []string
	for f.c.queue.Len() > 0 {
		key, _ := f.c.queue.Get()
		f.c.queue.Done(key)
		f.c.queue.Forget(key)
		out = append(out, key.String())
	}
	slices.Sort(out)
	return out
}

func expectQueued(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
		t.Errorf("queued %q, want %q", got, want)
	}
}

func named(name string, mods ...func(*dittov1alpha1.DittoServer)) *dittov1alpha1.DittoServer {
	return newDittoServer(append([]func(*dittov1alpha1.DittoServer){func(ds *dittov1alpha1.DittoServer) {
		ds.Name, ds.UID = name, types.UID(name+"-uid")
	}}, mods...)...)
}

func ownedBy(obj metav1.Object, apiVersion, kind, name string, uid types.UID) {
	obj.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}})
}

func TestChildEventEnqueuesItsOwner(t *testing.T) {
	dsAPI := dittov1alpha1.SchemeGroupVersion.String()
	sts := func(mod func(*appsv1.StatefulSet)) interface{} {
		s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: testName, Namespace: testNamespace, ResourceVersion: "5"}}
		mod(s)
		return s
	}
	for _, tc := range []struct {
		name string
		obj  interface{}
		want []string
	}{
		{"controlled by the DittoServer", sts(func(s *appsv1.StatefulSet) { ownedBy(s, dsAPI, "DittoServer", testName, testUID) }),
			[]string{"storage/nas"}},
		{"left by a deleted namesake", sts(func(s *appsv1.StatefulSet) { ownedBy(s, dsAPI, "DittoServer", testName, "old-uid") }), nil},
		{"controlled by another kind with the same name and UID", sts(func(s *appsv1.StatefulSet) {
			ownedBy(s, "apps/v1", "Deployment", testName, testUID)
		}), nil},
		{"owned but not controlled", sts(func(s *appsv1.StatefulSet) {
			s.OwnerReferences = []metav1.OwnerReference{{APIVersion: dsAPI, Kind: "DittoServer", Name: testName, UID: testUID}}
		}), nil},
		{"owner not in the cache", sts(func(s *appsv1.StatefulSet) { ownedBy(s, dsAPI, "DittoServer", "other", "other-uid") }), nil},
		{"orphan labelled for the DittoServer (adoptable)", sts(func(s *appsv1.StatefulSet) {
			s.Labels = resources.Labels(newDittoServer(), resources.ComponentServer)
		}), []string{"storage/nas"}},
		{"orphan labelled for a DittoServer not in the cache", sts(func(s *appsv1.StatefulSet) {
			s.Labels = resources.Labels(named("other"), resources.ComponentServer)
		}), nil},
		{"orphan without the operator's labels", sts(func(s *appsv1.StatefulSet) {
			s.Labels = map[string]string{resources.InstanceLabel: testName}
		}), nil},
		{"tombstone of a controlled child", cache.DeletedFinalStateUnknown{Key: "storage/nas",
			Obj: sts(func(s *appsv1.StatefulSet) { ownedBy(s, dsAPI, "DittoServer", testName, testUID) })}, []string{"storage/nas"}},
		{"tombstone of something else", cache.DeletedFinalStateUnknown{Key: "storage/x", Obj: "not an object"}, nil},
		{"PerconaPGCluster", perconaCluster(newDittoServer(withPercona(true)), "ready"), []string{"storage/nas"}},
		{"PerconaPGCluster kept for the DittoServer", perconaCluster(newDittoServer(withPercona(false)), "ready"), []string{"storage/nas"}},
		{"PerconaPGCluster kept for a DittoServer not in the cache", perconaCluster(newDittoServer(withPercona(false), func(ds *dittov1alpha1.DittoServer) {
			ds.Name = "gone"
		}), "ready"), nil},
		{"PerconaPGCluster someone else created", foreignPerconaCluster(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, newDittoServer())
			handle := f.c.handleOwnedObject
			if strings.HasPrefix(tc.name, "PerconaPGCluster") {
				handle = f.c.handlePerconaCluster
			}
			handle(tc.obj)
			expectQueued(t, f.queued(), tc.want...)
		})
	}
}

// An informer resync replays every object with its resourceVersion
// unchanged: no work. A real change is.
func TestChildUpdateWithoutChangeIsIgnored(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nas-file", Namespace: testNamespace, ResourceVersion: "7"}}
	ownedBy(old, dittov1alpha1.SchemeGroupVersion.String(), "DittoServer", testName, testUID)

	f.c.handleOwnedUpdate(old, old.DeepCopy())
	expectQueued(t, f.queued())

	changed := old.DeepCopy()
	changed.ResourceVersion = "8"
	f.c.handleOwnedUpdate(old, changed)
	expectQueued(t, f.queued(), "storage/nas")
}

// A Secret change wakes exactly the DittoServers that read it.
func TestSecretEventEnqueuesItsReaders(t *testing.T) {
	s3 := func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "shared"}}
	}
	admin := func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Identity = &dittov1alpha1.IdentitySpec{Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}, Key: "pw"}}}
	}
	elsewhere := named("far", withJWTSecret("shared", "k"))
	elsewhere.Namespace = "other"
	f := newFixture(t, false,
		named("a", withJWTSecret("shared", "k")), named("b", admin), named("c", s3),
		named("d", withJWTSecret("unrelated", "k")), named("e"), named("pg", withPercona(false)), elsewhere)
	secret := func(ns, name, rv string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}}
	}

	for _, tc := range []struct {
		name string
		fire func()
		want []string
	}{
		{"a shared Secret", func() { f.c.handleSecret(secret(testNamespace, "shared", "1")) }, []string{"storage/a", "storage/b", "storage/c"}},
		{"a generated Secret", func() { f.c.handleSecret(secret(testNamespace, "e-generated", "1")) }, []string{"storage/e"}},
		{"the Percona user Secret", func() { f.c.handleSecret(secret(testNamespace, "pg-postgres-pguser-dittofs", "1")) }, []string{"storage/pg"}},
		{"a Secret nobody reads", func() { f.c.handleSecret(secret(testNamespace, "nobody", "1")) }, nil},
		{"the same name in another namespace", func() { f.c.handleSecret(secret("other", "shared", "1")) }, []string{"other/far"}},
		{"a tombstone", func() {
			f.c.handleSecret(cache.DeletedFinalStateUnknown{Key: "storage/unrelated", Obj: secret(testNamespace, "unrelated", "1")})
		}, []string{"storage/d"}},
		{"a resync", func() {
			f.c.handleSecretUpdate(secret(testNamespace, "shared", "1"), secret(testNamespace, "shared", "1"))
		}, nil},
		{"an update", func() {
			f.c.handleSecretUpdate(secret(testNamespace, "shared", "1"), secret(testNamespace, "shared", "2"))
		},
			[]string{"storage/a", "storage/b", "storage/c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fire()
			expectQueued(t, f.queued(), tc.want...)
		})
	}
}

func TestStorageClassAndCRDEventsEnqueueTheirUsers(t *testing.T) {
	f := newFixture(t, false,
		named("fast", func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.StorageClassName = ptr.To("fast") }),
		named("default"),
		named("pg", withPercona(false), func(ds *dittov1alpha1.DittoServer) { ds.Spec.Percona.StorageClassName = ptr.To("db") }),
		named("was-pg", func(ds *dittov1alpha1.DittoServer) { ds.Status.PerconaClusterName = "was-pg-postgres" }))

	f.c.handleStorageClass(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}})
	expectQueued(t, f.queued(), "storage/fast")
	f.c.handleStorageClass(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "db"}})
	expectQueued(t, f.queued(), "storage/pg")
	f.c.handleStorageClass(cache.DeletedFinalStateUnknown{Key: "slow", Obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "slow"}}})
	expectQueued(t, f.queued())

	f.c.enqueuePerconaUsers()
	expectQueued(t, f.queued(), "storage/pg", "storage/was-pg")
}

func TestDittoServerEventsEnqueueIt(t *testing.T) {
	f := newFixture(t, false)
	f.c.enqueueDittoServer(newDittoServer())
	f.c.enqueueDittoServer(cache.DeletedFinalStateUnknown{Key: "storage/gone", Obj: named("gone")})
	expectQueued(t, f.queued(), "storage/gone", "storage/nas")
}

// The worker: waiting is requeued with backoff and logged quietly, a failure
// is requeued with backoff and logged as an error, success forgets the
// item's backoff.
func TestProcessNextWorkItem(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("user-jwt", "secret")))
	reg := prometheus.NewRegistry()
	f.c.metrics = NewMetrics(reg)
	var mu sync.Mutex
	var logs []string
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, prefix+" "+args)
	}, funcr.Options{Verbosity: 10})
	ctx := klog.NewContext(f.ctx, logger)
	key := cache.ObjectName{Namespace: testNamespace, Name: testName}
	logged := func(substr string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, substr) {
				return true
			}
		}
		return false
	}
	next := func() {
		t.Helper()
		done := make(chan bool)
		go func() { done <- kit.ProcessNext(ctx, nil, f.c.queue, f.c.processItem) }()
		select {
		case ok := <-done:
			if !ok {
				t.Fatal("ProcessNext reported a shut-down queue")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the item was not requeued")
		}
	}

	// Waiting for a Secret: requeued with backoff, no error logged.
	f.c.queue.Add(key)
	next()
	if n := f.c.queue.NumRequeues(key); n != 1 {
		t.Errorf("requeues after waiting = %d, want 1", n)
	}
	if logged(`"error"=`) || !logged("Waiting; requeued with backoff") {
		t.Errorf("waiting logged as %q", logs)
	}
	expectCounter(t, reg, f.c.metrics, "waiting", 1)

	// A failure: requeued with backoff, logged as an error.
	f.put(newSecret("user-jwt", map[string]string{"secret": strings.Repeat("j", 40)}))
	f.catchUp()
	f.kubeClient.PrependReactor("create", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("injected failure")
	})
	next() // the requeued item comes back after its backoff
	if n := f.c.queue.NumRequeues(key); n != 2 {
		t.Errorf("requeues after a failure = %d, want 2", n)
	}
	if !logged("Sync failed; requeued with backoff") {
		t.Errorf("the failure was not logged as an error: %q", logs)
	}
	expectCounter(t, reg, f.c.metrics, "error", 1)

	// Success forgets the backoff.
	f.kubeClient.ReactionChain = f.kubeClient.ReactionChain[1:]
	next()
	if n := f.c.queue.NumRequeues(key); n != 0 {
		t.Errorf("requeues after success = %d, want 0 (forgotten)", n)
	}
	expectCounter(t, reg, f.c.metrics, "success", 1)
	if f.c.queue.Len() != 0 {
		t.Errorf("queue length %d after success", f.c.queue.Len())
	}
}

// expectCounter checks a sync result in both namings: this operator's
// dittofs_operator_reconcile_total and controller-runtime's
// controller_runtime_reconcile_total, where waiting is a requeue.
func expectCounter(t *testing.T, reg *prometheus.Registry, m *Metrics, result string, want float64) {
	t.Helper()
	crResult := map[string]string{"waiting": "requeue"}[result]
	if crResult == "" {
		crResult = result
	}
	labels := map[string]string{"controller": ControllerName, "result": crResult}
	if got := promtest.Value(t, reg, "controller_runtime_reconcile_total", labels); got != want {
		t.Errorf("controller_runtime_reconcile_total%v = %v, want %v", labels, got, want)
	}
	var metric dto.Metric
	if err := m.syncs.WithLabelValues(result).Write(&metric); err != nil {
		t.Fatal(err)
	}
	if got := metric.GetCounter().GetValue(); got != want {
		t.Errorf("dittofs_operator_reconcile_total{result=%q} = %v, want %v", result, got, want)
	}
}

// A deleted Secret leaves nothing behind in the key cache.
func TestSecretDeleteForgetsKeys(t *testing.T) {
	c := &Controller{memory: memory{secretKeys: newSecretKeyCache()}}
	c.secretKeys.put("storage", "gone", secretInfo{resourceVersion: "7", lengths: map[string]int{"k": 40}})
	c.dsIndexer = cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{secretIndex: indexBySecret})
	c.handleSecretDelete(cache.DeletedFinalStateUnknown{Key: "storage/gone",
		Obj: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "gone"}}})
	if _, ok := c.secretKeys.get("storage", "gone", "7"); ok || len(c.secretKeys.m) != 0 {
		t.Errorf("key cache still holds the deleted Secret: %v", c.secretKeys.m)
	}
}
