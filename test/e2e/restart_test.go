package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// No false alarms on an operator restart or a leader change. One DittoServer
// of every sample converges (the Percona one with its cluster ready); then
// the operator restarts — as a replica that elects a leader on a Lease — and
// then leadership moves to a standby replica. A new leader starts from empty
// caches and an empty memory, and syncs every DittoServer at once: each time
// it must find everything as it left it — no write to any object, status or
// event in the namespace (audit log), and in particular no PerconaNotReady or
// ReconcileFailed Warning. Its workers start only after every informer it
// reads, the Percona one included, has synced. The suite's operator (no
// leader election) is back when the test ends.
func TestRestartAndLeaderChangeAreQuiet(t *testing.T) {
	n := newNamespace(t, nil)
	names := n.convergeEverySample()
	n.settle()

	// Both replicas elect a leader on the Lease the install's RBAC grants
	// (by name, in its namespace); the test deletes it when it ends.
	electing := []string{"--leader-elect=true", "--leader-election-namespace=" + installNamespace,
		"--leader-election-id=dittofs-operator"}
	var standby *operator.Process
	t.Cleanup(func() {
		if standby != nil {
			standby.Stop(30 * time.Second)
		}
		// The suite's operator, as the other tests expect it.
		env.stopOperator()
		_ = env.kube.CoordinationV1().Leases(installNamespace).Delete(context.Background(), "dittofs-operator", metav1.DeleteOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := env.startOperator(ctx); err != nil {
			t.Errorf("restart the suite's operator: %v", err)
		}
	})

	// 1. Restart: stopped, started again (now electing); it leads at once.
	since := time.Now()
	if code := env.stopOperator(); code != 0 {
		t.Fatalf("operator exited with %d on SIGTERM, want 0", code)
	}
	if err := env.startOperator(t.Context(), electing...); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the restarted operator to lead", func() (bool, string) {
		return strings.Contains(env.operatorLogs(), "Became leader"), "no Became leader in its log"
	})
	n.assertQuietAfter("the restart", since, len(names), func(name string) float64 { return env.metric(t, name) })

	// 2. Leader change: a standby with the same flags waits on the Lease;
	// the leader stops and releases it; the standby takes over.
	standby = n.startStandby(electing)
	if strings.Contains(standby.Logs(), "Became leader") {
		t.Fatal("the standby leads while the restarted operator holds the Lease")
	}
	since = time.Now()
	if code := env.stopOperator(); code != 0 {
		t.Fatalf("leader exited with %d on SIGTERM, want 0", code)
	}
	eventually(t, 30*time.Second, "the standby to take over", func() (bool, string) {
		return strings.Contains(standby.Logs(), "Became leader"), "standby has not logged Became leader"
	})
	n.assertQuietAfter("the leader change", since, len(names), func(name string) float64 {
		v, err := standby.Metric(name)
		if err != nil {
			t.Fatalf("standby metric %s: %v", name, err)
		}
		return v
	})
	if code := standby.Stop(30 * time.Second); code != 0 {
		t.Errorf("new leader exited with %d on SIGTERM, want 0", code)
	}
	standby = nil
}

// settle waits until the operator has made no write in the namespace for a
// few seconds: the last status writes and events of convergence are behind.
func (n *testNS) settle() {
	n.t.Helper()
	eventually(n.t, waitShort, "the operator's writes in "+n.name+" to settle", func() (bool, string) {
		w := n.operatorWritesHere(time.Now().Add(-3 * time.Second))
		return len(w) == 0, auditSummary(w)
	})
}

// operatorWritesHere are the operator's writes in this namespace since then:
// objects, statuses and events, not the leader election's Lease.
func (n *testNS) operatorWritesHere(since time.Time) []localcluster.AuditEvent {
	n.t.Helper()
	return localcluster.FilterAudit(operatorWrites(n.t, since), func(e localcluster.AuditEvent) bool {
		return e.Namespace == n.name && e.Resource != "leases"
	})
}

// assertQuietAfter waits until the operator leading since then has synced
// every DittoServer twice (the first pass after its caches synced, and one
// resync), then checks that it wrote nothing in the namespace and that no
// Warning appeared there since. syncs reads the leader's metrics.
func (n *testNS) assertQuietAfter(what string, since time.Time, servers int, metric func(string) float64) {
	t := n.t
	t.Helper()
	eventually(t, waitShort, fmt.Sprintf("two syncs of each of the %d DittoServers after %s", servers, what), func() (bool, string) {
		syncs := metric("dittofs_operator_reconcile_total")
		return syncs >= float64(2*servers), fmt.Sprintf("%v syncs", syncs)
	})
	if w := n.operatorWritesHere(since); len(w) > 0 {
		t.Errorf("after %s the operator made %d writes for converged DittoServers:\n%s", what, len(w), auditSummary(w))
	}
	list, err := env.kube.CoreV1().Events(n.name).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []corev1.Event
	for _, ev := range list.Items {
		if ev.Type == corev1.EventTypeWarning && !eventTime(ev).Before(since) {
			warnings = append(warnings, ev)
		}
	}
	if len(warnings) > 0 {
		t.Errorf("Warnings after %s (%d PerconaNotReady, %d ReconcileFailed): %s", what,
			countEvents(warnings, controller.ReasonPerconaNotReady), countEvents(warnings, controller.ReasonReconcileFailed), eventSummary(warnings))
	}
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(ev corev1.Event) time.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}

// startStandby starts a second operator as the suite's runs (the install's
// ServiceAccount, the suite's flags) with args; it returns once its caches
// synced.
func (n *testNS) startStandby(args []string) *operator.Process {
	n.t.Helper()
	f, err := os.Create(filepath.Join(env.logDir, "operator-standby.log"))
	if err != nil {
		n.t.Fatal(err)
	}
	p, err := operator.Start(n.t.Context(), operator.Options{
		Binary: env.binary, Kubeconfig: env.operatorKubeconfig, Args: suiteOperatorArgs(args...), Log: f,
	})
	if err != nil {
		_ = f.Close()
		n.t.Fatalf("start the standby: %v", err)
	}
	go func() { <-p.Done(); _ = f.Close() }()
	return p
}
