//go:build realdfs

package serverstate

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// A team's DittoUser and DittoShare named after a user and a share that the
// server's administrator made by hand, on the real dfs v0.29.0: the
// operator changes nothing of them (the user's own password still logs in,
// the share's quota and grants stay), reports NameConflict, and deleting the
// two objects (the share's with deletionPolicy Delete) deletes nothing.
func TestRealServerNeverTakesOverWhatItDidNotCreate(t *testing.T) {
	rs := startRealServer(t, nil, nil)
	rs.waitReady(t)
	baseURL := fmt.Sprintf("http://127.0.0.1:%d", rs.port)
	ctx := context.Background()

	objs := tenantObjects()
	objs[0] = rs.ds
	f := newFixture(t, objs[:3]...)
	log := &dfs.RequestLog{}
	f.c.newAPI = func(u string, _ http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(log)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})
	if err := f.sync(); err != nil {
		t.Fatalf("first pass (stores, the operator's account): %v\n%s", err, rs.proc.Logs())
	}
	log.Take()

	// The administrator's own user and share, made through the REST API.
	admin := dfsapi.New(baseURL)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, rs.proc.Logs())
		}
	}
	must("admin login", admin.Login(ctx, adminUsername, fakeAdminPassword))
	_, err := admin.CreateUser(ctx, dfsapi.User{Username: "bob", Role: "user", Enabled: true}, "Bobs-Own-Pa55")
	must("create bob", err)
	_, err = admin.CreateShare(ctx, dfsapi.Share{Name: "/handmade", MetadataStore: "default", LocalBlockStore: "default",
		DefaultPermission: "read", QuotaBytes: 1 << 30, Enabled: true})
	must("create /handmade", err)
	must("grant bob", admin.SetSharePermission(ctx, "/handmade", dfsapi.Permission{Type: "user", Name: "bob", Level: "admin"}))
	before := snapshotOf(t, admin)

	for _, obj := range objs[3:] {
		f.add(obj)
	}
	for pass := range 2 {
		_ = f.sync()
		for _, w := range log.Take().Writes() {
			if strings.Contains(w, "bob") || strings.Contains(w, "handmade") {
				t.Errorf("pass %d: %s on what the administrator made", pass, w)
			}
		}
	}
	for what, r := range map[string]string{
		"DittoShare": readyReason(f.share("handmade").Status.Conditions),
		"DittoUser":  readyReason(f.user("bob").Status.Conditions),
	} {
		if r != ReasonNameConflict {
			t.Errorf("%s Ready reason %q, want %s", what, r, ReasonNameConflict)
		}
	}

	f.deleteObj(f.share("handmade"), gvrDittoShares)
	f.deleteObj(f.user("bob"), gvrDittoUsers)
	_ = f.sync()
	if w := log.Take().Writes(); len(w) != 0 {
		t.Errorf("deleting the objects: writes %v, want none", w)
	}
	if after := snapshotOf(t, admin); after != before {
		t.Errorf("the server changed:\nbefore %s\nafter  %s", before, after)
	}
	bob := dfsapi.New(baseURL)
	if err := bob.Login(ctx, "bob", "Bobs-Own-Pa55"); err != nil {
		t.Errorf("bob's own password no longer logs in: %v", err)
	}
}

func readyReason(conds []metav1.Condition) string {
	if c := condition(conds, ConditionReady); c != nil {
		return c.Reason
	}
	return ""
}

// snapshotOf prints bob and /handmade as the administrator reads them.
func snapshotOf(t *testing.T, admin dfsapi.API) string {
	t.Helper()
	ctx := context.Background()
	users, err := admin.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shares, err := admin.ListShares(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := admin.ListSharePermissions(ctx, "/handmade")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range users {
		if u.Username == "bob" {
			fmt.Fprintf(&b, "user %s id=%s role=%s enabled=%v groups=%v uid=%d; ", u.Username, u.ID, u.Role, u.Enabled, u.Groups, ptr.Deref(u.UID, 0))
		}
	}
	for _, s := range shares {
		if s.Name == "/handmade" {
			fmt.Fprintf(&b, "share %+v; ", s)
		}
	}
	fmt.Fprintf(&b, "grants %+v", grants)
	return b.String()
}
