package serverstate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// fakeServer is an in-memory DittoFS control plane behind dfsapi.API: it
// keeps stores, users (with passwords), groups, shares and grants, answers
// like the real server where the controller depends on it (409 on a
// duplicate, 404 on an unknown name, 401 on a wrong password, secret store
// keys redacted on reads), and records every call as "VERB what".
type fakeServer struct {
	mu        sync.Mutex
	calls     []string
	passwords map[string]string
	users     map[string]dfsapi.User
	groups    map[string]dfsapi.Group
	metadata  map[string]dfsapi.Store
	blocks    map[dfsapi.BlockKind]map[string]dfsapi.Store
	shares    map[string]dfsapi.Share
	grants    map[string]map[string]dfsapi.Permission
	policies  map[string]dfsapi.SnapshotPolicy
	// nfs is the NFS adapter and portmapper its portmapper setting, stored
	// apart as on the real server; portmapRunning is the setting the
	// adapter read when it last started, which is what clients see.
	nfs            dfsapi.Adapter
	portmapper     dfsapi.Portmapper
	portmapRunning bool
	// down makes every call fail as if nothing answered.
	down error
	// refuse answers the calls it names ("PUT remote-store s3") with an error.
	refuse map[string]error
	// ids numbers the users and shares the server creates, as the real one
	// gives each a fresh id.
	ids int
}

// newID is the id of a user or share created now.
func (f *fakeServer) newID(kind string) string {
	f.ids++
	return fmt.Sprintf("%s-%d", kind, f.ids)
}

const fakeAdminPassword = "admin-password-from-secret"

func newFakeServer() *fakeServer {
	return &fakeServer{
		passwords: map[string]string{adminUsername: fakeAdminPassword},
		users:     map[string]dfsapi.User{adminUsername: {Username: adminUsername, Role: "admin", Enabled: true}},
		groups:    map[string]dfsapi.Group{},
		metadata:  map[string]dfsapi.Store{},
		blocks:    map[dfsapi.BlockKind]map[string]dfsapi.Store{dfsapi.BlockLocal: {}, dfsapi.BlockRemote: {}},
		shares:    map[string]dfsapi.Share{},
		grants:    map[string]map[string]dfsapi.Permission{},
		policies:  map[string]dfsapi.SnapshotPolicy{},
		// v0.29's defaults: the adapter runs, the portmapper is off.
		nfs:        dfsapi.Adapter{Enabled: true, Running: true, Port: 12049},
		portmapper: dfsapi.Portmapper{Port: 10111},
	}
}

// client is one logged-in (or not) client of the fake server, as dfsapi.New
// would build for a base URL.
type fakeClient struct {
	srv  *fakeServer
	user string
}

func (f *fakeServer) factory() APIFactory {
	return func(string, http.RoundTripper) dfsapi.API { return &fakeClient{srv: f} }
}

// writes are the recorded calls that change the server's state.
func (f *fakeServer) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeServer) clearCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func apiError(method, path string, status int, detail string) error {
	return &dfsapi.Error{Method: method, Path: path, Status: status, Title: http.StatusText(status), Detail: detail}
}

// call records a call and checks that it may be made.
func (c *fakeClient) call(desc string, admin bool) error {
	f := c.srv
	f.calls = append(f.calls, desc)
	if f.down != nil {
		return f.down
	}
	if err := f.refuse[desc]; err != nil {
		return err
	}
	if admin && (c.user == "" || f.users[c.user].Role != "admin") {
		return apiError("", desc, http.StatusUnauthorized, "Invalid or expired token")
	}
	return nil
}

func (c *fakeClient) Login(_ context.Context, username, password string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST login "+username, false); err != nil {
		return err
	}
	if pw, ok := c.srv.passwords[username]; !ok || pw != password {
		return apiError(http.MethodPost, "/api/v1/auth/login", http.StatusUnauthorized, "Invalid credentials")
	}
	c.user = username
	return nil
}

func redact(s dfsapi.Store) dfsapi.Store {
	cfg := map[string]any{}
	for k, v := range s.Config {
		if strings.Contains(k, "secret") || strings.HasSuffix(k, "_key") {
			v = "********"
		}
		cfg[k] = v
	}
	s.Config = cfg
	return s
}

