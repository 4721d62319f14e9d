package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// statusPacer spaces the status writes that only follow a healthy rollout's
// progress (a replica count, a Progressing message, pods created but not
// ready yet): at most one per interval for each DittoServer, the first one
// interval after the rollout's first status. None of them changes what
// `kubectl get ditto` prints (phase, ready and available replicas): a pod
// that turns ready within the interval thus costs no progress write, only
// Running. Anything else is written at once: the first status a DittoServer
// gets and the first status of each new spec (observedGeneration, so that
// `kubectl get` and tools that wait for a rollout see at once that the
// operator acted), a problem (a pod reporting one included), a pause, a
// finished rollout, a stopped server.
type statusPacer struct {
	interval time.Duration

	mu    sync.Mutex
	clock map[cache.ObjectName]time.Time // start of the current pacing period
}

func newStatusPacer(interval time.Duration) *statusPacer {
	return &statusPacer{interval: interval, clock: map[cache.ObjectName]time.Time{}}
}

// delay is how long to hold back a status write for key that replaces
// current with next; 0 means write now.
func (p *statusPacer) delay(key cache.ObjectName, current, next *dittov1alpha1.DittoServerStatus, now time.Time) time.Duration {
	if p == nil || p.interval <= 0 || neverWritten(current) || next.ObservedGeneration != current.ObservedGeneration ||
		!rollingOutHealthily(next) {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start, ok := p.clock[key]
	if !ok {
		p.clock[key] = now
		return p.interval
	}
	if d := p.interval - now.Sub(start); d > 0 {
		return d
	}
	return 0
}

// wrote records a status write: a rollout still in progress starts a new
// period; any other status ends pacing until the next rollout.
func (p *statusPacer) wrote(key cache.ObjectName, written *dittov1alpha1.DittoServerStatus, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rollingOutHealthily(written) {
		p.clock[key] = now
	} else {
		delete(p.clock, key)
	}
}

func (p *statusPacer) forget(key cache.ObjectName) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.clock, key)
}

// neverWritten: the DittoServer has no status yet (no pass has written one).
func neverWritten(st *dittov1alpha1.DittoServerStatus) bool {
	return st.Phase == "" && st.ObservedGeneration == 0 && len(st.Conditions) == 0
}

// rollingOutHealthily: Pending, waiting for pods, with nothing wrong.
func rollingOutHealthily(st *dittov1alpha1.DittoServerStatus) bool {
	if st.Phase != dittov1alpha1.PhasePending ||
		meta.IsStatusConditionFalse(st.Conditions, ConditionPodsHealthy) ||
		meta.IsStatusConditionTrue(st.Conditions, ConditionPaused) {
		return false
	}
	// Pending with the configuration and the database in order means the
	// pods are on their way: the StatefulSet is rolling out, or its pods are
	// created but not ready yet (Progressing is already False then).
	if !meta.IsStatusConditionTrue(st.Conditions, ConditionConfigReady) {
		return false
	}
	db := meta.FindStatusCondition(st.Conditions, ConditionDatabaseReady)
	return db == nil || db.Status == metav1.ConditionTrue
}
