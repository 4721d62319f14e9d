package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

const (
	// benchNamespace holds the DittoServers.
	benchNamespace = "bench"
	// unrelatedNamespace holds the ConfigMaps and Secrets the operator must
	// not pay for.
	unrelatedNamespace = "unrelated"
	// benchUserAgent marks the benchmark's own requests in the audit log.
	benchUserAgent = "dittofs-bench"
	// operatorUserAgent is the prefix of every request the operator makes.
	operatorUserAgent = "dittofs-operator/"
	// pvcsPerServer is the number of static PersistentVolumes made per
	// DittoServer: a minimal one claims two (metadata, content), servers of
	// the legacy layout three (metadata, cache, controlplane), so that an
	// operator build from before the two-volume layout runs on the same harness.
	pvcsPerServer = 3
)

// env is the running cluster, the operator and the benchmark's clients.
type env struct {
	cluster  *localcluster.Cluster
	op       *operator.Process
	opLog    *os.File
	kube     kubernetes.Interface
	ditto    clientset.Interface
	audit    *auditTail
	opArgs   []string
	keepWork bool
}

// setUp starts the control plane with enough PVs, installs the CRDs, creates
// the namespaces and starts the operator. On error the returned env (if any)
// still needs tearDown.
func setUp(ctx context.Context, cfg config, bin string) (*env, error) {
	t := time.Now()
	logf("starting the control plane (%d PVs, fast pods: %v)", cfg.n*pvcsPerServer+10, cfg.fastPods)
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		ServiceCIDR: "10.0.0.0/16",
		NumPVs:      cfg.n*pvcsPerServer + 10,
		FastPods:    cfg.fastPods,
		KeepWorkDir: cfg.keepWorkDir,
	})
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	e := &env{cluster: cluster, keepWork: cfg.keepWorkDir}
	logf("control plane ready in %s (work dir %s)", time.Since(t).Round(time.Millisecond), cluster.WorkDir)

	// The benchmark's client is not rate-limited in practice: creating the
	// DittoServers "as fast as the client allows" should not be the bottleneck.
	rc := cluster.RESTConfig()
	rc.UserAgent = benchUserAgent
	rc.QPS, rc.Burst = 2000, 4000
	if e.kube, err = kubernetes.NewForConfig(rc); err != nil {
		return e, err
	}
	if e.ditto, err = clientset.NewForConfig(rc); err != nil {
		return e, err
	}

	applier, err := operator.NewApplier(cluster.RESTConfig())
	if err != nil {
		return e, err
	}
	if _, err := applier.InstallCRDs(ctx, "artifacts/crds", "hack/crds/perconapgcluster-minimal.yaml"); err != nil {
		return e, fmt.Errorf("install CRDs: %w", err)
	}
	for _, ns := range []string{benchNamespace, unrelatedNamespace} {
		_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return e, fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	if err := waitServiceAccount(ctx, e.kube, benchNamespace); err != nil {
		return e, err
	}

	// The audit tail starts at the current end of the log: only what happens
	// from here on is read (and the operator has not started yet).
	if e.audit, err = newAuditTail(cluster.AuditLogPath, operatorUserAgent); err != nil {
		return e, err
	}
	if e.opLog, err = os.Create(filepath.Join(cluster.LogDir, "dittofs-operator.log")); err != nil {
		return e, err
	}
	e.opArgs = cfg.operatorArgs
	logf("starting the operator: %s %v", bin, e.opArgs)
	e.op, err = operator.Start(ctx, operator.Options{
		Binary: bin, Kubeconfig: cluster.Kubeconfig, Args: e.opArgs, Log: e.opLog,
	})
	if err != nil {
		return e, fmt.Errorf("start operator: %w", err)
	}
	logf("operator ready (PID %d)", e.op.PID)
	return e, nil
}

// waitServiceAccount waits for the namespace's default ServiceAccount: the
// StatefulSet controller cannot create pods before it exists.
func waitServiceAccount(ctx context.Context, kube kubernetes.Interface, ns string) error {
	for {
		if _, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ServiceAccount %s/default: %w", ns, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tearDown stops the operator and the control plane by PID and removes the
// work directory (unless kept).
func (e *env) tearDown() {
	if e.op != nil {
		logf("stopping the operator (PID %d)", e.op.PID)
		e.op.Stop(30 * time.Second)
	}
	if e.opLog != nil {
		_ = e.opLog.Close()
	}
	if e.audit != nil {
		e.audit.close()
	}
	logf("stopping the control plane (PIDs %v)", e.cluster.PIDs())
	if err := e.cluster.Stop(); err != nil {
		logf("stop control plane: %v", err)
	}
	if e.keepWork {
		logf("work directory kept: %s", e.cluster.WorkDir)
	}
}
