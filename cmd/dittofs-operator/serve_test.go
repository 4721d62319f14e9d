package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The Go profiles are served on the metrics address only with --profiling.
func TestProfilesOnlyWithProfiling(t *testing.T) {
	for _, tc := range []struct {
		profiling bool
		want      int
	}{{false, http.StatusNotFound}, {true, http.StatusOK}} {
		mux := metricsMux(prometheus.NewRegistry(), tc.profiling)
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != tc.want {
				t.Errorf("profiling=%v: GET %s = %d, want %d", tc.profiling, path, rec.Code, tc.want)
			}
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("profiling=%v: GET /metrics = %d", tc.profiling, rec.Code)
		}
	}
}

// /readyz answers with what each controller waits for: 200 while only the
// server state controller waits for its CRDs (the DittoServer controller
// works), 503 until the DittoServer controller's caches synced.
func TestReadyz(t *testing.T) {
	waiting := "serverstate: " + gatedState([]string{"dittoshares.dittofs.dittofs.com"}, true, false)
	if want := "serverstate: waiting for CRDs dittoshares.dittofs.dittofs.com (install them: kubectl apply --server-side -f artifacts/crds/)"; waiting != want {
		t.Errorf("server state line %q, want %q", waiting, want)
	}
	for _, tc := range []struct {
		ready bool
		body  string
		code  int
	}{
		{true, "dittoservers: ready\n" + waiting + "\n", http.StatusOK},
		{false, "dittoservers: caches syncing\n" + waiting + "\n", http.StatusServiceUnavailable},
	} {
		mux := healthMux(func() (bool, string) { return tc.ready, tc.body })
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tc.code || rec.Body.String() != tc.body {
			t.Errorf("ready=%v: /readyz = %d %q, want %d %q", tc.ready, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
	}
	for _, tc := range []struct {
		missing       []string
		known, synced bool
		want          string
	}{
		{nil, false, false, "looking for its CRDs"},
		{nil, true, false, "caches syncing"},
		{nil, true, true, "ready"},
	} {
		if got := gatedState(tc.missing, tc.known, tc.synced); got != tc.want {
			t.Errorf("gatedState(%v, %v, %v) = %q, want %q", tc.missing, tc.known, tc.synced, got, tc.want)
		}
	}
}
