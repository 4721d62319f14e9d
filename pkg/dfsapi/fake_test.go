package dfsapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// seen is one request as the fake server received it.
type seen struct {
	Method, Path, Auth, UserAgent string
	Body                          map[string]any
}

// fakeServer answers with the handler registered for "METHOD /path" (the
// escaped path), and records every request.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seen
	routes   map[string]http.HandlerFunc
}

func newFake(t *testing.T, routes map[string]http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{routes: routes}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	s := seen{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), UserAgent: r.UserAgent()}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &s.Body)
	}
	f.mu.Lock()
	f.requests = append(f.requests, s)
	h := f.routes[r.Method+" "+s.Path]
	f.mu.Unlock()
	if h == nil {
		problemJSON(w, http.StatusNotFound, "Not Found", "no route "+r.Method+" "+s.Path)
		return
	}
	h(w, r)
}

func (f *fakeServer) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func (f *fakeServer) paths() []string {
	var out []string
	for _, s := range f.seen() {
		out = append(out, s.Method+" "+s.Path)
	}
	return out
}

func problemJSON(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// loginOK answers a login with token and the must_change_password flag.
func loginOK(token string, mustChange bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(map[string]any{"access_token": token, "refresh_token": "r-" + token,
			"token_type": "Bearer", "expires_in": 900, "user": map[string]any{"username": "op", "must_change_password": mustChange}})
		reply(http.StatusOK, string(body))(w, r)
	}
}

// requireToken answers 401 in plain text, as the server's middleware does,
// unless the request carries token.
func requireToken(token string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "Invalid or expired token", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func join(s []string) string { return strings.Join(s, "\n") }
