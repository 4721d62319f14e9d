//go:build realdfs

// This test runs the real DittoFS server (hack/build-dfs.sh); `make test-dfs`
// runs it with -tags realdfs.

package serverstate

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// The controller against the real dfs v0.29.0, run as the operator's pod
// runs it: the first pass declares the operator's account, the stores, a
// group, a user, a share and its grants; a resync writes nothing; an edit
// with a quota the server reads back rounded costs one update; a share
// removed behind the operator's back comes back.
func TestRealServer(t *testing.T) {
	rs := startRealServer(t, nil, nil)
	rs.waitReady(t)
	ds, port, server := rs.ds, rs.port, rs.proc
	baseURL := fmt.Sprintf("http://127.0.0.1:%d", port)

	objs := nightlyObjects()
	objs[0] = ds
	f := newFixture(t, objs...)
	log := &dfs.RequestLog{}
	f.c.newAPI = func(u string, _ http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(log)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})

	if err := f.sync(); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	all := log.Take()
	writes := all.Writes()
	t.Logf("first pass: %d requests, %d writes: %v", len(all), len(writes), writes)
	for _, obj := range []struct {
		what  string
		conds []metav1.Condition
		typ   string
	}{
		{"share", f.share("projects").Status.Conditions, ConditionReady},
		{"user", f.user("alice").Status.Conditions, ConditionReady},
		{"StoresReady", f.server().Status.Conditions, ConditionStoresReady},
		{"SharesReady", f.server().Status.Conditions, ConditionSharesReady},
	} {
		if c := condition(obj.conds, obj.typ); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s: %+v\n%s", obj.what, c, server.Logs())
		}
	}

	for pass := 1; pass <= 2; pass++ {
		if err := f.sync(); err != nil {
			t.Fatalf("resync %d: %v", pass, err)
		}
		all := log.Take()
		writes := all.Writes()
		t.Logf("resync %d: %d requests: %v", pass, len(all), all)
		if len(writes) != 0 || len(f.kubeWrites()) != 0 {
			t.Errorf("resync %d: REST writes %v, Kubernetes writes %v; want none", pass, writes, f.kubeWrites())
		}
	}

	// The declared policy (@daily, 720h) is on the server, read back in the
	// server's own spelling, and the resyncs above wrote nothing for it.
	viewer := dfsapi.New(baseURL)
	if err := viewer.Login(context.Background(), adminUsername, fakeAdminPassword); err != nil {
		t.Fatal(err)
	}
	policy, err := viewer.GetSnapshotPolicy(context.Background(), "/projects")
	wantPolicy := dfsapi.SnapshotPolicy{Interval: 24 * time.Hour, KeepLast: 7, TTL: 720 * time.Hour, NamePrefix: "nightly", Enabled: true}
	if err != nil || policy == nil || *policy != wantPolicy {
		t.Errorf("snapshot policy on the server = %+v, %v; want %+v", policy, err, wantPolicy)
	}

	s := f.share("projects")
	s.Spec.ReadOnly, s.Spec.Quota = true, ptr.To(resource.MustParse("1G"))
	s.Generation++
	f.update(s, gvrDittoShares)
	_ = f.sync()
	if writes := log.Take().Writes(); !slices.Equal(writes, []string{"PUT /api/v1/shares/projects"}) {
		t.Errorf("edit: writes %v, want one share update", writes)
	}
	_ = f.sync()
	if writes := log.Take().Writes(); len(writes) != 0 {
		t.Errorf("after the edit: writes %v; a quota read back rounded must not look changed", writes)
	}

	admin := dfsapi.New(baseURL)
	if err := admin.Login(context.Background(), adminUsername, fakeAdminPassword); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteShare(context.Background(), "/projects"); err != nil {
		t.Fatal(err)
	}
	_ = f.sync()
	if writes := log.Take().Writes(); !slices.Contains(writes, "POST /api/v1/shares") {
		t.Errorf("a share removed behind the operator's back must come back: writes %v", writes)
	}
	shares, err := admin.ListShares(context.Background())
	if err != nil || len(shares) != 1 || !shares[0].ReadOnly {
		t.Errorf("shares on the server: %+v, %v", shares, err)
	}

	// The operator Secret is lost: a new password is generated, the
	// account's login is refused, the admin login resets it.
	if err := f.kubeCS.CoreV1().Secrets(testNamespace).Delete(context.Background(), OperatorSecretName(ds), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.c.sessions.forget(cacheKey())
	if err := f.sync(); err != nil {
		t.Fatalf("pass after the operator Secret was lost: %v", err)
	}
	writes = log.Take().Writes()
	t.Logf("account reset: %v", writes)
	if !slices.Contains(writes, "POST /api/v1/users/"+OperatorUsername+"/password") || !hasEvent(f.events(), "Normal "+ReasonOperatorAccountSet) {
		t.Errorf("the account's password must be reset through the admin login: %v", writes)
	}
	_ = f.sync()
	if writes := log.Take().Writes(); len(writes) != 0 {
		t.Errorf("after the reset: writes %v, want none", writes)
	}
}
