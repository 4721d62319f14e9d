package controller

import (
	"sync"

	"k8s.io/client-go/tools/cache"
)

// ConflictRetries is how many passes in a row may end on a Conflict before
// it is reported as a failure. A Conflict means another writer changed an
// object between the cache read and the write — the StatefulSet controller
// writes during every rollout, users edit, the garbage collector patches —
// and the next pass, on the newer object, usually goes through.
const ConflictRetries = 5

// conflictStreaks counts, per DittoServer, the passes in a row that ended on
// a Conflict. Bounded: an entry is dropped by the next pass that ends
// otherwise, and with the DittoServer.
type conflictStreaks struct {
	mu sync.Mutex
	n  map[cache.ObjectName]int
}

func newConflictStreaks() *conflictStreaks {
	return &conflictStreaks{n: map[cache.ObjectName]int{}}
}

// add records a pass that ended on a Conflict and returns the streak.
func (s *conflictStreaks) add(key cache.ObjectName) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[key]++
	return s.n[key]
}

// reset ends the streak: the pass ended otherwise, or the DittoServer is gone.
func (s *conflictStreaks) reset(key cache.ObjectName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.n, key)
}
