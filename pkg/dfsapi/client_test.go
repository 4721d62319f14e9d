package dfsapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func TestLoginKeepsTheTokenForLaterCalls(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login": loginOK("t1", false),
		"GET /api/v1/groups":      requireToken("t1", reply(200, `[{"name":"users","gid":1000}]`)),
	})
	c := New(f.URL)
	if err := c.Login(ctx, "op", "pw"); err != nil {
		t.Fatal(err)
	}
	groups, err := c.ListGroups(ctx)
	if err != nil || len(groups) != 1 || groups[0].Name != "users" || *groups[0].GID != 1000 {
		t.Fatalf("ListGroups = %+v, %v", groups, err)
	}
	reqs := f.seen()
	if reqs[0].Auth != "" || reqs[0].Body["username"] != "op" || reqs[0].Body["password"] != "pw" {
		t.Errorf("login request %+v", reqs[0])
	}
	if reqs[1].Auth != "Bearer t1" {
		t.Errorf("later call sent Authorization %q, want the login's token", reqs[1].Auth)
	}
}

// An admin-created admin account must change its password before anything
// else; Login sets the same password again and continues with the new token.
func TestLoginClearsThePasswordChangeRequirementWithTheSamePassword(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login":        loginOK("t1", true),
		"POST /api/v1/users/me/password": requireToken("t1", loginOK("t2", false)),
		"GET /api/v1/groups":             requireToken("t2", reply(200, `[]`)),
	})
	c := New(f.URL)
	if err := c.Login(ctx, "operator", "the-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	if want := "POST /api/v1/auth/login\nPOST /api/v1/users/me/password\nGET /api/v1/groups"; join(f.paths()) != want {
		t.Fatalf("requests:\n%s\nwant:\n%s", join(f.paths()), want)
	}
	if reqs[1].Body["new_password"] != "the-pw" || reqs[1].Body["current_password"] != nil {
		t.Errorf("password change body %v, want new_password = the login password", reqs[1].Body)
	}
}

func TestARefusedTokenIsReplacedByOneNewLogin(t *testing.T) {
	var logins atomic.Int32
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login": func(w http.ResponseWriter, r *http.Request) {
			loginOK(fmt.Sprintf("t%d", logins.Add(1)), false)(w, r)
		},
		"GET /api/v1/users":  requireToken("t2", reply(200, `[{"username":"admin","role":"admin","enabled":true}]`)),
		"GET /api/v1/groups": requireToken("never", reply(200, `[]`)),
	})
	c := New(f.URL)
	if err := c.Login(ctx, "op", "pw"); err != nil {
		t.Fatal(err)
	}
	users, err := c.ListUsers(ctx)
	if err != nil || len(users) != 1 || users[0].Role != "admin" || !users[0].Enabled {
		t.Fatalf("ListUsers after an expired token = %+v, %v", users, err)
	}
	want := "POST /api/v1/auth/login\nGET /api/v1/users\nPOST /api/v1/auth/login\nGET /api/v1/users"
	if join(f.paths()) != want {
		t.Fatalf("requests:\n%s\nwant:\n%s", join(f.paths()), want)
	}

	// A 401 that survives the new login is returned, without a loop.
	before := len(f.seen())
	_, err = c.ListGroups(ctx)
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want a 401", err)
	}
	if n := len(f.seen()) - before; n != 3 {
		t.Errorf("%d requests for a call refused twice, want 3 (call, login, call)", n)
	}
}

func TestCallsRefusedTogetherCauseOneNewLogin(t *testing.T) {
	var logins atomic.Int32
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login": func(w http.ResponseWriter, r *http.Request) {
			loginOK(fmt.Sprintf("t%d", logins.Add(1)), false)(w, r)
		},
		"GET /api/v1/users": requireToken("t2", reply(200, `[]`)),
	})
	c := New(f.URL)
	if err := c.Login(ctx, "op", "pw"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.ListUsers(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := logins.Load(); n != 2 {
		t.Errorf("%d logins for 8 calls refused together, want 2 (the first and one new)", n)
	}
}

func TestWithoutLoginA401IsReturned(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"GET /api/v1/shares": requireToken("x", reply(200, `[]`))})
	_, err := New(f.URL).ListShares(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Detail != "Invalid or expired token" {
		t.Fatalf("err = %#v", err)
	}
	if len(f.seen()) != 1 {
		t.Errorf("%d requests, want 1", len(f.seen()))
	}
}

func TestAWrongPasswordIsUnauthorizedAndNeverEchoed(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/auth/login": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, 401, "Unauthorized", "Invalid username or password (got s3cr3t-pw)")
		},
	})
	err := New(f.URL).Login(ctx, "op", "s3cr3t-pw")
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want IsUnauthorized", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("the password appears in the error: %v", err)
	}
}

