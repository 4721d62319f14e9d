package serverstate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dittofs/dittofs-operator/test/harness/promtest"
)

func TestRequestsAreCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	client := &http.Client{Transport: m.transport(nil)}
	for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	if got := promtest.Value(t, reg, "dittofs_operator_server_api_requests_total", map[string]string{"method": "GET", "code": "200"}); got != 2 {
		t.Errorf("GET 200 = %v, want 2", got)
	}
	if got := promtest.Value(t, reg, "dittofs_operator_server_api_requests_total", map[string]string{"method": "POST", "code": "401"}); got != 1 {
		t.Errorf("POST 401 = %v, want 1", got)
	}
	start := time.Now()
	m.observePass(start, nil)
	m.observePass(start, requeueError("server down"))
	m.observePass(start, errors.New("read shares: decode: unexpected EOF"))
	if got := promtest.Value(t, reg, "dittofs_operator_server_state_passes_total", map[string]string{"result": "requeue"}); got != 1 {
		t.Errorf("requeue passes = %v, want 1", got)
	}
	// The same passes under controller-runtime's names, for the dashboards
	// written for them.
	for result, want := range map[string]float64{"success": 1, "requeue": 1, "error": 1} {
		labels := map[string]string{"controller": ControllerName, "result": result}
		if got := promtest.Value(t, reg, "controller_runtime_reconcile_total", labels); got != want {
			t.Errorf("controller_runtime_reconcile_total%v = %v, want %v", labels, got, want)
		}
	}
	if got := promtest.Value(t, reg, "controller_runtime_reconcile_errors_total", map[string]string{"controller": ControllerName}); got != 1 {
		t.Errorf("controller_runtime_reconcile_errors_total = %v, want 1", got)
	}
	var none *Metrics
	none.observePass(start, nil) // a nil *Metrics records nothing
	if none.transport(nil) != nil {
		t.Errorf("without metrics the client keeps its default transport")
	}
}
