package serverstate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// nightlyObjects is teamObjects with a daily snapshot policy on the share,
// spelt as the server does not echo it back (@daily, 720h).
func nightlyObjects() []runtime.Object {
	objs := teamObjects()
	for _, o := range objs {
		if s, ok := o.(*dittov1alpha1.DittoShare); ok {
			s.Spec.SnapshotPolicy = &dittov1alpha1.SnapshotPolicy{Interval: "@daily", KeepLast: 7, TTL: "720h", NamePrefix: "nightly"}
		}
	}
	return objs
}

func policyWrites(w []string) []string {
	var out []string
	for _, c := range w {
		if strings.Contains(c, "snapshot-policy") {
			out = append(out, c)
		}
	}
	return out
}

func TestSnapshotPolicyIsSetWithTheShareAndResyncsWriteNothing(t *testing.T) {
	f := newFixture(t, nightlyObjects()...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{`PUT snapshot-policy /projects every=24h0m0s keep=7 ttl=720h0m0s prefix="nightly" enabled=true`}
	if got := policyWrites(f.srv.writes()); !slices.Equal(got, want) {
		t.Errorf("policy writes of the first pass:\n got %v\nwant %v", got, want)
	}
	f.converge()
	if !f.share("projects").Status.SnapshotPolicyApplied {
		t.Errorf("status.snapshotPolicyApplied is false after the policy was set")
	}
	for i := range 2 {
		if err := f.sync(); err != nil {
			t.Fatalf("resync %d: %v", i, err)
		}
		if w := f.srv.writes(); len(w) != 0 {
			t.Errorf("resync %d: REST writes %v, want none", i, w)
		}
		if w := f.kubeWrites(); len(w) != 0 {
			t.Errorf("resync %d: Kubernetes writes %v, want none", i, w)
		}
	}
}

func TestSnapshotPolicyEditIsOnePutAndRemovalOneDelete(t *testing.T) {
	f := newFixture(t, nightlyObjects()...)
	f.converge()

	s := f.share("projects")
	s.Spec.SnapshotPolicy.Interval = "6h"
	s.Spec.SnapshotPolicy.Enabled = ptr.To(false)
	s.Generation++
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{`PUT snapshot-policy /projects every=6h0m0s keep=7 ttl=720h0m0s prefix="nightly" enabled=false`}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes after an edit:\n got %v\nwant %v", got, want)
	}
	f.converge()

	// Changed on the server by hand: the declared policy is restored.
	f.srv.policies["/projects"] = dfsapi.SnapshotPolicy{Interval: time.Minute, Enabled: true}
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes after drift:\n got %v\nwant %v", got, want)
	}
	f.converge()

	s = f.share("projects")
	s.Spec.SnapshotPolicy = nil
	s.Generation++
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"DELETE snapshot-policy /projects"}) {
		t.Errorf("REST writes after removal: %v, want one DELETE", got)
	}
	if _, ok := f.srv.policies["/projects"]; ok {
		t.Errorf("the policy is still on the server")
	}
	f.converge()
	if f.share("projects").Status.SnapshotPolicyApplied {
		t.Errorf("status.snapshotPolicyApplied still true after the policy was deleted")
	}
	// Quiet afterwards, and a policy set by hand on a share that declares
	// none is neither read nor removed.
	f.srv.policies["/projects"] = dfsapi.SnapshotPolicy{Interval: time.Hour, Enabled: true}
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := policyWrites(f.srv.calls); len(got) != 0 {
		t.Errorf("calls about the snapshot policy of a share that declares none: %v", got)
	}
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("REST writes after removal converged: %v", w)
	}
}

func TestSnapshotPolicyStaysAppliedWhileTheServerIsUnreachable(t *testing.T) {
	f := newFixture(t, nightlyObjects()...)
	f.converge()
	f.srv.down = errConnRefused
	_ = f.sync()
	f.srv.down = nil
	if !f.share("projects").Status.SnapshotPolicyApplied {
		t.Fatalf("a pass that never reached the share forgot the policy it had set")
	}
	s := f.share("projects")
	s.Spec.SnapshotPolicy = nil
	s.Generation++
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	// The session was lost with the server: the pass logs in again.
	if got := policyWrites(f.srv.writes()); !slices.Equal(got, []string{"DELETE snapshot-policy /projects"}) {
		t.Errorf("policy writes after removal: %v, want one DELETE", got)
	}
}
