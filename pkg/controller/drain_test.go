package controller

// The shutdown drain: a sync in flight when the operator is told to stop
// finishes its writes; no new sync starts; and the drain ends when
// --shutdown-drain-timeout runs out.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// blockingKube is the fake clientset with a ConfigMap create that blocks
// until release is closed and then, like a real client's request, fails at
// once if its context is cancelled. The fake clientset itself ignores
// contexts, so without this a write on a cancelled context would pass.
type blockingKube struct {
	kubernetes.Interface
	gate *createGate
}

type createGate struct {
	reached chan struct{} // closed when the first create arrives
	release chan struct{} // closed by the test to let creates proceed
	once    sync.Once
	mu      sync.Mutex
	errs    []error // what each create returned
}

func newCreateGate() *createGate {
	return &createGate{reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *createGate) results() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.errs...)
}

func (k blockingKube) CoreV1() typedcorev1.CoreV1Interface {
	return blockingCore{CoreV1Interface: k.Interface.CoreV1(), gate: k.gate}
}

type blockingCore struct {
	typedcorev1.CoreV1Interface
	gate *createGate
}

func (c blockingCore) ConfigMaps(namespace string) typedcorev1.ConfigMapInterface {
	return blockingConfigMaps{ConfigMapInterface: c.CoreV1Interface.ConfigMaps(namespace), gate: c.gate}
}

type blockingConfigMaps struct {
	typedcorev1.ConfigMapInterface
	gate *createGate
}

func (c blockingConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap, opts metav1.CreateOptions) (*corev1.ConfigMap, error) {
	c.gate.once.Do(func() { close(c.gate.reached) })
	<-c.gate.release
	out, err := func() (*corev1.ConfigMap, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return c.ConfigMapInterface.Create(ctx, cm, opts)
	}()
	c.gate.mu.Lock()
	c.gate.errs = append(c.gate.errs, err)
	c.gate.mu.Unlock()
	return out, err
}

// runFixture runs the controller as main does, on a fixture whose caches
// count as synced (the fixture fills them itself), with the ConfigMap
// create held by a gate. Run's result arrives on the returned channel.
func runFixture(t *testing.T, ctx context.Context, f *fixture, drainTimeout time.Duration) (*createGate, <-chan error) {
	t.Helper()
	gate := newCreateGate()
	f.c.kube = blockingKube{Interface: f.kubeClient, gate: gate}
	f.c.synced = nil
	done := make(chan error, 1)
	go func() { done <- f.c.Run(ctx, 1, drainTimeout) }()
	select {
	case <-gate.reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync never reached its ConfigMap create")
	}
	return gate, done
}

// A sync in flight when the stop signal arrives keeps a live context: the
// write it makes after the signal reaches the API server, and the sync runs
// to its end (the StatefulSet, the last child of a pass, is created). A
// DittoServer still queued when the signal arrives is not synced.
func TestInFlightSyncWritesAfterStopSignal(t *testing.T) {
	other := newDittoServer(withFinalizer)
	other.Name, other.UID = "other", "other-uid"
	f := newFixture(t, false, newDittoServer(withFinalizer), other)
	f.c.queue.Add(cache.ObjectName{Namespace: testNamespace, Name: testName})
	ctx, stop := context.WithCancel(f.ctx)
	defer stop()
	gate, done := runFixture(t, ctx, f, time.Minute)
	f.c.queue.Add(cache.ObjectName{Namespace: testNamespace, Name: other.Name})

	stop() // SIGTERM, while the sync waits for its ConfigMap create
	close(gate.release)

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the in-flight sync ended")
	}
	if errs := gate.results(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("ConfigMap creates after the stop signal returned %v, want one that succeeded", errs)
	}
	if !f.exists(f.kube, gvrConfigMaps, "nas-config") {
		t.Error("the ConfigMap written after the stop signal is not in the cluster")
	}
	if !f.exists(f.kube, gvrStatefulSets, testName) {
		t.Error("the in-flight sync did not run to its end: no StatefulSet")
	}
	if f.exists(f.kube, gvrStatefulSets, other.Name) || f.exists(f.kube, gvrSecrets, other.Name+"-generated") {
		t.Error("a DittoServer queued when the stop signal arrived was synced")
	}
	var ds *dittov1alpha1.DittoServer
	if ds = f.dittoServer(); ds.Status.ObservedGeneration != ds.Generation {
		t.Errorf("status observedGeneration = %d after the drained sync, want %d", ds.Status.ObservedGeneration, ds.Generation)
	}
}

// The drain is bounded: a sync that does not finish within the drain
// timeout has its context cancelled, Run returns, and the write it was
// about to make fails instead of reaching the API server.
func TestDrainEndsAtTimeout(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.c.queue.Add(cache.ObjectName{Namespace: testNamespace, Name: testName})
	ctx, stop := context.WithCancel(f.ctx)
	defer stop()
	const drainTimeout = 200 * time.Millisecond
	gate, done := runFixture(t, ctx, f, drainTimeout)

	stop()
	start := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain timeout")
	}
	if took := time.Since(start); took < drainTimeout {
		t.Errorf("Run returned %v after the stop signal, before the drain timeout %v", took, drainTimeout)
	}

	close(gate.release) // the stuck create goes on, past the timeout
	deadline := time.Now().Add(10 * time.Second)
	for len(gate.results()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if errs := gate.results(); len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("ConfigMap create after the drain timeout returned %v, want context.Canceled", errs)
	}
	if f.exists(f.kube, gvrConfigMaps, "nas-config") {
		t.Error("a write made after the drain timeout reached the cluster")
	}
}
