//go:build realdfs

package serverstate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// spec.volume against the real dfs v0.29.0: the controller makes the share
// and its PersistentVolume, and a client that follows only the PV — its NFS
// server and path, and the port, mountport, nfsvers and proto of its mount
// options — mounts the export with the MOUNT v3 protocol and writes and
// reads a file over NFSv3 as the share owner's uid, as a kernel client on a
// node would. The file Service's cluster IP is 127.0.0.1 here and its NFS
// port the container's (12049), so the PV's parameters reach the real server.
// What this cannot prove: the node's kernel NFS client (none here).
func TestRealServerShareVolumeMounts(t *testing.T) {
	rs := startRealServer(t, func(ds *dittov1alpha1.DittoServer) { ds.Spec.NFSPort = ptr.To(resources.ContainerNFSPort) }, nil)
	rs.waitReady(t)
	ds := rs.ds
	svc := resources.FileService(ds)
	svc.Spec.ClusterIP = "127.0.0.1"
	share := dittoShare("projects", func(s *dittov1alpha1.DittoShare) {
		s.Spec.Owner = "alice"
		s.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "alice", Level: dittov1alpha1.PermissionReadWrite}}
		s.Spec.Volume = &dittov1alpha1.ShareVolume{ClaimName: "projects"}
	})
	alice := dittoUser("alice", func(u *dittov1alpha1.DittoUser) { u.Spec.UID, u.Spec.GID = ptr.To[int64](1001), ptr.To[int64](1001) })
	f := newFixture(t, ds, adminSecret(ds), statefulSet(ds), svc, passwordSecret("alice-password", "alice-secret-pw"), alice, share)
	f.c.newAPI = func(u string, _ http.RoundTripper) dfsapi.API { return dfsapi.New(u) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): fmt.Sprintf("http://127.0.0.1:%d", rs.port)})
	for pass := 1; pass <= 3; pass++ {
		if err := f.sync(); err != nil && !errors.Is(err, errRequeue) {
			t.Fatalf("pass %d: %v\n%s", pass, err, rs.proc.Logs())
		}
	}
	pv, err := f.pv(ShareVolumeName(f.share("projects")))
	if err != nil {
		t.Fatalf("no PersistentVolume: %v; share status %+v", err, f.share("projects").Status)
	}
	opts := map[string]string{}
	for _, o := range pv.Spec.MountOptions {
		k, v, _ := strings.Cut(o, "=")
		opts[k] = v
	}
	t.Logf("PV %s: nfs %s:%s, mount options %v", pv.Name, pv.Spec.NFS.Server, pv.Spec.NFS.Path, pv.Spec.MountOptions)
	if opts["nfsvers"] != "3" || opts["proto"] != "tcp" || opts["mountproto"] != "tcp" || !slices.Contains(pv.Spec.MountOptions, "nolock") {
		t.Errorf("mount options %v: want nfsvers=3, proto=tcp, mountproto=tcp, nolock", pv.Spec.MountOptions)
	}
	port, _ := strconv.Atoi(opts["port"])
	mountport, _ := strconv.Atoi(opts["mountport"])
	if port != int(resources.ContainerNFSPort) || mountport != port {
		t.Fatalf("port=%d mountport=%d: dfs serves NFS and MOUNT on one port, %d here", port, mountport, resources.ContainerNFSPort)
	}

	// MOUNT v3 on mountport; NFSv3 on the same connection, which is port.
	client, err := nfs.DialServiceAtPort(pv.Spec.NFS.Server, mountport)
	if err != nil {
		t.Fatalf("dial %s:%d: %v", pv.Spec.NFS.Server, mountport, err)
	}
	defer client.Close()
	mount := &nfs.Mount{Client: client}
	target, err := mount.Mount(pv.Spec.NFS.Path, rpc.NewAuthUnix("realvolume", 1001, 1001).Auth())
	if err != nil {
		t.Fatalf("MOUNT %s from %s:%d: %v\n%s", pv.Spec.NFS.Path, pv.Spec.NFS.Server, mountport, err, rs.proc.Logs())
	}
	defer func() { _ = mount.Unmount() }()
	data := []byte("written through the PersistentVolume's parameters\n")
	w, err := target.OpenFile("from-pv.txt", 0o644)
	if err != nil {
		t.Fatalf("create a file at the share's root as uid 1001 (the owner): %v", err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := target.Open("from-pv.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back %q, %v; want %q", got, err, data)
	}
	// The server reports the file in the share list the passes read, which
	// is where status.usage comes from.
	api := dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", rs.port))
	if err := api.Login(f.ctx, "admin", fakeAdminPassword); err != nil {
		t.Fatal(err)
	}
	var used int64 = -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list, err := api.ListShares(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range list {
			if normalizeExport(sh.Name) == "/projects" {
				used = sh.UsedBytes
			}
		}
		if used == int64(len(data)) {
			break
		}
	}
	if used != int64(len(data)) {
		t.Errorf("the server reports used_bytes %d for /projects after a %d-byte write", used, len(data))
	}
	f.c.now = func() time.Time { return t0.Add(DefaultUsageInterval) }
	if err := f.sync(); err != nil && !errors.Is(err, errRequeue) {
		t.Fatal(err)
	}
	t.Logf("server used_bytes %d; status.usage %+v (a step is 64 MiB without a quota)", used, f.share("projects").Status.Usage)
}
