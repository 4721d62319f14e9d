package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
)

// createWorkers is how many create requests are in flight at once: enough to
// keep the apiserver busy, few enough not to queue in its priority levels.
const createWorkers = 32

// serverName is the name of the i-th DittoServer.
func serverName(i int) string { return fmt.Sprintf("ds-%03d", i) }

// minimalServer is the smallest DittoServer (artifacts/examples/minimal.yaml):
// SQLite, generated Secrets, three volumes.
func minimalServer(name string) *dittov1alpha1.DittoServer {
	return &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace},
		Spec: dittov1alpha1.DittoServerSpec{
			Storage: dittov1alpha1.StorageSpec{MetadataSize: resource.MustParse("10Gi")},
		},
	}
}

// parallel runs fn(0..n-1) on createWorkers goroutines and returns the first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(createWorkers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// warmUp sends one dry-run create of a DittoServer: the apiserver's first
// request to a freshly installed CRD pays a one-time setup (here about 2 s)
// that is not the operator's and would otherwise be counted as convergence
// time. A dry run is invisible to watches, so the operator sees nothing.
func warmUp(ctx context.Context, ditto clientset.Interface) error {
	_, err := ditto.DittofsV1alpha1().DittoServers(benchNamespace).Create(ctx, minimalServer("warm-up"),
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return fmt.Errorf("dry-run create: %w", err)
	}
	return nil
}

// createServers creates n minimal DittoServers in the bench namespace.
func createServers(ctx context.Context, ditto clientset.Interface, n int) error {
	client := ditto.DittofsV1alpha1().DittoServers(benchNamespace)
	return parallel(ctx, n, func(ctx context.Context, i int) error {
		if _, err := client.Create(ctx, minimalServer(serverName(i)), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create DittoServer %s: %w", serverName(i), err)
		}
		return nil
	})
}

// createUnrelated creates n ConfigMaps and n Secrets of size bytes each in the
// unrelated namespace: objects the operator has no reason to cache.
func createUnrelated(ctx context.Context, kube kubernetes.Interface, n, size int) error {
	value := strings.Repeat("x", size)
	cms := kube.CoreV1().ConfigMaps(unrelatedNamespace)
	secrets := kube.CoreV1().Secrets(unrelatedNamespace)
	return parallel(ctx, 2*n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("unrelated-%04d", i/2)
		meta := metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "unrelated"}}
		var err error
		if i%2 == 0 {
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"data": value}}, metav1.CreateOptions{})
		} else {
			_, err = secrets.Create(ctx, &corev1.Secret{ObjectMeta: meta, StringData: map[string]string{"data": value}}, metav1.CreateOptions{})
		}
		if err != nil {
			return fmt.Errorf("create unrelated object %s: %w", name, err)
		}
		return nil
	})
}