func storeList(m map[string]dfsapi.Store) []dfsapi.Store {
	out := make([]dfsapi.Store, 0, len(m))
	for _, s := range m {
		out = append(out, redact(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *fakeClient) ListMetadataStores(context.Context) ([]dfsapi.Store, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET metadata-stores", true); err != nil {
		return nil, err
	}
	return storeList(c.srv.metadata), nil
}

func (c *fakeClient) CreateMetadataStore(_ context.Context, s dfsapi.Store) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST metadata-store "+s.Name, true); err != nil {
		return err
	}
	if _, ok := c.srv.metadata[s.Name]; ok {
		return apiError(http.MethodPost, "/api/v1/store/metadata", http.StatusConflict, "Metadata store already exists")
	}
	c.srv.metadata[s.Name] = s
	return nil
}

func (c *fakeClient) UpdateMetadataStore(_ context.Context, s dfsapi.Store) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("PUT metadata-store "+s.Name, true); err != nil {
		return err
	}
	c.srv.metadata[s.Name] = s
	return nil
}

func (c *fakeClient) DeleteMetadataStore(_ context.Context, name string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("DELETE metadata-store "+name, true); err != nil {
		return err
	}
	delete(c.srv.metadata, name)
	return nil
}

func (c *fakeClient) ListBlockStores(_ context.Context, kind dfsapi.BlockKind) ([]dfsapi.Store, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("GET %s-stores", kind), true); err != nil {
		return nil, err
	}
	return storeList(c.srv.blocks[kind]), nil
}

func (c *fakeClient) CreateBlockStore(_ context.Context, kind dfsapi.BlockKind, s dfsapi.Store) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("POST %s-store %s", kind, s.Name), true); err != nil {
		return err
	}
	if _, ok := c.srv.blocks[kind][s.Name]; ok {
		return apiError(http.MethodPost, "/api/v1/store/block/"+string(kind), http.StatusConflict, "Block store already exists")
	}
	c.srv.blocks[kind][s.Name] = s
	return nil
}

func (c *fakeClient) UpdateBlockStore(_ context.Context, kind dfsapi.BlockKind, s dfsapi.Store) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("PUT %s-store %s", kind, s.Name), true); err != nil {
		return err
	}
	c.srv.blocks[kind][s.Name] = s
	return nil
}

func (c *fakeClient) DeleteBlockStore(_ context.Context, kind dfsapi.BlockKind, name string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("DELETE %s-store %s", kind, name), true); err != nil {
		return err
	}
	delete(c.srv.blocks[kind], name)
	return nil
}

func (c *fakeClient) ListUsers(context.Context) ([]dfsapi.User, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET users", true); err != nil {
		return nil, err
	}
	var out []dfsapi.User
	for _, u := range c.srv.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

func (c *fakeClient) CreateUser(_ context.Context, u dfsapi.User, password string) (string, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST user "+u.Username, true); err != nil {
		return "", err
	}
	if _, ok := c.srv.users[u.Username]; ok {
		return "", apiError(http.MethodPost, "/api/v1/users", http.StatusConflict, "User already exists")
	}
	for _, g := range u.Groups {
		if _, ok := c.srv.groups[g]; !ok {
			return "", apiError(http.MethodPost, "/api/v1/users", http.StatusBadRequest, "One or more specified groups do not exist")
		}
	}
	u.ID = c.srv.newID("user")
	c.srv.users[u.Username], c.srv.passwords[u.Username] = u, password
	return u.ID, nil
}

func (c *fakeClient) UpdateUser(_ context.Context, u dfsapi.User) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("PUT user "+u.Username, true); err != nil {
		return err
	}
	old, ok := c.srv.users[u.Username]
	if !ok {
		return apiError(http.MethodPut, "/api/v1/users/"+u.Username, http.StatusNotFound, "User not found")
	}
	u.ID = old.ID
	c.srv.users[u.Username] = u
	return nil
}

