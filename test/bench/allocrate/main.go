// Command allocrate measures how fast the API server creates Services with
// a cluster IP as more of them exist, against headless Services, on the
// local control plane the benchmark uses (its Service range, nothing else
// running): the pace an operator's first pass over a fleet meets when each
// server needs a cluster IP (docs/benchmarks.md).
//
//	go run ./test/bench/allocrate [--batches 20] [--batch 200] [--workers 16]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

func main() {
	batches := flag.Int("batches", 20, "batches of Services with a cluster IP")
	batch := flag.Int("batch", 200, "Services per batch")
	workers := flag.Int("workers", 16, "clients creating Services at once, as the operator's workers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *batches, *batch, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "allocrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, batches, size, workers int) error {
	cluster, err := localcluster.Start(ctx, localcluster.Options{ServiceCIDR: "10.0.0.0/16", NumPVs: -1})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "allocrate: stop control plane:", err)
		}
	}()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 1000
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	c := creator{kube: kube, workers: workers}
	fmt.Printf("%-26s %14s %10s %14s\n", "Services", "cluster IPs", "per second", "ms per create")
	row := func(label string, headless bool) error {
		before := c.clusterIPs
		d, err := c.create(ctx, size, headless)
		if err != nil {
			return err
		}
		fmt.Printf("%-26s %6d → %-5d %10.1f %14.2f\n", label, before, c.clusterIPs,
			float64(size)/d.Seconds(), d.Seconds()*1000/float64(size))
		return nil
	}
	if err := row("headless", true); err != nil {
		return err
	}
	for i := 0; i < batches; i++ {
		if err := row("with a cluster IP", false); err != nil {
			return err
		}
	}
	return row("headless", true)
}

// creator creates Services in the default namespace, workers at a time.
type creator struct {
	kube       kubernetes.Interface
	workers    int
	seq        int
	clusterIPs int
}

func (c *creator) create(ctx context.Context, n int, headless bool) (time.Duration, error) {
	names := make(chan string)
	errs := make(chan error, c.workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.ServiceSpec{
						Selector: map[string]string{"app": name},
						Ports:    []corev1.ServicePort{{Name: "nfs", Port: 2049}},
					},
				}
				if headless {
					svc.Spec.ClusterIP = corev1.ClusterIPNone
				}
				if _, err := c.kube.CoreV1().Services(metav1.NamespaceDefault).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create Service %s: %w", name, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for range n {
		c.seq++
		select {
		case names <- fmt.Sprintf("s%d", c.seq):
		case err = <-errs:
			break feed
		}
	}
	close(names)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err == nil && !headless {
		c.clusterIPs += n
	}
	return time.Since(start), err
}
