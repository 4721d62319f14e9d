// Package fileserving proves, with the real DittoFS server (dfs v0.29.0 run
// by test/dfs as the operator's pod runs it) and the operator's REST client
// (pkg/dfsapi), that what the operator declares through the REST API serves
// files: a file written over NFSv3 is read back over SMB by the user the
// operator created, survives a SIGTERM and a restart on the same volumes,
// and, with a remote S3 block store, its blocks reach a real S3-compatible
// server on loopback (versitygw, hack/build-s3.sh).
//
// The tests need root (the dfs harness) and build dfs and versitygw from the
// Go module proxy on first use. dfs runs are serialized machine-wide by the
// harness (its NFS and SMB ports are fixed), so nothing here is parallel.
package fileserving

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

const (
	shareName    = "/export"
	userName     = "alice"
	userPassword = "Alice-Files-Pa55"
	userUID      = 1001
	userGID      = 1001
)

var ctx = context.Background()

// declared is what the operator declares for a server without S3: the
// stores on the pod's volumes, one user, one share granting that user
// read-write.
type declared struct {
	metadata   dfsapi.Store
	local      dfsapi.Store
	remote     *dfsapi.Store
	user       dfsapi.User
	share      dfsapi.Share
	permission dfsapi.Permission
}

func declaration() declared {
	return declared{
		metadata: dfsapi.Store{Name: resources.MetadataStoreName, Type: "badger",
			Config: map[string]any{"path": resources.MetadataStorePath()}},
		local: dfsapi.Store{Name: resources.LocalBlockStoreName, Type: "fs",
			Config: map[string]any{"path": resources.LocalBlockStorePath()}},
		user: dfsapi.User{Username: userName, Role: "user", UID: ptr.To[uint32](userUID), GID: ptr.To[uint32](userGID), Enabled: true},
		share: dfsapi.Share{Name: shareName, MetadataStore: resources.MetadataStoreName,
			LocalBlockStore: resources.LocalBlockStoreName, DefaultPermission: "none", Enabled: true, Owner: userName},
		permission: dfsapi.Permission{Type: "user", Name: userName, Level: "read-write"},
	}
}

// apply creates everything in d on an empty server, in the order the server
// needs (stores before the share, the user before its grant).
func (d declared) apply(t *testing.T, api dfsapi.API) {
	t.Helper()
	must(t, "create the metadata store", api.CreateMetadataStore(ctx, d.metadata))
	must(t, "create the local block store", api.CreateBlockStore(ctx, dfsapi.BlockLocal, d.local))
	if d.remote != nil {
		must(t, "create the remote block store", api.CreateBlockStore(ctx, dfsapi.BlockRemote, *d.remote))
	}
	must(t, "create the user", created(api.CreateUser(ctx, d.user, userPassword)))
	must(t, "create the share", created(api.CreateShare(ctx, d.share)))
	must(t, "grant the user", api.SetSharePermission(ctx, d.share.Name, d.permission))
}

// verify reads the server's state back, as a resync would, and requires it
// to be what was declared.
func (d declared) verify(t *testing.T, api dfsapi.API) {
	t.Helper()
	metas, err := api.ListMetadataStores(ctx)
	must(t, "list metadata stores", err)
	requireStore(t, metas, d.metadata)
	locals, err := api.ListBlockStores(ctx, dfsapi.BlockLocal)
	must(t, "list local block stores", err)
	requireStore(t, locals, d.local)
	remotes, err := api.ListBlockStores(ctx, dfsapi.BlockRemote)
	must(t, "list remote block stores", err)
	if d.remote != nil {
		requireStore(t, remotes, *d.remote)
	} else if len(remotes) != 0 {
		t.Errorf("remote block stores %+v, none declared", remotes)
	}
	users, err := api.ListUsers(ctx)
	must(t, "list users", err)
	found := false
	for _, u := range users {
		if u.Username == d.user.Username {
			found = true
			if u.Role != d.user.Role || *u.UID != *d.user.UID || *u.GID != *d.user.GID || !u.Enabled {
				t.Errorf("user %+v, declared %+v", u, d.user)
			}
		}
	}
	if !found {
		t.Errorf("user %s not on the server: %+v", d.user.Username, users)
	}
	shares, err := api.ListShares(ctx)
	must(t, "list shares", err)
	want := d.share
	want.Owner = "" // fixed at creation, not read back
	if shares = withoutIDs(t, shares); len(shares) != 1 || shares[0] != want {
		t.Errorf("shares %+v, declared %+v", shares, d.share)
	}
	perms, err := api.ListSharePermissions(ctx, d.share.Name)
	must(t, "list permissions", err)
	if len(perms) != 1 || perms[0] != d.permission {
		t.Errorf("permissions %+v, declared %+v", perms, d.permission)
	}
}

func requireStore(t *testing.T, got []dfsapi.Store, want dfsapi.Store) {
	t.Helper()
	if len(got) != 1 || got[0].Name != want.Name || got[0].Type != want.Type || !dfsapi.ConfigMatches(want.Config, got[0].Config) {
		t.Errorf("stores %+v, declared %+v", got, want)
	}
}