func (c *fakeClient) SetUserPassword(_ context.Context, username, password string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST password "+username, true); err != nil {
		return err
	}
	if _, ok := c.srv.users[username]; !ok {
		return apiError(http.MethodPost, "/api/v1/users/"+username+"/password", http.StatusNotFound, "User not found")
	}
	c.srv.passwords[username] = password
	return nil
}

func (c *fakeClient) DeleteUser(_ context.Context, username string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("DELETE user "+username, true); err != nil {
		return err
	}
	if _, ok := c.srv.users[username]; !ok {
		return apiError(http.MethodDelete, "/api/v1/users/"+username, http.StatusNotFound, "User not found")
	}
	delete(c.srv.users, username)
	delete(c.srv.passwords, username)
	return nil
}

func (c *fakeClient) ListGroups(context.Context) ([]dfsapi.Group, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET groups", true); err != nil {
		return nil, err
	}
	var out []dfsapi.Group
	for _, g := range c.srv.groups {
		out = append(out, g)
	}
	return out, nil
}

func (c *fakeClient) CreateGroup(_ context.Context, g dfsapi.Group) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST group "+g.Name, true); err != nil {
		return err
	}
	if _, ok := c.srv.groups[g.Name]; ok {
		return apiError(http.MethodPost, "/api/v1/groups", http.StatusConflict, "Group already exists")
	}
	c.srv.groups[g.Name] = g
	return nil
}

func (c *fakeClient) DeleteGroup(_ context.Context, name string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("DELETE group "+name, true); err != nil {
		return err
	}
	delete(c.srv.groups, name)
	return nil
}

func (c *fakeClient) ListShares(context.Context) ([]dfsapi.Share, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET shares", true); err != nil {
		return nil, err
	}
	var out []dfsapi.Share
	for _, s := range c.srv.shares {
		s.Owner = "" // the server reports the root owner's uid/gid, not the username
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *fakeClient) CreateShare(_ context.Context, s dfsapi.Share) (string, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("POST share "+s.Name, true); err != nil {
		return "", err
	}
	if _, ok := c.srv.shares[s.Name]; ok {
		return "", apiError(http.MethodPost, "/api/v1/shares", http.StatusConflict, "Share already exists")
	}
	if _, ok := c.srv.metadata[s.MetadataStore]; !ok {
		return "", apiError(http.MethodPost, "/api/v1/shares", http.StatusBadRequest, "Metadata store not found: "+s.MetadataStore)
	}
	s.ID = c.srv.newID("share")
	c.srv.shares[s.Name] = s
	c.srv.grants[s.Name] = map[string]dfsapi.Permission{}
	return s.ID, nil
}

func (c *fakeClient) UpdateShare(_ context.Context, s dfsapi.Share) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("PUT share "+s.Name, true); err != nil {
		return err
	}
	cur, ok := c.srv.shares[s.Name]
	if !ok {
		return apiError(http.MethodPut, "/api/v1/shares"+s.Name, http.StatusNotFound, "Share not found")
	}
	s.ID = cur.ID
	// Like dfsapi.UpdateShare, which never sends a store: the bindings
	// made at creation stay.
	s.MetadataStore, s.LocalBlockStore, s.RemoteBlockStore = cur.MetadataStore, cur.LocalBlockStore, cur.RemoteBlockStore
	c.srv.shares[s.Name] = s
	return nil
}

func (c *fakeClient) DeleteShare(_ context.Context, name string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("DELETE share "+name, true); err != nil {
		return err
	}
	if _, ok := c.srv.shares[name]; !ok {
		return apiError(http.MethodDelete, "/api/v1/shares"+name, http.StatusNotFound, "Share not found")
	}
	delete(c.srv.shares, name)
	delete(c.srv.grants, name)
	delete(c.srv.policies, name)
	return nil
}

func (c *fakeClient) ListSharePermissions(_ context.Context, share string) ([]dfsapi.Permission, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET grants "+share, true); err != nil {
		return nil, err
	}
	g, ok := c.srv.grants[share]
	if !ok {
		return nil, apiError(http.MethodGet, "/api/v1/shares"+share+"/permissions", http.StatusNotFound, "Share not found")
	}
	var out []dfsapi.Permission
	for _, p := range g {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type+out[i].Name < out[j].Type+out[j].Name })
	return out, nil
}

