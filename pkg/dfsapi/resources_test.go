package dfsapi

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestStoreConfigIsSentAsAJSONStringAndReadAsAnObject(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/store/metadata":     reply(201, `{"id":"m1","name":"meta","type":"badger","config":{"path":"/data/metadata"}}`),
		"GET /api/v1/store/metadata":      reply(200, `[{"id":"m1","name":"meta","type":"badger","config":{"path":"/data/metadata"},"status":{"status":"healthy"}}]`),
		"PUT /api/v1/store/metadata/meta": reply(200, `{}`),
		"GET /api/v1/store/block/remote": reply(200,
			`[{"id":"r1","name":"s3","kind":"remote","type":"s3","config":{"bucket":"b","access_key_id":"AK","secret_access_key":"********"}}]`),
	})
	c := New(f.URL)
	s := Store{Name: "meta", Type: "badger", Config: map[string]any{"path": "/data/metadata"}}
	if err := c.CreateMetadataStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateMetadataStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	if want := map[string]any{"name": "meta", "type": "badger", "config": `{"path":"/data/metadata"}`}; !reflect.DeepEqual(reqs[0].Body, want) {
		t.Errorf("create body %v, want %v", reqs[0].Body, want)
	}
	if want := map[string]any{"type": "badger", "config": `{"path":"/data/metadata"}`}; !reflect.DeepEqual(reqs[1].Body, want) {
		t.Errorf("update body %v, want %v", reqs[1].Body, want)
	}
	got, err := c.ListMetadataStores(ctx)
	if err != nil || !reflect.DeepEqual(got, []Store{s}) {
		t.Errorf("ListMetadataStores = %+v, %v", got, err)
	}
	remote, err := c.ListBlockStores(ctx, BlockRemote)
	if err != nil || len(remote) != 1 || remote[0].Config["secret_access_key"] != Redacted {
		t.Errorf("ListBlockStores(remote) = %+v, %v", remote, err)
	}
	if _, err := c.ListBlockStores(ctx, "cache"); err == nil {
		t.Errorf("an unknown block kind was accepted")
	}
}

func TestConfigMatchesIgnoresWhatTheServerRedacts(t *testing.T) {
	desired := map[string]any{"bucket": "b", "port": 9000, "secret_access_key": "real", "compression": map[string]any{"algo": "zstd"}}
	observed := map[string]any{"bucket": "b", "port": 9000.0, "secret_access_key": Redacted, "compression": map[string]any{"algo": "zstd"}}
	if !ConfigMatches(desired, observed) {
		t.Errorf("a converged store does not match")
	}
	for name, obs := range map[string]map[string]any{
		"changed value": {"bucket": "other", "port": 9000.0, "secret_access_key": Redacted, "compression": map[string]any{"algo": "zstd"}},
		"missing key":   {"bucket": "b", "secret_access_key": Redacted, "compression": map[string]any{"algo": "zstd"}},
		"extra key":     {"bucket": "b", "port": 9000.0, "secret_access_key": Redacted, "compression": map[string]any{"algo": "zstd"}, "prefix": "x"},
		"nested change": {"bucket": "b", "port": 9000.0, "secret_access_key": Redacted, "compression": map[string]any{"algo": "lz4"}},
	} {
		if ConfigMatches(desired, obs) {
			t.Errorf("%s: matches", name)
		}
	}
	if !ConfigMatches(nil, map[string]any{}) {
		t.Errorf("no config and an empty config differ")
	}
}

