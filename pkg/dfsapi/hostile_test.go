package dfsapi

// A server that answers with what no DittoFS server writes must cost the
// operator little: bounded reads, a deadline, no redirect followed, short
// error text. Every server here listens on loopback (httptest).

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// endless writes chunks of b until the client goes away, after opening
// with prefix: a body that is never read whole, or the test times out.
func endless(status int, prefix, b string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(prefix))
		chunk := []byte(strings.Repeat(b, 4096/len(b)))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

func TestOversizeBodiesAreRefusedNamingTheLimit(t *testing.T) {
	user := `{"id":"u","username":"x","role":"user","enabled":true},`
	for _, tc := range []struct {
		name, limit string
		handler     http.HandlerFunc
		call        func(*Client) error
	}{
		{"a list", "1 MiB", endless(200, "[", user), func(c *Client) error { _, err := c.ListUsers(ctx); return err }},
		{"a list just over the limit", "1 MiB", reply(200, "["+strings.Repeat(user, MaxListBytes/len(user))+`{}]`),
			func(c *Client) error { _, err := c.ListUsers(ctx); return err }},
		{"a login", "64 KiB", endless(200, `{"access_token":"`, "x"), func(c *Client) error { return c.Login(ctx, "op", "pw") }},
		{"an error", "64 KiB", endless(500, `{"detail":"`, "x"), func(c *Client) error { _, err := c.ListUsers(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := New(srv.URL, WithTimeout(30*time.Second))
			start := time.Now()
			err := tc.call(c)
			if err == nil || !strings.Contains(err.Error(), "limit of "+tc.limit) {
				t.Fatalf("err = %v, want one naming the limit of %s", err, tc.limit)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v: the body was not cut at the limit", d)
			}
			if len(err.Error()) > 2*MaxErrorText {
				t.Errorf("error text of %d bytes", len(err.Error()))
			}
		})
	}
	// A list within the limit is read.
	srv := httptest.NewServer(reply(200, "["+strings.Repeat(user, 1000)+`{"username":"last"}]`))
	defer srv.Close()
	if users, err := New(srv.URL).ListUsers(ctx); err != nil || len(users) != 1001 {
		t.Errorf("a list of 1001 users: %d, %v", len(users), err)
	}
}

func TestASlowServerMeetsTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("["))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // headers sent, the body never ends
	}))
	defer srv.Close()
	c := New(srv.URL, WithTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := c.ListShares(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	// The caller's deadline (one pass's) bounds it too.
	pass, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := New(srv.URL).ListShares(pass); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with the pass's deadline: %v", err)
	}
}

// A redirect is an error; its target, which would receive the password or
// the token, is never reached.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		loginOK("stolen", false)(w, r)
	}))
	defer target.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, status)
		}))
		c := New(redirector.URL)
		err := c.Login(ctx, "op", "the-password")
		var e *Error
		if !errors.As(err, &e) || e.Status != status || !strings.Contains(err.Error(), "redirect not followed") {
			t.Errorf("%d: login err = %v, want an error for the redirect", status, err)
		}
		if err != nil && strings.Contains(err.Error(), "the-password") {
			t.Errorf("%d: the password appears in %v", status, err)
		}
		if _, err := c.ListUsers(ctx); err == nil {
			t.Errorf("%d: a redirected list succeeded", status)
		}
		redirector.Close()
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target was reached %d times", n)
	}
}

func TestProblemTextIsBounded(t *testing.T) {
	huge := strings.Repeat("é", 10000) // 20000 bytes, two per rune
	for _, tc := range []struct{ name, body string }{
		{"problem detail", `{"title":"` + huge + `","status":400,"detail":"` + huge + `"}`},
		{"plain text", huge},
		{"invalid UTF-8", strings.Repeat("a\xff", 20000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(reply(400, tc.body))
			defer srv.Close()
			_, err := New(srv.URL).ListUsers(ctx)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			for what, s := range map[string]string{"title": e.Title, "detail": e.Detail, "error": err.Error()} {
				if !utf8.ValidString(s) {
					t.Errorf("%s is not valid UTF-8", what)
				}
				if what != "error" && len(s) > MaxErrorText {
					t.Errorf("%s of %d bytes, want at most %d", what, len(s), MaxErrorText)
				}
			}
			if len(err.Error()) > MaxErrorText+200 {
				t.Errorf("error text of %d bytes", len(err.Error()))
			}
			if len(tc.body) > MaxErrorText && !strings.HasSuffix(e.Detail, "…") {
				t.Errorf("a cut detail must end with an ellipsis: ...%q", e.Detail[len(e.Detail)-10:])
			}
		})
	}
}

func TestTheServersAPIIsNeverReachedThroughAProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	if tr := NewTransport(nil); tr.Proxy != nil {
		t.Errorf("NewTransport has a Proxy function")
	}
	c := New("http://dittofs-api.ns.svc:8080")
	if tr, ok := c.http.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Errorf("the default transport (%T) uses a proxy", c.http.Transport)
	}
}