// withoutIDs checks that the server gave every share an id and drops the
// ids and the usage figures, which no declaration knows, for comparing with one.
func withoutIDs(t *testing.T, shares []dfsapi.Share) []dfsapi.Share {
	t.Helper()
	out := make([]dfsapi.Share, len(shares))
	for i, s := range shares {
		if s.ID == "" {
			t.Errorf("share %s has no id", s.Name)
		}
		s.ID = ""
		s.UsedBytes, s.PhysicalBytes = 0, 0 // what the files take, observed, never declared
		out[i] = s
	}
	return out
}

// created is the error of a create, or one when the server gave the new
// object no id (the operator records that id as its proof of ownership).
func created(id string, err error) error {
	if err == nil && id == "" {
		return errors.New("the server returned no id for the new object")
	}
	return err
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAFileWrittenOverNFSIsReadOverSMBAndSurvivesARestart is the path a user
// takes: stores, a user and a share declared through the REST API; a file
// written by an NFS client; read back by an SMB client logged in as the
// user; still there, byte for byte, after SIGTERM and a restart on the same
// volumes.
func TestAFileWrittenOverNFSIsReadOverSMBAndSurvivesARestart(t *testing.T) {
	requireRoot(t)
	vols := newVolumes(t)
	apiPort := proc.FreePortForTest(t)
	srv := startServer(t, vols, apiPort)
	must(t, "log in as admin", srv.api.Login(ctx, "admin", adminPassword))
	srv.requests.Take()

	d := declaration()
	d.apply(t, srv.api)
	writes := srv.requests.Take().ByMethod()
	t.Logf("REST requests to declare 2 stores, 1 user, 1 share and its grant on an empty server: %v", writes)
	d.verify(t, srv.api)
	reads := srv.requests.Take().ByMethod()
	requireRootOwner(t, srv, shareName, userUID, userGID)
	t.Logf("REST requests to verify that state (a resync of a converged server): %v", reads)
	if reads["GET"] == 0 || len(reads) != 1 {
		t.Errorf("verifying wrote to the server: %v", reads)
	}

	content := append([]byte("written over NFS, read over SMB\n"), randomBytes(t, 300<<10)...)
	must(t, "NFS write", nfsWrite(nfsPort, shareName, "hello.bin", content, userUID, userGID))
	got, err := smbRead(smbPort, shareName, "hello.bin", userName, userPassword)
	must(t, "SMB read", err)
	if !bytes.Equal(got, content) {
		t.Fatalf("SMB read %d bytes, not the %d written over NFS", len(got), len(content))
	}
	if _, err := smbRead(smbPort, shareName, "hello.bin", userName, "not-the-password"); err == nil {
		t.Errorf("SMB accepted a wrong password")
	}

	srv.stop()
	before := srv
	srv = startServer(t, vols, apiPort)
	// The token issued before the restart is still accepted (same JWT
	// secret): the old client lists without logging in again.
	if _, err := before.api.ListUsers(ctx); err != nil {
		t.Errorf("the client of the stopped server, after the restart: %v", err)
	}
	if n := before.requests.Take().ByMethod(); n["POST"] != 0 || n["GET"] != 1 {
		t.Errorf("requests of the old client after the restart: %v, want one GET and no new login", n)
	}
	must(t, "log in as admin after the restart", srv.api.Login(ctx, "admin", adminPassword))
	d.verify(t, srv.api)
	got, err = smbRead(smbPort, shareName, "hello.bin", userName, userPassword)
	must(t, "SMB read after the restart", err)
	if !bytes.Equal(got, content) {
		t.Fatalf("after the restart SMB read %d bytes, not the %d written", len(got), len(content))
	}
	got, err = nfsRead(nfsPort, shareName, "hello.bin", userUID, userGID)
	must(t, "NFS read after the restart", err)
	if !bytes.Equal(got, content) {
		t.Fatalf("after the restart NFS read %d bytes, not the %d written", len(got), len(content))
	}
	blocks, err := filesUnder(vols.hostPath(t, resources.LocalBlockStorePath()))
	must(t, "list the local block store", err)
	if len(blocks) == 0 {
		t.Errorf("no file in the local block store's directory on the content volume")
	}
	srv.stop()
}

// requireRootOwner checks, as the server reports it, that the share's root
// directory belongs to the declared owner (Share.Owner), so that this user
// may create files at the root whatever the client checks.
func requireRootOwner(t *testing.T, srv *server, share string, uid, gid uint32) {
	t.Helper()
	token := dfs.LoginForTest(t, srv.apiPort, "admin", adminPassword)
	status, body, err := dfs.Request(srv.apiPort, token, http.MethodGet, "/api/v1/shares"+share, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET share %s: %d %s %v", share, status, body, err)
	}
	var got struct {
		OwnerUID *uint32 `json:"owner_uid"`
		OwnerGID *uint32 `json:"owner_gid"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("share %s: %v", share, err)
	}
	if got.OwnerUID == nil || *got.OwnerUID != uid || got.OwnerGID == nil || *got.OwnerGID != gid {
		t.Errorf("share %s root owner uid=%v gid=%v, want %d:%d (Owner %q)", share, got.OwnerUID, got.OwnerGID, uid, gid, userName)
	}
}
