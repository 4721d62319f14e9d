package backup

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Metrics are the backup controller's metrics (docs/monitoring.md, docs/alerts.yaml).
type Metrics struct {
	lastSuccess *prometheus.GaugeVec
	failed      *prometheus.CounterVec

	mu   sync.Mutex
	last map[[2]string]float64
}

// NewMetrics registers the backup metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		last: map[[2]string]float64{},
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dittofs_operator_backup_last_success_timestamp_seconds",
			Help: "When the newest Completed DittoBackup of a DittoServer completed, in seconds since the epoch.",
		}, []string{"namespace", "server"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dittofs_operator_backups_failed_total",
			Help: "DittoBackups that ended Failed, by DittoServer.",
		}, []string{"namespace", "server"}),
	}
	reg.MustRegister(m.lastSuccess, m.failed)
	return m
}

// observe records a backup that just finished: its completion time, or
// one more failure.
func (m *Metrics) observe(b *dittov1alpha1.DittoBackup, st *dittov1alpha1.DittoBackupStatus) {
	if m == nil {
		return
	}
	if st.Phase == dittov1alpha1.BackupFailed {
		m.failed.WithLabelValues(b.Namespace, b.Spec.Server.Name).Inc()
		return
	}
	m.seen(b.Namespace, b.Spec.Server.Name, st)
}

// seen keeps the newest completion time of a server's backups; every
// finished backup passes here after a restart, so the gauge is rebuilt.
func (m *Metrics) seen(namespace, server string, st *dittov1alpha1.DittoBackupStatus) {
	if m == nil || st.Phase != dittov1alpha1.BackupCompleted || st.CompletedAt == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, t := [2]string{namespace, server}, float64(st.CompletedAt.Unix())
	if t > m.last[k] {
		m.last[k] = t
		m.lastSuccess.WithLabelValues(namespace, server).Set(t)
	}
}
