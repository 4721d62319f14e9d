package serverstate

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/metrics"
)

// ControllerName names this controller in controller-runtime's reconcile
// metrics (label controller) and its work queue (label name of workqueue_*).
const ControllerName = "serverstate"

// Metrics are the controller's own Prometheus metrics: the passes and the
// REST requests sent to the servers, so that the cost of converging (and
// the silence of a converged server: reads only) can be watched. A nil
// *Metrics records nothing.
type Metrics struct {
	passes    *prometheus.CounterVec
	requests  *prometheus.CounterVec
	reconcile *metrics.Reconcile
	usage     *usageCollector
}

// NewMetrics creates the metrics and registers them on reg; the passes are
// also counted under controller-runtime's names (controller_runtime_reconcile_*,
// controller="serverstate").
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dittofs_operator_server_state_passes_total",
			Help: "Passes over a DittoServer's state inside the server, by result: success, requeue (reported in conditions, retried with backoff) or error.",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dittofs_operator_server_api_requests_total",
			Help: "REST requests sent to DittoFS servers, by HTTP method and status code (\"error\" when no answer came).",
		}, []string{"method", "code"}),
		reconcile: metrics.NewReconcile(reg, ControllerName),
		usage:     &usageCollector{},
	}
	reg.MustRegister(m.passes, m.requests, m.usage)
	return m
}

// watchShares makes the usage gauges read l.
func (m *Metrics) watchShares(l dittolisters.DittoShareLister) {
	if m == nil {
		return
	}
	m.usage.setLister(l)
}

func (m *Metrics) observePass(start time.Time, err error) {
	if m == nil {
		return
	}
	switch {
	case err == nil:
		m.passes.WithLabelValues("success").Inc()
		m.reconcile.Observe(start, metrics.ResultSuccess)
	case errors.Is(err, errRequeue):
		m.passes.WithLabelValues("requeue").Inc()
		m.reconcile.Observe(start, metrics.ResultRequeue)
	default:
		m.passes.WithLabelValues("error").Inc()
		m.reconcile.Observe(start, metrics.ResultError)
	}
}

// transport counts the requests rt sends; nil without metrics, for the
// client's default transport.
func (m *Metrics) transport(rt http.RoundTripper) http.RoundTripper {
	if m == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &countingTransport{next: rt, requests: m.requests}
}

type countingTransport struct {
	next     http.RoundTripper
	requests *prometheus.CounterVec
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.requests.WithLabelValues(r.Method, code).Inc()
	return resp, err
}
