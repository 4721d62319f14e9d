package serverstate

import (
	"context"
	"testing"
	"time"
)

// A replica told to stop while its caches are still syncing (SIGTERM just
// after it became leader) stops cleanly: that is a shutdown, not a failure,
// and the binary must exit 0.
func TestRunStoppedBeforeCachesSyncIsNotAFailure(t *testing.T) {
	f := newFixture(t) // informers never started: the caches cannot sync
	ctx, cancel := context.WithCancel(f.ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := f.c.Run(ctx, 1, time.Second); err != nil {
		t.Fatalf("Run stopped during cache sync returned %v, want nil", err)
	}
}
