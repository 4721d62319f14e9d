package controller

import (
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// Metrics are the controller's own Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	syncs     *prometheus.CounterVec
	duration  prometheus.Histogram
	conflicts prometheus.Counter
}

// NewMetrics creates the controller metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dittofs_operator_reconcile_total",
			Help: "DittoServer syncs by result: success, waiting (gated on an outside change) or error.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dittofs_operator_reconcile_duration_seconds",
			Help:    "Duration of DittoServer syncs.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dittofs_operator_conflicts_total",
			Help: "Writes rejected with 409 Conflict.",
		}),
	}
	reg.MustRegister(m.syncs, m.duration, m.conflicts)
	return m
}

func (m *Metrics) observeSync(start time.Time, err error) {
	if m == nil {
		return
	}
	m.duration.Observe(time.Since(start).Seconds())
	switch kit.KindOf(err) {
	case kit.Succeeded:
		m.syncs.WithLabelValues("success").Inc()
	case kit.Waiting, kit.NotOwned:
		m.syncs.WithLabelValues("waiting").Inc()
	default:
		m.syncs.WithLabelValues("error").Inc()
	}
}

func (m *Metrics) countConflict(err error) {
	if m == nil || !apierrors.IsConflict(err) {
		return
	}
	m.conflicts.Inc()
}
