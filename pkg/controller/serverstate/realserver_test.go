//go:build dfsapiclient

// This test needs pkg/dfsapi's client (dfsapi.New), which is merged
// separately; run it with -tags dfsapiclient once it is there, and drop the
// build tag in the merge.

package serverstate

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// requestLog records the REST requests the controller sends.
type requestLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.calls = append(l.calls, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// take returns all requests and the writes (not GET) since the last call.
func (l *requestLog) take() (all, writes []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	all, l.calls = l.calls, nil
	for _, c := range all {
		if !strings.HasPrefix(c, "GET ") {
			writes = append(writes, c)
		}
	}
	return all, writes
}

// The controller against the real dfs v0.29.0, run as the operator's pod
// runs it: the first pass declares the operator's account, the stores, a
// group, a user, a share and its grants; a resync writes nothing; an edit
// with a quota the server reads back rounded costs one update; a share
// removed behind the operator's back comes back.
func TestRealServer(t *testing.T) {
	bin, err := dfs.Binary()
	if err != nil {
		t.Fatalf("the real dfs binary (hack/build-dfs.sh): %v", err)
	}
	port, err := dfs.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	vols := map[string]string{}
	for _, name := range []string{resources.VolumeMetadata, resources.VolumeContent, resources.VolumeControlPlane} {
		vols[filepath.Join(resources.DataDir, name)] = filepath.Join(base, name)
	}
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(port))}
	})
	config, err := resources.ConfigYAML(ds, resources.Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := dfs.Start(context.Background(), dfs.Options{Binary: bin, Args: dfs.ImageArgs,
		Env: map[string]string{"DITTOFS_CONTROLPLANE_SECRET": "serverstate-jwt-secret-0123456789abcdef",
			"DITTOFS_ADMIN_INITIAL_PASSWORD": fakeAdminPassword},
		Files: map[string][]byte{"/config/config.yaml": config}, Mounts: vols, Hostname: "nas-0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Close)
	if st, body, err := dfs.WaitHTTP(port, "/health/ready", 60*time.Second); err != nil || st != http.StatusOK {
		t.Fatalf("dfs not ready: %d %s %v\n%s", st, body, err, proc.Logs())
	}
	baseURL := fmt.Sprintf("http://127.0.0.1:%d", port)

	objs := teamObjects()
	objs[0] = ds
	f := newFixture(t, objs...)
	log := &requestLog{}
	f.c.newAPI = func(u string, _ http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(log)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): baseURL})

	if err := f.sync(); err != nil {
		t.Fatalf("first pass: %v", err)
	}
	all, writes := log.take()
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
			t.Errorf("%s: %+v\n%s", obj.what, c, proc.Logs())
		}
	}

	for pass := 1; pass <= 2; pass++ {
		if err := f.sync(); err != nil {
			t.Fatalf("resync %d: %v", pass, err)
		}
		all, writes := log.take()
		t.Logf("resync %d: %d requests: %v", pass, len(all), all)
		if len(writes) != 0 || len(f.kubeWrites()) != 0 {
			t.Errorf("resync %d: REST writes %v, Kubernetes writes %v; want none", pass, writes, f.kubeWrites())
		}
	}

	s := f.share("projects")
	s.Spec.ReadOnly, s.Spec.Quota = true, ptr.To(resource.MustParse("1G"))
	s.Generation++
	f.update(s, gvrDittoShares)
	_ = f.sync()
	if _, writes := log.take(); !slices.Equal(writes, []string{"PUT /api/v1/shares/projects"}) {
		t.Errorf("edit: writes %v, want one share update", writes)
	}
	_ = f.sync()
	if _, writes := log.take(); len(writes) != 0 {
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
	if _, writes := log.take(); !slices.Contains(writes, "POST /api/v1/shares") {
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
	_, writes = log.take()
	t.Logf("account reset: %v", writes)
	if !slices.Contains(writes, "POST /api/v1/users/"+OperatorUsername+"/password") || !hasEvent(f.events(), "Normal "+ReasonOperatorAccountSet) {
		t.Errorf("the account's password must be reset through the admin login: %v", writes)
	}
	_ = f.sync()
	if _, writes := log.take(); len(writes) != 0 {
		t.Errorf("after the reset: writes %v, want none", writes)
	}
}
