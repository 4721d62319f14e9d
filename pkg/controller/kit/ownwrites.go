package kit

import (
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// OwnWrites is read-your-writes for a controller on informer caches, after
// Kubernetes' ControllerExpectations but keyed by resourceVersion: for each
// owner (the object a pass reconciles) it remembers the resourceVersions that
// the operator's own writes replaced — of the owner itself (finalizer, status)
// and of its children (create, update, delete). For a create the replaced
// version is "": the object absent from the cache.
//
// A pass that starts before the informers have delivered such a write (the
// write's own event requeues the owner at once) would compute on a stale
// object: a status write refused with a Conflict, a finalizer added twice, a
// child updated again on the version its first update replaced, or created
// again. The write helpers ask Behind before acting and the pass is skipped
// instead; the informer delivering the write requeues the owner.
//
// Two verbs, for the write helpers only: Record after a successful write,
// Behind before acting on a cached object.
//
// Bounded: a record is trusted for TTL (informers deliver within seconds even
// under load), so it can delay an owner but never stall it; expired records
// are swept as new ones are made, and Forget drops an owner that is gone.
// Safe to lose: a restarted operator's informers start from a fresh list, so
// no cache can miss a write made before the restart.
type OwnWrites struct {
	ttl time.Duration
	now func() time.Time

	mu        sync.Mutex
	m         map[cache.ObjectName]map[ObjectKey]*ownRecord
	lastSweep time.Time
}

// ObjectKey names an object the operator writes.
type ObjectKey struct {
	Kind, Namespace, Name string
}

// ownRecord is what the operator's writes of one object replaced, and when
// it last wrote it.
type ownRecord struct {
	versions map[string]struct{}
	at       time.Time
}

// DefaultOwnWritesTTL bounds how long a record is trusted.
const DefaultOwnWritesTTL = time.Minute

// NewOwnWrites returns an empty memory whose records expire after ttl.
func NewOwnWrites(ttl time.Duration) *OwnWrites {
	return &OwnWrites{ttl: ttl, now: time.Now, m: map[cache.ObjectName]map[ObjectKey]*ownRecord{}}
}

// SetClock replaces the clock, for tests.
func (o *OwnWrites) SetClock(now func() time.Time) { o.now = now }

// Record notes that a successful write of obj, on behalf of owner, replaced
// the given resourceVersions ("" for a create).
func (o *OwnWrites) Record(owner cache.ObjectName, obj ObjectKey, replaced ...string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.sweepLocked(now)
	objs := o.m[owner]
	if objs == nil {
		objs = map[ObjectKey]*ownRecord{}
		o.m[owner] = objs
	}
	rec := objs[obj]
	if rec == nil {
		rec = &ownRecord{versions: map[string]struct{}{}}
		objs[obj] = rec
	}
	rec.at = now
	for _, v := range replaced {
		rec.versions[v] = struct{}{}
	}
}

// Behind tells whether cached, the resourceVersion of obj in the informer
// cache ("" when the cache has no such object), is one the operator's own
// writes replaced: the cache has not caught up yet. Once the cache shows any
// other version it has moved past all of them (a cache only moves forward)
// and the record is dropped; so it is once expired. cached must come from
// the cache, never from a write's response.
func (o *OwnWrites) Behind(owner cache.ObjectName, obj ObjectKey, cached string) bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rec, ok := o.m[owner][obj]
	if !ok {
		return false
	}
	if _, ok := rec.versions[cached]; ok && o.now().Sub(rec.at) < o.ttl {
		return true
	}
	o.dropLocked(owner, obj)
	return false
}

// Forget drops every record of an owner that is gone.
func (o *OwnWrites) Forget(owner cache.ObjectName) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, owner)
}

// Len is the number of objects with a record, for tests and metrics.
func (o *OwnWrites) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, objs := range o.m {
		n += len(objs)
	}
	return n
}

func (o *OwnWrites) dropLocked(owner cache.ObjectName, obj ObjectKey) {
	delete(o.m[owner], obj)
	if len(o.m[owner]) == 0 {
		delete(o.m, owner)
	}
}

// sweepLocked drops expired records, at most once per TTL: records that no
// pass asked about again (an owner that converged, a child no longer wanted)
// would otherwise stay until their owner is deleted.
func (o *OwnWrites) sweepLocked(now time.Time) {
	if now.Sub(o.lastSweep) < o.ttl {
		return
	}
	o.lastSweep = now
	for owner, objs := range o.m {
		for obj, rec := range objs {
			if now.Sub(rec.at) >= o.ttl {
				o.dropLocked(owner, obj)
			}
		}
	}
}
