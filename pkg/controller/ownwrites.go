package controller

import (
	"sync"

	"k8s.io/client-go/tools/cache"
)

// ownWrites remembers, per DittoServer, the resourceVersions that this
// operator's own writes to it (finalizer patch, status update) replaced.
//
// A pass that starts before the informer has delivered such a write — a
// child the previous pass created requeues the DittoServer at once — would
// compute on a stale object: its status write would be refused with a
// Conflict (and cost a GET), or it would add the finalizer again. Such a
// pass is skipped instead; the informer delivering the write requeues the
// DittoServer, and that pass sees everything.
type ownWrites struct {
	mu sync.Mutex
	m  map[cache.ObjectName]map[string]struct{}
}

func newOwnWrites() *ownWrites {
	return &ownWrites{m: map[cache.ObjectName]map[string]struct{}{}}
}

// replaced records resourceVersions that a successful write superseded.
func (o *ownWrites) replaced(key cache.ObjectName, versions ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	set := o.m[key]
	if set == nil {
		set = map[string]struct{}{}
		o.m[key] = set
	}
	for _, v := range versions {
		if v != "" {
			set[v] = struct{}{}
		}
	}
}

// stale tells whether the cached resourceVersion is one this operator
// replaced. Once the cache shows any other version it has moved past all of
// them (a cache only moves forward), and the record is dropped.
func (o *ownWrites) stale(key cache.ObjectName, cached string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	set, ok := o.m[key]
	if !ok {
		return false
	}
	if _, ok := set[cached]; ok {
		return true
	}
	delete(o.m, key)
	return false
}

// forget drops the record of a DittoServer that is gone.
func (o *ownWrites) forget(key cache.ObjectName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, key)
}
