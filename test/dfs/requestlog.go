package dfs

import (
	"net/http"
	"strings"
	"sync"
)

// RequestLog is an http.RoundTripper that records every request a REST
// client sends ("METHOD /path") before passing it to
// http.DefaultTransport: what a test counts to show how many requests a
// reconcile costs.
type RequestLog struct {
	mu    sync.Mutex
	calls Requests
}

// RoundTrip records r and sends it.
func (l *RequestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.calls = append(l.calls, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// Take returns the requests recorded since the last Take and forgets them.
func (l *RequestLog) Take() Requests {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = nil
	return calls
}

// Requests are recorded requests, "METHOD /path" each, in order.
type Requests []string

// Writes are the requests that are not GET.
func (rs Requests) Writes() Requests {
	var out Requests
	for _, r := range rs {
		if !strings.HasPrefix(r, http.MethodGet+" ") {
			out = append(out, r)
		}
	}
	return out
}

// ByMethod counts the requests by method.
func (rs Requests) ByMethod() map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		method, _, _ := strings.Cut(r, " ")
		out[method]++
	}
	return out
}
