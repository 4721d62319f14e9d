package kit

import (
	"sync"
	"testing"

	"k8s.io/client-go/tools/cache"
)

func TestPerServerUpdateKeepsAndDrops(t *testing.T) {
	p := NewPerServer[int]()
	a, b := cache.ObjectName{Namespace: "ns", Name: "a"}, cache.ObjectName{Namespace: "ns", Name: "b"}
	inc := func(n int, _ bool) (int, bool) { return n + 1, true }
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { p.Update(a, inc) })
	}
	wg.Wait()
	if got := p.Update(a, func(n int, known bool) (int, bool) { return n, known }); got != 100 {
		t.Errorf("after 100 concurrent increments: %d", got)
	}
	p.Update(b, inc)
	if p.Len() != 2 {
		t.Errorf("Len = %d, want 2", p.Len())
	}
	p.Update(a, func(int, bool) (int, bool) { return 0, false })
	p.Forget(b)
	if p.Len() != 0 {
		t.Errorf("Len = %d after dropping both, want 0", p.Len())
	}
	if got := p.Update(a, func(n int, known bool) (int, bool) {
		if known {
			t.Error("a dropped entry is still known")
		}
		return n, false
	}); got != 0 {
		t.Errorf("a dropped entry's value is %d", got)
	}
}
