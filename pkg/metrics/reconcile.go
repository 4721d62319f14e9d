package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one reconcile, as controller-runtime labels them, so that the
// dashboards and alerts written for controller-runtime operators work here.
const (
	ResultSuccess = "success"
	ResultRequeue = "requeue" // not an error: waiting on something outside the operator, retried with backoff
	ResultError   = "error"
)

// Reconcile records one controller's reconciles under controller-runtime's
// names: controller_runtime_reconcile_total{controller,result},
// controller_runtime_reconcile_errors_total{controller} and
// controller_runtime_reconcile_time_seconds{controller}. Several controllers
// share the vectors of one registry. A nil *Reconcile records nothing.
type Reconcile struct {
	errors   prometheus.Counter
	byResult map[string]prometheus.Counter
	duration prometheus.Observer
}

// NewReconcile registers (or reuses) the reconcile vectors on reg and
// returns the metrics of the controller named controller.
func NewReconcile(reg prometheus.Registerer, controller string) *Reconcile {
	total := registerOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_total",
		Help: "Total number of reconciliations per controller, by result: success, requeue (waiting on an outside change, retried with backoff) or error.",
	}, []string{"controller", "result"}))
	errs := registerOrExisting(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_reconcile_errors_total",
		Help: "Total number of reconciliation errors per controller.",
	}, []string{"controller"}))
	duration := registerOrExisting(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "controller_runtime_reconcile_time_seconds",
		Help: "Length of time per reconciliation per controller.",
		// controller-runtime's buckets, so that quantiles line up across operators.
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
			1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60},
	}, []string{"controller"}))
	r := &Reconcile{errors: errs.WithLabelValues(controller), duration: duration.WithLabelValues(controller), byResult: map[string]prometheus.Counter{}}
	for _, result := range []string{ResultSuccess, ResultRequeue, ResultError} {
		// Created up front: a rate() over a series that appears only with
		// the first error misses that error.
		r.byResult[result] = total.WithLabelValues(controller, result)
	}
	return r
}

// Observe records one reconcile that began at start and ended with result.
func (r *Reconcile) Observe(start time.Time, result string) {
	if r == nil {
		return
	}
	r.duration.Observe(time.Since(start).Seconds())
	if c, ok := r.byResult[result]; ok {
		c.Inc()
	}
	if result == ResultError {
		r.errors.Inc()
	}
}

// registerOrExisting registers c on reg, or returns the collector of the
// same description registered before (by another controller).
func registerOrExisting[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}
