package kit

import (
	"sync"

	"k8s.io/client-go/tools/cache"
)

// PerServer is a small memory kept per reconciled object (a DittoServer), safe
// for the workers that reconcile different objects at once: what was last
// announced, how many passes in a row ended on a Conflict. Bounded by its
// users: an entry is dropped (Forget, or Update returning false) when it
// means nothing any more, and always with its object.
type PerServer[V any] struct {
	mu sync.Mutex
	m  map[cache.ObjectName]V
}

// NewPerServer returns an empty memory.
func NewPerServer[V any]() *PerServer[V] { return &PerServer[V]{m: map[cache.ObjectName]V{}} }

// Update replaces key's entry with what f returns from the current one
// (known tells whether there was one); f returning keep false drops it. It
// returns the new value. f runs under the lock: it must not call back.
func (p *PerServer[V]) Update(key cache.ObjectName, f func(cur V, known bool) (next V, keep bool)) V {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, known := p.m[key]
	next, keep := f(cur, known)
	if keep {
		p.m[key] = next
	} else {
		delete(p.m, key)
	}
	return next
}

// Forget drops key's entry.
func (p *PerServer[V]) Forget(key cache.ObjectName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, key)
}

// Len is the number of entries (for tests and memory checks).
func (p *PerServer[V]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
