package fileserving

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

const (
	s3Bucket = "dittofs-blocks"
	s3Access = "fileserving-access-key"
	s3Secret = "fileserving-secret-key-0123456789"
)

// s3Binary returns $VERSITYGW_BINARY or builds (once, cached) versitygw with
// hack/build-s3.sh.
func s3Binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW_BINARY"); p != "" {
		return p
	}
	path, err := proc.BuildScript("build-s3.sh")
	if err != nil {
		t.Fatalf("cannot build the S3 server (hack/build-s3.sh needs Go and the Go module proxy; or set VERSITYGW_BINARY): %v", err)
	}
	return path
}

// s3Server is versitygw serving the directory root as S3 (posix backend: a
// bucket is a directory, an object a file) on a loopback port.
type s3Server struct {
	port int
	root string
}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{port: proc.FreePortForTest(t), root: t.TempDir()}
	// A bucket of the posix backend is a directory under its root.
	if err := os.Mkdir(filepath.Join(s.root, s3Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &proc.Buffer{}
	cmd := exec.Command(s3Binary(t), "--port", fmt.Sprintf("127.0.0.1:%d", s.port), "posix", s.root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s3Access, "ROOT_SECRET_ACCESS_KEY="+s3Secret)
	cmd.Stdout, cmd.Stderr = logs, logs
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
			t.Logf("stop versitygw: %v", err)
		}
		if t.Failed() {
			t.Logf("versitygw output:\n%s", proc.Tail(logs.String(), 40))
		}
	})
	if err := proc.WaitTCP(s.port, 30*time.Second); err != nil {
		t.Fatalf("versitygw on 127.0.0.1:%d: %v\n%s", s.port, err, logs.String())
	}
	return s
}

// store is the remote block store the operator declares for spec.s3.
func (s *s3Server) store() dfsapi.Store {
	return dfsapi.Store{Name: resources.RemoteBlockStoreName, Type: "s3", Config: map[string]any{
		"bucket":            s3Bucket,
		"region":            "us-east-1",
		"endpoint":          fmt.Sprintf("http://127.0.0.1:%d", s.port),
		"force_path_style":  true,
		"access_key_id":     s3Access,
		"secret_access_key": s3Secret,
		// The server refuses loopback and private endpoints otherwise.
		"allow_private_endpoint": true,
	}}
}

// objects are the bucket's objects (files under its directory, not the
// server's temporary files of uploads in progress) and their total size.
func (s *s3Server) objects(t *testing.T) ([]string, int64) {
	t.Helper()
	dir := filepath.Join(s.root, s3Bucket)
	files, err := filesUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var objects []string
	var size int64
	for _, f := range files {
		if strings.HasPrefix(f, ".sgwtmp/") { // an upload in progress
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			objects = append(objects, f)
			size += fi.Size()
		}
	}
	return objects, size
}

// TestAFilesBlocksReachTheS3Bucket: with a remote S3 block store (a real
// S3-compatible server on loopback), a file written over NFS reaches the
// bucket without any further call: the server uploads its blocks on its own
// (after its upload delay), and the file reads back over SMB.
func TestAFilesBlocksReachTheS3Bucket(t *testing.T) {
	requireRoot(t)
	s3 := startS3(t)
	vols, apiPort := newVolumes(t), proc.FreePortForTest(t)
	srv := startServer(t, vols, apiPort)
	must(t, "log in as admin", srv.api.Login(ctx, "admin", adminPassword))
	srv.requests.Take()

	d := declaration()
	remote := s3.store()
	d.remote = &remote
	d.share.RemoteBlockStore = remote.Name
	d.apply(t, srv.api)
	t.Logf("REST requests to declare 3 stores (one S3), 1 user, 1 share and its grant: %v", srv.requests.Take().ByMethod())
	d.verify(t, srv.api)
	t.Logf("REST requests to verify that state: %v", srv.requests.Take().ByMethod())

	if objects, _ := s3.objects(t); len(objects) != 0 {
		t.Fatalf("the bucket holds %v before any file was written", objects)
	}
	content := randomBytes(t, 3<<20)
	written := time.Now()
	must(t, "NFS write", nfsWrite(nfsPort, shareName, "big.bin", content, userUID, userGID))
	for deadline := written.Add(2 * time.Minute); ; {
		objects, size := s3.objects(t)
		if len(objects) > 0 && size >= int64(len(content)) {
			t.Logf("%d objects, %d bytes in the bucket %s after the write began (for a %d-byte file): %v",
				len(objects), size, time.Since(written).Round(100*time.Millisecond), len(content), objects)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the bucket holds %d objects, %d bytes, for a %d-byte file: %v",
				time.Since(written).Round(time.Second), len(objects), size, len(content), objects)
		}
		time.Sleep(500 * time.Millisecond)
	}
	got, err := smbRead(smbPort, shareName, "big.bin", userName, userPassword)
	must(t, "SMB read", err)
	if !bytes.Equal(got, content) {
		t.Fatalf("SMB read %d bytes, not the %d written", len(got), len(content))
	}
	must(t, "drain uploads", srv.api.DrainUploads(ctx, time.Minute))

	// What v0.29.0 does when the local block store is lost (an emptied
	// content volume) although every block is in the bucket and uploads
	// were drained: the file reads back as zeros and the server never asks
	// the bucket for it. So even with S3 the local block store holds data
	// the server cannot rebuild, and its volume must be persistent. This
	// fails, on purpose, the day the server reads the bucket instead.
	srv.stop()
	local := vols.hostPath(t, resources.LocalBlockStorePath())
	entries, err := os.ReadDir(local)
	must(t, "read the local block store", err)
	for _, e := range entries {
		must(t, "empty the local block store", os.RemoveAll(filepath.Join(local, e.Name())))
	}
	srv = startServer(t, vols, apiPort)
	got, err = smbRead(smbPort, shareName, "big.bin", userName, userPassword)
	must(t, "SMB read with an empty local block store", err)
	if len(got) != len(content) || bytes.Count(got, []byte{0}) != len(got) {
		t.Errorf("with the local block store emptied, SMB read %d bytes (%d zero) of the %d written: the server "+
			"no longer loses the data it uploaded; revisit docs/dittofs-rest.md and the volume layout",
			len(got), bytes.Count(got, []byte{0}), len(content))
	}
	srv.stop()
}
