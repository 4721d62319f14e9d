package metrics

import (
	"context"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/leaderelection"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// Client holds client-go's REST client and leader election metrics, under
// the names Kubernetes components and controller-runtime use:
//
//   - rest_client_requests_total{code,method,host}
//   - rest_client_request_duration_seconds{verb,host}
//   - leader_election_master_status{name}: 1 while this replica leads
//   - leader_election_slowpath_total{name}: Lease updates that took the slow path
type Client struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	leader   *prometheus.GaugeVec
	slowpath *prometheus.CounterVec
}

// NewClient creates the metrics and registers them on reg. They record
// nothing until Install hands them to client-go.
func NewClient(reg prometheus.Registerer) *Client {
	c := &Client{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rest_client_requests_total",
			Help: "Number of HTTP requests to the Kubernetes API server, partitioned by status code, method, and host.",
		}, []string{"code", "method", "host"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rest_client_request_duration_seconds",
			Help:    "Request latency in seconds to the Kubernetes API server, by verb and host.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0},
		}, []string{"verb", "host"}),
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "leader_election_master_status",
			Help: "1 while this replica holds the leader election Lease called name, 0 otherwise.",
		}, []string{"name"}),
		slowpath: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leader_election_slowpath_total",
			Help: "Lease renewals that fell back to the slow path (a full read and update).",
		}, []string{"name"}),
	}
	reg.MustRegister(c.requests, c.latency, c.leader, c.slowpath)
	return c
}

// Install makes client-go report to c. client-go accepts one registration
// per process (the first wins), so call it once, before the first request.
func (c *Client) Install() {
	clientmetrics.Register(clientmetrics.RegisterOpts{
		RequestResult:  resultAdapter{c.requests},
		RequestLatency: latencyAdapter{c.latency},
	})
	leaderelection.SetProvider(leaderProvider{c})
}

type resultAdapter struct{ v *prometheus.CounterVec }

func (a resultAdapter) Increment(_ context.Context, code, method, host string) {
	a.v.WithLabelValues(code, method, host).Inc()
}

type latencyAdapter struct{ v *prometheus.HistogramVec }

// Observe partitions by host only, not by URL: a URL holds object names,
// and a label per object would grow without bound.
func (a latencyAdapter) Observe(_ context.Context, verb string, u url.URL, latency time.Duration) {
	a.v.WithLabelValues(verb, u.Host).Observe(latency.Seconds())
}

type leaderProvider struct{ c *Client }

func (p leaderProvider) NewLeaderMetric() leaderelection.LeaderMetric { return leaderMetric(p) }

type leaderMetric struct{ c *Client }

func (m leaderMetric) On(name string)                { m.c.leader.WithLabelValues(name).Set(1) }
func (m leaderMetric) Off(name string)               { m.c.leader.WithLabelValues(name).Set(0) }
func (m leaderMetric) SlowpathExercised(name string) { m.c.slowpath.WithLabelValues(name).Inc() }
