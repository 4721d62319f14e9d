package controller

import (
	"errors"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// ownWrites remembers the resourceVersions that this operator's own writes
// replaced, for each DittoServer: its own (finalizer patch, status update)
// and its children's (create, update, delete). For a create the replaced
// version is "" — the object absent from the cache.
//
// A pass that starts before the informers have delivered such a write — the
// write's own event requeues the DittoServer at once — would compute on a
// stale object: a status write refused with a Conflict, the finalizer added
// twice, a child updated again on the version its first update replaced (a
// Conflict, reported as ReconcileFailed) or created again. Such a pass is
// skipped instead; the informer delivering the write requeues the
// DittoServer, and that pass sees everything.
//
// A record that the caches never catch up with (an informer that cannot see
// the object) expires after ownWritesTTL, so it can delay a DittoServer but
// never stall it.
type ownWrites struct {
	mu sync.Mutex
	m  map[cache.ObjectName]map[ownKey]*ownRecord
}

// ownRecord is what the operator's writes of one object replaced, and when
// it last wrote it.
type ownRecord struct {
	versions map[string]struct{}
	at       time.Time
}

// ownWritesTTL bounds how long a record is trusted: informers deliver within
// seconds even under load.
const ownWritesTTL = time.Minute

// ownKey names an object the operator writes.
type ownKey struct {
	kind, namespace, name string
}

// selfKey is the DittoServer's own key.
func selfKey(ds cache.ObjectName) ownKey { return ownKey{"DittoServer", ds.Namespace, ds.Name} }

// errCacheBehind ends a pass whose caches miss one of the operator's own
// writes; it is not a failure, and the write's informer event requeues.
var errCacheBehind = errors.New("cache has not seen this operator's last write yet")

func newOwnWrites() *ownWrites {
	return &ownWrites{m: map[cache.ObjectName]map[ownKey]*ownRecord{}}
}

// replaced records resourceVersions that a successful write of obj, for the
// DittoServer ds, superseded.
func (o *ownWrites) replaced(ds cache.ObjectName, obj ownKey, versions ...string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	objs := o.m[ds]
	if objs == nil {
		objs = map[ownKey]*ownRecord{}
		o.m[ds] = objs
	}
	rec := objs[obj]
	if rec == nil {
		rec = &ownRecord{versions: map[string]struct{}{}}
		objs[obj] = rec
	}
	rec.at = time.Now()
	for _, v := range versions {
		rec.versions[v] = struct{}{}
	}
}

// stale tells whether the cached resourceVersion of obj ("" when the cache
// has no such object) is one this operator replaced. Once the cache shows
// any other version it has moved past all of them (a cache only moves
// forward), and the record is dropped; so it is when it has expired.
func (o *ownWrites) stale(ds cache.ObjectName, obj ownKey, cached string) bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rec, ok := o.m[ds][obj]
	if !ok {
		return false
	}
	if _, ok := rec.versions[cached]; ok && time.Since(rec.at) < ownWritesTTL {
		return true
	}
	delete(o.m[ds], obj)
	if len(o.m[ds]) == 0 {
		delete(o.m, ds)
	}
	return false
}

// forget drops every record of a DittoServer that is gone.
func (o *ownWrites) forget(ds cache.ObjectName) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, ds)
}
