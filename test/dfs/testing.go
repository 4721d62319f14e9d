package dfs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// StartForTest starts dfs for t: it fails t when dfs does not start, kills
// it when t ends, and logs the end of its output when t failed.
func StartForTest(t testing.TB, opts Options) *Process {
	t.Helper()
	p, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start dfs: %v", err)
	}
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("dfs (pid %d) output:\n%s", p.PID, proc.Tail(p.Logs(), 60))
		}
	})
	return p
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// BinaryForTest builds (once per test binary) or locates the real dfs
// binary, see Binary; it fails t when there is none and never skips.
func BinaryForTest(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		start := time.Now()
		binPath, binErr = Binary()
		if binErr == nil {
			fmt.Fprintf(os.Stderr, "dfs binary %s (located/built in %s)\n", binPath, time.Since(start).Round(time.Millisecond))
		}
	})
	if binErr != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh needs Go and the Go module proxy; or set DFS_BINARY): %v", binErr)
	}
	return binPath
}
