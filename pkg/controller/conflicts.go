package controller

import (
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
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
type conflictStreaks struct{ n *kit.PerServer[int] }

func newConflictStreaks() *conflictStreaks { return &conflictStreaks{n: kit.NewPerServer[int]()} }

// add records a pass that ended on a Conflict and returns the streak.
func (s *conflictStreaks) add(key cache.ObjectName) int {
	return s.n.Update(key, func(n int, _ bool) (int, bool) { return n + 1, true })
}

// reset ends the streak: the pass ended otherwise, or the DittoServer is gone.
func (s *conflictStreaks) reset(key cache.ObjectName) { s.n.Forget(key) }
