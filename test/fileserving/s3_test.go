package fileserving

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

const (
	s3Bucket = "dittofs-blocks"
	s3Access = "fileserving-access-key"
	s3Secret = "fileserving-secret-key-0123456789"
)

var (
	s3Once sync.Once
	s3Path string
	s3Err  error
)

// s3Binary returns $VERSITYGW_BINARY or builds (once, cached) versitygw with
// hack/build-s3.sh.
func s3Binary(t *testing.T) string {
	t.Helper()
	s3Once.Do(func() {
		if p := os.Getenv("VERSITYGW_BINARY"); p != "" {
			s3Path = p
			return
		}
		var script string
		if script, s3Err = findUp("hack/build-s3.sh"); s3Err != nil {
			return
		}
		var stderr bytes.Buffer
		cmd := exec.Command("bash", script)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			s3Err = fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		s3Path = lines[len(lines)-1]
	})
	if s3Err != nil {
		t.Fatalf("cannot build the S3 server (hack/build-s3.sh needs Go and the Go module proxy; or set VERSITYGW_BINARY): %v", s3Err)
	}
	return s3Path
}

func findUp(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New(rel + " not found above the working directory")
		}
		dir = parent
	}
}

// s3Server is versitygw serving the directory root as S3 (posix backend: a
// bucket is a directory, an object a file) on a loopback port.
type s3Server struct {
	port int
	root string
}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{port: freePort(t), root: t.TempDir()}
	// A bucket of the posix backend is a directory under its root.
	if err := os.Mkdir(filepath.Join(s.root, s3Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(s3Binary(t), "--port", fmt.Sprintf("127.0.0.1:%d", s.port), "posix", s.root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s3Access, "ROOT_SECRET_ACCESS_KEY="+s3Secret)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("versitygw output:\n%s", tail(logs.String(), 40))
		}
	})
	if err := waitTCP(s.port, 30*time.Second); err != nil {
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

// objects are the bucket's objects (files under its directory) and their
// total size.
func (s *s3Server) objects(t *testing.T) ([]string, int64) {
	t.Helper()
	dir := filepath.Join(s.root, s3Bucket)
	files, err := filesUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			size += fi.Size()
		}
	}
	return files, size
}

// TestAFilesBlocksReachTheS3Bucket: with a remote S3 block store (a real
// S3-compatible server on loopback), a file written over NFS reaches the
// bucket without any further call: the server uploads its blocks on its own
// (after its upload delay), and the file reads back over SMB.
func TestAFilesBlocksReachTheS3Bucket(t *testing.T) {
	requireRoot(t)
	s3 := startS3(t)
	srv := startServer(t, newVolumes(t), freePort(t))
	must(t, "log in as admin", srv.api.Login(ctx, "admin", adminPassword))
	srv.requests.take()

	d := declaration()
	remote := s3.store()
	d.remote = &remote
	d.share.RemoteBlockStore = remote.Name
	d.apply(t, srv.api)
	t.Logf("REST requests to declare 3 stores (one S3), 1 user, 1 share and its grant: %v", srv.requests.take())
	d.verify(t, srv.api)
	t.Logf("REST requests to verify that state: %v", srv.requests.take())

	if files, _ := s3.objects(t); len(files) != 0 {
		t.Fatalf("the bucket holds %v before any file was written", files)
	}
	content := randomBytes(t, 3<<20)
	written := time.Now()
	must(t, "NFS write", nfsWrite(nfsPort, shareName, "big.bin", content, userUID, userGID))

	deadline := written.Add(2 * time.Minute)
	for {
		files, size := s3.objects(t)
		if len(files) > 0 && size >= int64(len(content)) {
			t.Logf("%d objects, %d bytes in the bucket %s after the write (for a %d-byte file): %v",
				len(files), size, time.Since(written).Round(100*time.Millisecond), len(content), files)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the bucket holds %d objects, %d bytes, for a %d-byte file: %v",
				time.Since(written).Round(time.Second), len(files), size, len(content), files)
		}
		time.Sleep(500 * time.Millisecond)
	}
	got, err := smbRead(smbPort, shareName, "big.bin", userName, userPassword)
	must(t, "SMB read", err)
	if !bytes.Equal(got, content) {
		t.Fatalf("SMB read %d bytes, not the %d written", len(got), len(content))
	}
	srv.stop()
}