func TestServerErrorsBecomeErrorWithTheServersDetail(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/groups": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, 409, "Conflict", "Group already exists")
		},
		// The role middleware answers in plain text.
		"DELETE /api/v1/groups/admins": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Admin access required", http.StatusForbidden)
		},
	})
	c := New(f.URL)
	err := c.CreateGroup(ctx, Group{Name: "g"})
	if !IsConflict(err) || err.Error() != "POST /api/v1/groups: 409 Conflict: Group already exists" {
		t.Errorf("duplicate create: %v", err)
	}
	err = c.DeleteGroup(ctx, "admins")
	var e *Error
	if !errors.As(err, &e) || e.Status != 403 || e.Detail != "Admin access required" || e.Title != "Forbidden" {
		t.Errorf("plain-text 403: %#v", err)
	}
	if IsNotFound(err) || IsConflict(err) {
		t.Errorf("a 403 is neither NotFound nor Conflict")
	}
}

func TestS3KeysNeverAppearInErrors(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		// A server that echoes the whole request in its error.
		"POST /api/v1/store/block/remote": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, 400, "Bad Request", fmt.Sprintf("Invalid block store config: %v", requestBody(r)))
		},
		"PUT /api/v1/store/block/remote/s3": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, fmt.Sprint(requestBody(r)), 500)
		},
	})
	c := New(f.URL)
	s := Store{Name: "s3", Type: "s3", Config: map[string]any{"bucket": "b", "endpoint": "http://127.0.0.1:1",
		"access_key_id": "AKIAEXAMPLEKEYID", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}}
	for name, err := range map[string]error{
		"create": c.CreateBlockStore(ctx, BlockRemote, s),
		"update": c.UpdateBlockStore(ctx, BlockRemote, s),
	} {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if msg := err.Error(); strings.Contains(msg, "AKIAEXAMPLEKEYID") || strings.Contains(msg, "wJalrXUtnFEMI") {
			t.Errorf("%s: an S3 key appears in the error: %s", name, msg)
		} else if !strings.Contains(msg, "[redacted]") || !strings.Contains(msg, "bucket") {
			t.Errorf("%s: error lost the server's detail: %s", name, msg)
		}
	}
}

// requestBody is the request body as the fake server received it.
func requestBody(r *http.Request) string {
	var b strings.Builder
	_, _ = fmt.Fprint(&b, r.Header.Get("Content-Type"), " ")
	buf := make([]byte, 4096)
	n, _ := r.Body.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

func TestEveryCallIsBoundedByTheTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{"GET /api/v1/users": func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}})
	defer close(release)
	start := time.Now()
	_, err := New(f.URL, WithTimeout(150*time.Millisecond)).ListUsers(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a hanging server held the call for %s", d)
	}
	if New("http://x").timeout != DefaultTimeout || DefaultTimeout != 10*time.Second {
		t.Errorf("the default timeout is not 10s")
	}
}

// countingTransport stands for a rest.Config transport.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestThroughTheAPIServersServiceProxy(t *testing.T) {
	const proxy = "/api/v1/namespaces/ns/services/http:files-api:8080/proxy"
	f := newFake(t, map[string]http.HandlerFunc{
		"POST " + proxy + "/api/v1/auth/login":                 loginOK("t", false),
		"DELETE " + proxy + "/api/v1/shares/team%2Fdata":       reply(204, ""),
		"DELETE " + proxy + "/api/v1/store/metadata/meta%20db": reply(204, ""),
	})
	rt := &countingTransport{}
	c := New(f.URL+proxy+"/", WithTransport(rt), WithUserAgent("dittofs-operator/test"))
	if err := c.Login(ctx, "op", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteShare(ctx, "/team/data"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMetadataStore(ctx, "meta db"); err != nil {
		t.Fatal(err)
	}
	if rt.n.Load() != 3 {
		t.Errorf("%d requests went through the given transport, want 3", rt.n.Load())
	}
	for _, s := range f.seen() {
		if s.UserAgent != "dittofs-operator/test" {
			t.Errorf("%s %s: User-Agent %q", s.Method, s.Path, s.UserAgent)
		}
	}
}

func TestTheServerIsVerifiedWithTheGivenCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(reply(200, `[]`))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	if _, err := New(srv.URL, WithCAPool(pool)).ListGroups(ctx); err != nil {
		t.Errorf("with the server's CA: %v", err)
	}
	_, err := New(srv.URL).ListGroups(ctx)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("without the CA: err = %v, want an unknown-authority error", err)
	}
}

func TestDrainUploadsWaitsLongerThanACall(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{"POST /api/v1/system/drain-uploads": func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		reply(200, `{"status":"drained"}`)(w, r)
	}})
	c := New(f.URL, WithTimeout(100*time.Millisecond))
	if err := c.DrainUploads(ctx, 5*time.Second); err != nil {
		t.Errorf("a drain longer than the per-call timeout: %v", err)
	}
	if err := c.DrainUploads(ctx, 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a drain past its own timeout: %v", err)
	}
}
