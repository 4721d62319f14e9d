package fileserving

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// rawLogin is what POST /api/v1/auth/login says, read without the client
// (which hides the password-change step).
func rawLogin(t *testing.T, port int, user, password string) dfs.LoginReply {
	t.Helper()
	r, err := dfs.PostLogin(port, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rawGet is GET path with token, returning the status and body.
func rawGet(t *testing.T, port int, path, token string) (int, string) {
	t.Helper()
	status, body, err := dfs.Request(port, token, http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return status, strings.TrimSpace(string(body))
}

// TestWhatTheRESTAPIAllowsTheOperator checks, against the real server, the
// facts docs/dittofs-rest.md states and the operator relies on.
func TestWhatTheRESTAPIAllowsTheOperator(t *testing.T) {
	requireRoot(t)
	apiPort := proc.FreePortForTest(t)
	srv := startServer(t, newVolumes(t), apiPort)
	admin := srv.api
	must(t, "log in as admin", admin.Login(ctx, "admin", adminPassword))

	t.Run("the initial admin need not change its password; tokens last the configured time", func(t *testing.T) {
		r := rawLogin(t, apiPort, "admin", adminPassword)
		ds := &dittov1alpha1.DittoServer{ObjectMeta: metav1.ObjectMeta{Name: "files"}}
		if r.Status != 200 || r.MustChangePassword {
			t.Errorf("admin login: status %d, must_change_password %v", r.Status, r.MustChangePassword)
		}
		if want := int64(resources.AccessTokenDuration(ds) / time.Second); r.ExpiresIn != want {
			t.Errorf("access token expires_in %ds, want the rendered access_token_duration %ds", r.ExpiresIn, want)
		}
		if r := rawLogin(t, apiPort, "admin", "wrong"); r.Status != 401 {
			t.Errorf("a wrong password: status %d, want 401", r.Status)
		}
	})

	t.Run("role operator may not manage anything", func(t *testing.T) {
		must(t, "create", created(admin.CreateUser(ctx, dfsapi.User{Username: "op-role", Role: "operator", Enabled: true}, "Op-Role-Pa55")))
		op := dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", apiPort))
		must(t, "log in", op.Login(ctx, "op-role", "Op-Role-Pa55"))
		_, err := op.ListShares(ctx)
		var e *dfsapi.Error
		if !asError(err, &e) || e.Status != 403 || e.Detail != "Admin access required" {
			t.Errorf("role operator listing shares: %v, want 403 Admin access required", err)
		}
		if err := op.CreateGroup(ctx, dfsapi.Group{Name: "by-operator"}); !asError(err, &e) || e.Status != 403 {
			t.Errorf("role operator creating a group: %v, want 403", err)
		}
		token := rawLogin(t, apiPort, "op-role", "Op-Role-Pa55").AccessToken
		if status, body := rawGet(t, apiPort, "/api/v1/adapters", token); status != 200 {
			t.Errorf("role operator listing adapters: %d %s, want 200", status, body)
		}
	})

	t.Run("an admin created by an admin must change its password; the client's Login does it", func(t *testing.T) {
		const name, pw = "dittofs-operator", "Generated-Operator-Pa55"
		must(t, "create", created(admin.CreateUser(ctx, dfsapi.User{Username: name, Role: "admin", Enabled: true}, pw)))
		r := rawLogin(t, apiPort, name, pw)
		if r.Status != 200 || !r.MustChangePassword {
			t.Fatalf("first login: status %d, must_change_password %v; want 200 and true", r.Status, r.MustChangePassword)
		}
		if status, body := rawGet(t, apiPort, "/api/v1/shares", r.AccessToken); status != 403 || !strings.Contains(body, "must set a new password") {
			t.Errorf("before the change: %d %q, want 403 must set a new password", status, body)
		}
		op := dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", apiPort))
		must(t, "client login", op.Login(ctx, name, pw))
		if _, err := op.ListShares(ctx); err != nil {
			t.Errorf("after the client's login: %v", err)
		}
		if r := rawLogin(t, apiPort, name, pw); r.Status != 200 || r.MustChangePassword {
			t.Errorf("login after: status %d, must_change_password %v; want the same password, no flag", r.Status, r.MustChangePassword)
		}
		// An admin's reset of an admin's password sets the flag again.
		must(t, "reset", admin.SetUserPassword(ctx, name, pw+"-2"))
		if r := rawLogin(t, apiPort, name, pw+"-2"); r.Status != 200 || !r.MustChangePassword {
			t.Errorf("after an admin reset: status %d, must_change_password %v; want 200 and true", r.Status, r.MustChangePassword)
		}
		must(t, "client login after the reset", op.Login(ctx, name, pw+"-2"))
		if _, err := op.ListUsers(ctx); err != nil {
			t.Errorf("after the reset: %v", err)
		}
	})

	t.Run("an admin resets a user's password without the old one", func(t *testing.T) {
		must(t, "create", created(admin.CreateUser(ctx, dfsapi.User{Username: "bob", Role: "user", Enabled: true}, "Bob-Old-Pa55")))
		must(t, "reset", admin.SetUserPassword(ctx, "bob", "Bob-New-Pa55"))
		if r := rawLogin(t, apiPort, "bob", "Bob-New-Pa55"); r.Status != 200 || r.MustChangePassword {
			t.Errorf("new password: status %d, must_change_password %v", r.Status, r.MustChangePassword)
		}
		if r := rawLogin(t, apiPort, "bob", "Bob-Old-Pa55"); r.Status != 401 {
			t.Errorf("old password: status %d, want 401", r.Status)
		}
		if err := admin.SetUserPassword(ctx, "nobody", "x"); !dfsapi.IsNotFound(err) {
			t.Errorf("reset for a missing user: %v, want 404", err)
		}
	})

	t.Run("groups", func(t *testing.T) {
		must(t, "create", admin.CreateGroup(ctx, dfsapi.Group{Name: "eng", GID: ptr.To[uint32](2000)}))
		groups, err := admin.ListGroups(ctx)
		must(t, "list", err)
		byName := map[string]dfsapi.Group{}
		for _, g := range groups {
			byName[g.Name] = g
		}
		for name, gid := range map[string]uint32{"eng": 2000, "admins": 0, "operators": 999, "users": 1000} {
			if g, ok := byName[name]; !ok || g.GID == nil || *g.GID != gid {
				t.Errorf("group %s: %+v, want gid %d", name, g, gid)
			}
		}
		var e *dfsapi.Error
		if err := admin.DeleteGroup(ctx, "users"); !asError(err, &e) || e.Status != 403 {
			t.Errorf("deleting a built-in group: %v, want 403", err)
		}
		if err := admin.DeleteUser(ctx, "admin"); !asError(err, &e) || e.Status != 403 {
			t.Errorf("deleting admin: %v, want 403", err)
		}
	})

	d := declaration()
	must(t, "metadata store", admin.CreateMetadataStore(ctx, d.metadata))
	must(t, "local block store", admin.CreateBlockStore(ctx, dfsapi.BlockLocal, d.local))
	must(t, "user", created(admin.CreateUser(ctx, d.user, userPassword)))
	must(t, "share", created(admin.CreateShare(ctx, dfsapi.Share{Name: "export", MetadataStore: d.share.MetadataStore,
		LocalBlockStore: d.share.LocalBlockStore, Enabled: true})))

	t.Run("duplicate creates", func(t *testing.T) {
		for what, err := range map[string]error{
			"user":              created(admin.CreateUser(ctx, d.user, userPassword)),
			"group":             admin.CreateGroup(ctx, dfsapi.Group{Name: "eng"}),
			"local block store": admin.CreateBlockStore(ctx, dfsapi.BlockLocal, d.local),
			"share /export":     created(admin.CreateShare(ctx, d.share)),
		} {
			if !dfsapi.IsConflict(err) {
				t.Errorf("a second %s: %v, want 409", what, err)
			}
		}
		// The server opens a metadata store before it looks for the name:
		// the same badger path is refused as locked (400), not as a 409.
		err := admin.CreateMetadataStore(ctx, d.metadata)
		var e *dfsapi.Error
		if !asError(err, &e) || e.Status != 400 || !strings.Contains(e.Detail, "locked") {
			t.Errorf("a second metadata store of the same name and path: %v, want 400 ... locked", err)
		}
		if err := admin.DeleteMetadataStore(ctx, d.metadata.Name); !asError(err, &e) || e.Status != 409 {
			t.Errorf("deleting a store a share uses: %v, want 409", err)
		}
	})

	t.Run("what PUT /shares changes", func(t *testing.T) {
		want := dfsapi.Share{Name: shareName, MetadataStore: d.share.MetadataStore, LocalBlockStore: d.share.LocalBlockStore,
			ReadOnly: true, DefaultPermission: "read", QuotaBytes: 1_000_000_000, Enabled: false}
		must(t, "update", admin.UpdateShare(ctx, want))
		shares, err := admin.ListShares(ctx)
		must(t, "list", err)
		want.QuotaBytes = dfsapi.ReportedQuota(want.QuotaBytes)
		if shares = withoutIDs(t, shares); len(shares) != 1 || shares[0] != want {
			t.Errorf("after the update: %+v\nwant %+v", shares, want)
		}
		back := d.share
		back.QuotaBytes = 10 << 30
		back.Owner = "" // fixed at creation, not read back
		must(t, "update back", admin.UpdateShare(ctx, back))
		shares, err = admin.ListShares(ctx)
		must(t, "list", err)
		if shares = withoutIDs(t, shares); len(shares) != 1 || shares[0] != back {
			t.Errorf("after the second update: %+v\nwant %+v (a round quota reads back exactly)", shares, back)
		}
	})

	t.Run("grants", func(t *testing.T) {
		must(t, "grant", admin.SetSharePermission(ctx, shareName, d.permission))
		must(t, "group grant", admin.SetSharePermission(ctx, shareName, dfsapi.Permission{Type: "group", Name: "eng", Level: "read"}))
		must(t, "revoke the group", admin.DeleteSharePermission(ctx, shareName, dfsapi.Permission{Type: "group", Name: "eng"}))
		must(t, "revoke what was never granted", admin.DeleteSharePermission(ctx, shareName, dfsapi.Permission{Type: "user", Name: "bob"}))
		perms, err := admin.ListSharePermissions(ctx, "export")
		if err != nil || len(perms) != 1 || perms[0] != d.permission {
			t.Errorf("permissions %+v, %v; want only %+v", perms, err, d.permission)
		}
		if err := admin.SetSharePermission(ctx, shareName, dfsapi.Permission{Type: "user", Name: "nobody", Level: "read"}); !dfsapi.IsNotFound(err) {
			t.Errorf("granting a missing user: %v, want 404", err)
		}
	})
	srv.stop()
}

func asError(err error, target **dfsapi.Error) bool { return errors.As(err, target) }
