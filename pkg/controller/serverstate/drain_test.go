package serverstate

// The shutdown drain of the server state controller: a pass in flight when
// the operator is told to stop finishes its writes (kit.RunWorkers, shared
// with the DittoServer controller, whose test covers the bounded drain).

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// blockingKube is the fake clientset with a Secret create that waits for
// release and then, like a real client's request, fails at once if its
// context is cancelled (the fake clientset itself ignores contexts).
type blockingKube struct {
	kubernetes.Interface
	reached, release chan struct{}
	once             *sync.Once
	result           chan error
}

func (k blockingKube) CoreV1() typedcorev1.CoreV1Interface {
	return blockingCore{k.Interface.CoreV1(), k}
}

type blockingCore struct {
	typedcorev1.CoreV1Interface
	k blockingKube
}

func (c blockingCore) Secrets(namespace string) typedcorev1.SecretInterface {
	return blockingSecrets{c.CoreV1Interface.Secrets(namespace), c.k}
}

type blockingSecrets struct {
	typedcorev1.SecretInterface
	k blockingKube
}

func (s blockingSecrets) Create(ctx context.Context, secret *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error) {
	s.k.once.Do(func() { close(s.k.reached) })
	<-s.k.release
	out, err := func() (*corev1.Secret, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return s.SecretInterface.Create(ctx, secret, opts)
	}()
	s.k.result <- err
	return out, err
}

// A first pass stopped by the signal while it creates the operator's
// Secret goes on: the Secret is created and the pass ends with the share
// Ready on the server.
func TestInFlightPassWritesAfterStopSignal(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	k := blockingKube{Interface: f.kubeCS, reached: make(chan struct{}), release: make(chan struct{}),
		once: &sync.Once{}, result: make(chan error, 10)}
	f.c.kube = k
	f.c.synced = nil // the fixture fills the caches itself
	f.c.queue.Add(cacheKey())
	ctx, stop := context.WithCancel(f.ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- f.c.Run(ctx, 1, time.Minute) }()
	select {
	case <-k.reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the pass never reached the operator Secret's create")
	}

	stop() // SIGTERM
	close(k.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the in-flight pass ended")
	}
	if err := <-k.result; err != nil {
		t.Fatalf("the operator Secret's create after the stop signal returned %v, want success", err)
	}
	if _, err := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, OperatorSecretName(f.server()), metav1.GetOptions{}); err != nil {
		t.Errorf("the operator Secret written after the stop signal: %v", err)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("share Ready after the drained pass = %+v, want True", c)
	}
}
