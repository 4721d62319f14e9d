package controller

import (
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/metrics"
)

// ControllerName names this controller in controller-runtime's reconcile
// metrics (label controller); it is also the name of its work queue (label
// name of the workqueue_* metrics), so that both join on one value.
const ControllerName = "dittoservers"

// Metrics are the controller's own Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	syncs      *prometheus.CounterVec
	duration   prometheus.Histogram
	conflicts  prometheus.Counter
	reconcile  *metrics.Reconcile
	conditions *conditionCollector
}

// NewMetrics creates the controller metrics and registers them on reg: the
// dittofs_operator_* series this operator has always had, the same syncs
// under controller-runtime's names (controller_runtime_reconcile_*), and
// the per-DittoServer condition gauge (metrics_conditions.go).
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
		reconcile:  metrics.NewReconcile(reg, ControllerName),
		conditions: &conditionCollector{},
	}
	reg.MustRegister(m.syncs, m.duration, m.conflicts, m.conditions)
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
		m.reconcile.Observe(start, metrics.ResultSuccess)
	case kit.Waiting, kit.NotOwned:
		m.syncs.WithLabelValues("waiting").Inc()
		m.reconcile.Observe(start, metrics.ResultRequeue)
	default:
		m.syncs.WithLabelValues("error").Inc()
		m.reconcile.Observe(start, metrics.ResultError)
	}
}

func (m *Metrics) countConflict(err error) {
	if m == nil || !apierrors.IsConflict(err) {
		return
	}
	m.conflicts.Inc()
}
