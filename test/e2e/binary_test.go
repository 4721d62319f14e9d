package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/test/operator"
)

// The binary as a Deployment runs it, as the install's ServiceAccount: two
// replicas elect a leader on a Lease in the install's namespace;
// both sync their caches and answer /healthz, /readyz and /metrics; SIGTERM
// makes the leader drain, release the Lease and exit 0, and the standby takes
// over at once instead of waiting for the Lease to expire.
func TestBinaryLeaderElectionAndShutdown(t *testing.T) {
	ns := newNamespace(t, nil)
	// The Lease lives where the install's RBAC lets the operator keep one,
	// under the one name it grants get and update on (resourceNames).
	leaseName := "dittofs-operator"
	start := func() *operator.Process {
		t.Helper()
		p, err := operator.Start(t.Context(), operator.Options{
			Binary:     env.binary,
			Kubeconfig: env.operatorKubeconfig,
			// Watching only this empty namespace keeps these replicas out of
			// the other tests' DittoServers.
			Args: []string{"--leader-elect=true", "--namespace=" + ns.name,
				"--leader-election-namespace=" + installNamespace, "--leader-election-id=" + leaseName},
		})
		if err != nil {
			t.Fatalf("start operator: %v", err)
		}
		t.Cleanup(func() { p.Stop(10 * time.Second) })
		return p
	}
	a, b := start(), start()

	for name, p := range map[string]*operator.Process{"first": a, "second": b} {
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body, err := p.Get(path); err != nil || code != 200 {
				t.Errorf("%s replica %s: %d %q %v", name, path, code, body, err)
			}
		}
		_, body, err := p.Get("/metrics")
		if err != nil {
			t.Fatalf("%s replica /metrics: %v", name, err)
		}
		for _, family := range []string{`workqueue_depth{name="dittoservers"}`, `controller_runtime_reconcile_total{controller="dittoservers",result="success"}`,
			"rest_client_requests_total", "go_goroutines", "process_resident_memory_bytes"} {
			if !strings.Contains(body, family) {
				t.Errorf("%s replica /metrics lacks %s", name, family)
			}
		}
	}

	leading := func(p *operator.Process) bool { return strings.Contains(p.Logs(), "Became leader") }
	var leader, standby *operator.Process
	eventually(t, 30*time.Second, "one replica to lead", func() (bool, string) {
		switch {
		case leading(a) && leading(b):
			t.Fatal("both replicas lead")
		case leading(a):
			leader, standby = a, b
		case leading(b):
			leader, standby = b, a
		}
		return leader != nil, "no replica has logged Became leader"
	})
	lease, err := env.kube.CoordinationV1().Leases(installNamespace).Get(t.Context(), leaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("Lease %s/%s has no holder: %v %+v", installNamespace, leaseName, err, lease)
	}
	t.Cleanup(func() {
		_ = env.kube.CoordinationV1().Leases(installNamespace).Delete(context.Background(), leaseName, metav1.DeleteOptions{})
	})
	// The leader says so in client-go's leader election gauge; the standby,
	// which never led, has no such series.
	if v, err := leader.Metric("leader_election_master_status", `name="`+leaseName+`"`); err != nil || v != 1 {
		t.Errorf("leader's leader_election_master_status = %v (%v), want 1", v, err)
	}
	if v, err := standby.Metric("leader_election_master_status", `name="`+leaseName+`"`); err != nil || v != 0 {
		t.Errorf("standby's leader_election_master_status = %v (%v), want 0", v, err)
	}

	stopped := time.Now()
	if code := leader.Stop(30 * time.Second); code != 0 {
		t.Fatalf("leader exited with %d on SIGTERM; log:\n%s", code, leader.Logs())
	}
	if !strings.Contains(leader.Logs(), "Released leadership") {
		t.Errorf("leader did not release the Lease; log:\n%s", leader.Logs())
	}
	// The Lease lasts 15 s; a takeover well before that shows it was released.
	eventually(t, 12*time.Second, "the standby to take over", func() (bool, string) {
		return leading(standby), "standby has not logged Became leader"
	})
	t.Logf("standby took over %s after SIGTERM to the leader", time.Since(stopped).Round(100*time.Millisecond))
	if code, _, err := standby.Get("/readyz"); err != nil || code != 200 {
		t.Errorf("new leader /readyz: %d %v", code, err)
	}
	if code := standby.Stop(30 * time.Second); code != 0 {
		t.Errorf("new leader exited with %d on SIGTERM", code)
	}
}