func TestShareNamesAreNormalisedAsTheServerDoes(t *testing.T) {
	for in, want := range map[string]string{"export": "/export", "/export": "/export", "//export": "/export",
		"%2Fexport": "/export", "team/data": "/team/data"} {
		if got := NormalizeShareName(in); got != want {
			t.Errorf("NormalizeShareName(%q) = %q, want %q", in, got, want)
		}
	}
	f := newFake(t, map[string]http.HandlerFunc{
		"DELETE /api/v1/shares/export":         reply(204, ""),
		"POST /api/v1/shares":                  reply(201, `{"name":"/export","enabled":true}`),
		"DELETE /api/v1/shares/a%2Fb":          reply(204, ""),
		"GET /api/v1/shares/a%2Fb/permissions": reply(200, `null`),
	})
	c := New(f.URL)
	for _, name := range []string{"export", "/export"} {
		if err := c.DeleteShare(ctx, name); err != nil {
			t.Errorf("DeleteShare(%q): %v", name, err)
		}
	}
	if _, err := c.CreateShare(ctx, Share{Name: "export", MetadataStore: "m", LocalBlockStore: "l", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if body := f.seen()[2].Body; body["name"] != "/export" {
		t.Errorf("created share name %v, want /export", body["name"])
	}
	if err := c.DeleteShare(ctx, "/a/b"); err != nil {
		t.Errorf("nested name: %v", err)
	}
	perms, err := c.ListSharePermissions(ctx, "/a/b")
	if err != nil || len(perms) != 0 {
		t.Errorf("a share without grants (null): %v, %v", perms, err)
	}
}

func TestCreateShareNamesItsStoresAndSendsTheExactQuota(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/shares":            reply(201, `{"name":"/ro","enabled":true}`),
		"POST /api/v1/shares/ro/disable": reply(200, `{"name":"/ro","enabled":false}`),
	})
	c := New(f.URL)
	_, err := c.CreateShare(ctx, Share{Name: "/ro", MetadataStore: "meta", LocalBlockStore: "local", RemoteBlockStore: "s3",
		ReadOnly: true, DefaultPermission: "read", QuotaBytes: 1_000_000_000, Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "/ro", "metadata_store_id": "meta", "local_block_store": "local", "remote_block_store": "s3",
		"read_only": true, "default_permission": "read", "quota_bytes": "1000000000"}
	if got := f.seen()[0].Body; !reflect.DeepEqual(got, want) {
		t.Errorf("create body\n%v\nwant\n%v", got, want)
	}
	if join(f.paths()) != "POST /api/v1/shares\nPOST /api/v1/shares/ro/disable" {
		t.Errorf("a share declared disabled: requests\n%s", join(f.paths()))
	}
}

func TestListSharesResolvesStoreIDsOnceThenCostsOneGET(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/shares": reply(200, `[
			{"name":"/a","metadata_store_id":"m1","local_block_store_id":"l1","remote_block_store_id":null,"read_only":false,"enabled":true,"default_permission":"none","quota_bytes":"10.00GiB","used_bytes":1536,"physical_bytes":4096,"usage_percent":0.01},
			{"name":"/b","metadata_store_id":"m1","local_block_store_id":"l1","remote_block_store_id":"r1","read_only":true,"enabled":false,"default_permission":"read"}]`),
		"GET /api/v1/store/metadata":     reply(200, `[{"id":"m1","name":"meta","type":"badger","config":{"path":"/m"}}]`),
		"GET /api/v1/store/block/local":  reply(200, `[{"id":"l1","name":"local","type":"fs","config":{"path":"/c"}}]`),
		"GET /api/v1/store/block/remote": reply(200, `[{"id":"r1","name":"s3","type":"s3","config":{"bucket":"b"}}]`),
	})
	c := New(f.URL)
	want := []Share{
		{Name: "/a", MetadataStore: "meta", LocalBlockStore: "local", DefaultPermission: "none", QuotaBytes: 10 << 30, Enabled: true, UsedBytes: 1536, PhysicalBytes: 4096},
		{Name: "/b", MetadataStore: "meta", LocalBlockStore: "local", RemoteBlockStore: "s3", ReadOnly: true, DefaultPermission: "read"},
	}
	for i := range 2 {
		before := len(f.seen())
		got, err := c.ListShares(ctx)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("ListShares = %+v, %v\nwant %+v", got, err, want)
		}
		wantGETs := 4 // the shares, then each store list once
		if i == 1 {
			wantGETs = 1
		}
		if n := len(f.seen()) - before; n != wantGETs {
			t.Errorf("call %d: %d GETs, want %d: %v", i+1, n, wantGETs, f.paths()[before:])
		}
	}
}

func TestUpdateShareChangesWhatTheServerCanChange(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"PUT /api/v1/shares/export":         reply(200, `{"name":"/export","enabled":false}`),
		"POST /api/v1/shares/export/enable": reply(200, `{"name":"/export","enabled":true}`),
		"PUT /api/v1/shares/other":          reply(200, `{"name":"/other","enabled":true}`),
	})
	c := New(f.URL)
	if err := c.UpdateShare(ctx, Share{Name: "/export", MetadataStore: "ignored", LocalBlockStore: "local", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"read_only": false, "default_permission": "none", "quota_bytes": "0"}
	if got := f.seen()[0].Body; !reflect.DeepEqual(got, want) {
		t.Errorf("update body\n%v\nwant\n%v (no store: the server cannot move a share, and a block store sent here is rebound live)", got, want)
	}
	if err := c.UpdateShare(ctx, Share{Name: "other", LocalBlockStore: "local", RemoteBlockStore: "s3", QuotaBytes: 5 << 30, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.seen() {
		for k := range r.Body {
			if strings.Contains(k, "store") {
				t.Errorf("%s %s sent %s=%v: a share update must never send a store binding", r.Method, r.Path, k, r.Body[k])
			}
		}
	}
	wantPaths := "PUT /api/v1/shares/export\nPOST /api/v1/shares/export/enable\nPUT /api/v1/shares/other"
	if join(f.paths()) != wantPaths {
		t.Errorf("requests\n%s\nwant (enable only when it differs)\n%s", join(f.paths()), wantPaths)
	}
	if q := f.seen()[2].Body["quota_bytes"]; q != "5368709120" {
		t.Errorf("quota sent as %v", q)
	}
}

func TestSharePermissionsByUserOrGroup(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"PUT /api/v1/shares/s/permissions/users/alice":   reply(204, ""),
		"DELETE /api/v1/shares/s/permissions/groups/eng": reply(204, ""),
		"GET /api/v1/shares/s/permissions":               reply(200, `[{"type":"user","name":"alice","level":"read-write"},{"type":"group","name":"eng","level":"read"}]`),
	})
	c := New(f.URL)
	if err := c.SetSharePermission(ctx, "/s", Permission{Type: "user", Name: "alice", Level: "read-write"}); err != nil {
		t.Fatal(err)
	}
	if got := f.seen()[0].Body; !reflect.DeepEqual(got, map[string]any{"level": "read-write"}) {
		t.Errorf("grant body %v", got)
	}
	if err := c.DeleteSharePermission(ctx, "s", Permission{Type: "group", Name: "eng"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListSharePermissions(ctx, "/s")
	want := []Permission{{"user", "alice", "read-write"}, {"group", "eng", "read"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ListSharePermissions = %v, %v", got, err)
	}
	if err := c.SetSharePermission(ctx, "s", Permission{Type: "sid", Name: "S-1-5", Level: "read"}); err == nil {
		t.Errorf("a permission type other than user or group was sent")
	}
}

func TestUsersAndPasswords(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/users":                reply(201, `{}`),
		"PUT /api/v1/users/alice":           reply(200, `{}`),
		"POST /api/v1/users/alice/password": func(w http.ResponseWriter, r *http.Request) { problemJSON(w, 404, "Not Found", "User not found") },
	})
	c := New(f.URL)
	u := User{Username: "alice", DisplayName: "Alice", Role: "user", UID: ptr[uint32](1001), GID: ptr[uint32](1001), Groups: []string{"eng"}, Enabled: true}
	if _, err := c.CreateUser(ctx, u, "alice-pw"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"username": "alice", "password": "alice-pw", "display_name": "Alice", "role": "user",
		"uid": 1001.0, "gid": 1001.0, "groups": []any{"eng"}, "enabled": true}
	if got := f.seen()[0].Body; !reflect.DeepEqual(got, want) {
		t.Errorf("create body\n%v\nwant\n%v", got, want)
	}
	// Groups nil: unchanged; empty: cleared.
	if err := c.UpdateUser(ctx, User{Username: "alice", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateUser(ctx, User{Username: "alice", Groups: []string{}, Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if got := f.seen()[1].Body; !reflect.DeepEqual(got, map[string]any{"display_name": "", "enabled": true}) {
		t.Errorf("update without groups: %v", got)
	}
	if got := f.seen()[2].Body; !reflect.DeepEqual(got, map[string]any{"display_name": "", "groups": []any{}, "enabled": false}) {
		t.Errorf("update clearing groups: %v", got)
	}
	err := c.SetUserPassword(ctx, "alice", "new-pw")
	if !IsNotFound(err) {
		t.Errorf("reset for a missing user: %v", err)
	}
	if got := f.seen()[3].Body; !reflect.DeepEqual(got, map[string]any{"new_password": "new-pw"}) {
		t.Errorf("reset body %v", got)
	}
}