func (c *fakeClient) SetSharePermission(_ context.Context, share string, p dfsapi.Permission) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("PUT grant %s %s:%s=%s", share, p.Type, p.Name, p.Level), true); err != nil {
		return err
	}
	g, ok := c.srv.grants[share]
	if !ok {
		return apiError(http.MethodPut, "/api/v1/shares"+share, http.StatusNotFound, "Share not found")
	}
	if _, ok := c.srv.users[p.Name]; p.Type == "user" && !ok {
		return apiError(http.MethodPut, "/api/v1/shares"+share, http.StatusNotFound, "User not found")
	}
	if _, ok := c.srv.groups[p.Name]; p.Type == "group" && !ok {
		return apiError(http.MethodPut, "/api/v1/shares"+share, http.StatusNotFound, "Group not found")
	}
	g[p.Type+"/"+p.Name] = p
	return nil
}

func (c *fakeClient) DeleteSharePermission(_ context.Context, share string, p dfsapi.Permission) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("DELETE grant %s %s:%s", share, p.Type, p.Name), true); err != nil {
		return err
	}
	delete(c.srv.grants[share], p.Type+"/"+p.Name)
	return nil
}

func (c *fakeClient) GetSnapshotPolicy(_ context.Context, share string) (*dfsapi.SnapshotPolicy, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET snapshot-policy "+share, true); err != nil {
		return nil, err
	}
	p, ok := c.srv.policies[share]
	if !ok {
		return nil, nil
	}
	return &p, nil
}

func (c *fakeClient) PutSnapshotPolicy(_ context.Context, share string, p dfsapi.SnapshotPolicy) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("PUT snapshot-policy %s every=%s keep=%d ttl=%s prefix=%q enabled=%t",
		share, p.Interval, p.KeepLast, p.TTL, p.NamePrefix, p.Enabled), true); err != nil {
		return err
	}
	if _, ok := c.srv.shares[share]; !ok {
		return apiError(http.MethodPut, "/api/v1/shares"+share+"/snapshot-policy", http.StatusNotFound, "share not found")
	}
	c.srv.policies[share] = p
	return nil
}

func (c *fakeClient) DeleteSnapshotPolicy(_ context.Context, share string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("DELETE snapshot-policy "+share, true); err != nil {
		return err
	}
	delete(c.srv.policies, share)
	return nil
}

var errConnRefused = errors.New("dial tcp 10.0.0.5:8080: connect: connection refused")

func (c *fakeClient) GetNFSAdapter(context.Context) (dfsapi.Adapter, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET nfs-adapter", true); err != nil {
		return dfsapi.Adapter{}, err
	}
	return c.srv.nfs, nil
}

// SetNFSAdapterEnabled stops or starts the adapter like the real server: a
// PUT that changes nothing keeps it running with what it read at its start.
func (c *fakeClient) SetNFSAdapterEnabled(_ context.Context, enabled bool) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("PUT nfs-adapter enabled=%t", enabled), true); err != nil {
		return err
	}
	f := c.srv
	if enabled && !f.nfs.Running {
		f.portmapRunning = f.portmapper.Enabled
	}
	if !enabled {
		f.portmapRunning = false
	}
	f.nfs.Enabled, f.nfs.Running = enabled, enabled
	return nil
}

func (c *fakeClient) GetNFSPortmapper(context.Context) (dfsapi.Portmapper, error) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call("GET nfs-settings", true); err != nil {
		return dfsapi.Portmapper{}, err
	}
	return c.srv.portmapper, nil
}

func (c *fakeClient) SetNFSPortmapper(_ context.Context, p dfsapi.Portmapper) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if err := c.call(fmt.Sprintf("PATCH nfs-settings portmapper=%t", p.Enabled), true); err != nil {
		return err
	}
	c.srv.portmapper.Enabled = p.Enabled
	if p.Port != 0 {
		c.srv.portmapper.Port = p.Port
	}
	return nil
}
