package kit

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
)

func TestKindOf(t *testing.T) {
	notOwned := NotOwnedError("Service", "storage", "nas-file", "DittoServer")
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, Succeeded},
		{"a plain error", errors.New("boom"), Failed},
		{"a failure named by its step", In("ConfigMap", errors.New("boom")), Failed},
		{"waiting", Waitf("database %s", "nas-postgres"), Waiting},
		{"waiting, wrapped", fmt.Errorf("gate: %w", Waitf("x")), Waiting},
		{"cache behind", ErrCacheBehind, CacheBehind},
		{"cache behind, passed through a step", In("StatefulSet", ErrCacheBehind), CacheBehind},
		{"not owned", notOwned, NotOwned},
		{"not owned, reported as waiting", AsWaiting(notOwned), Waiting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

// The step's name is added to failures only: a NotOwned message goes to the
// status as it is.
func TestInNamesFailuresOnly(t *testing.T) {
	if got := In("ConfigMap", errors.New("update ConfigMap storage/nas-config: conflict")).Error(); got != "ConfigMap: update ConfigMap storage/nas-config: conflict" {
		t.Errorf("failure message %q", got)
	}
	notOwned := NotOwnedError("Service", "storage", "nas-file", "DittoServer")
	want := "Service storage/nas-file exists but is not controlled by this DittoServer; delete or rename it"
	if got := In("Services", notOwned).Error(); got != want {
		t.Errorf("NotOwned message %q, want %q", got, want)
	}
	if In("x", nil) != nil {
		t.Error("In(nil) is not nil")
	}
}

func TestOwnWrites(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := NewOwnWrites(time.Minute)
	o.SetClock(func() time.Time { return now })
	owner := cache.ObjectName{Namespace: "storage", Name: "nas"}
	cm := ObjectKey{"ConfigMap", "storage", "nas-config"}

	if o.Behind(owner, cm, "") {
		t.Fatal("behind without any write")
	}
	o.Record(owner, cm, "") // created
	if !o.Behind(owner, cm, "") {
		t.Fatal("a cache without the object just created is not behind")
	}
	o.Record(owner, cm, "7") // then updated from version 7
	if !o.Behind(owner, cm, "7") || !o.Behind(owner, cm, "") {
		t.Fatal("every replaced version is behind")
	}
	if o.Behind(owner, cm, "9") {
		t.Fatal("a version the operator did not replace is behind")
	}
	if o.Len() != 0 {
		t.Errorf("record kept once the cache moved past it: %d", o.Len())
	}
}

// A record the caches never catch up with expires: the pass runs again.
func TestOwnWritesExpire(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := NewOwnWrites(time.Minute)
	o.SetClock(func() time.Time { return now })
	owner := cache.ObjectName{Namespace: "storage", Name: "nas"}
	key := ObjectKey{"ConfigMap", "storage", "nas-config"}
	o.Record(owner, key, "")
	now = now.Add(time.Minute)
	if o.Behind(owner, key, "") {
		t.Error("an expired record still holds the pass back")
	}
	if o.Len() != 0 {
		t.Errorf("expired record kept: %d", o.Len())
	}
}

// Records nobody asks about again are swept as new writes are recorded, and
// an owner that is gone leaves nothing behind.
func TestOwnWritesStayBounded(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := NewOwnWrites(time.Minute)
	o.SetClock(func() time.Time { return now })
	for i := range 100 {
		o.Record(cache.ObjectName{Namespace: "storage", Name: fmt.Sprint("ds-", i)}, ObjectKey{"Service", "storage", "svc"}, "1")
	}
	if o.Len() != 100 {
		t.Fatalf("Len = %d, want 100", o.Len())
	}
	now = now.Add(2 * time.Minute)
	last := cache.ObjectName{Namespace: "storage", Name: "last"}
	o.Record(last, ObjectKey{"Service", "storage", "svc"}, "1")
	if o.Len() != 1 {
		t.Errorf("Len = %d after the sweep, want only the fresh record", o.Len())
	}
	o.Forget(last)
	if o.Len() != 0 {
		t.Errorf("Len = %d after Forget", o.Len())
	}
}
