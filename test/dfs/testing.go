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

// locateBinary builds or locates the dfs binary once per test binary.
var locateBinary = sync.OnceValues(func() (string, error) {
	start := time.Now()
	path, err := Binary()
	if err == nil {
		fmt.Fprintf(os.Stderr, "dfs binary %s (located/built in %s)\n", path, time.Since(start).Round(time.Millisecond))
	}
	return path, err
})

// BinaryForTest builds (once per test binary) or locates the real dfs
// binary, see Binary; it fails t when there is none and never skips.
func BinaryForTest(t testing.TB) string {
	t.Helper()
	path, err := locateBinary()
	if err != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh needs Go and the Go module proxy; or set DFS_BINARY): %v", err)
	}
	return path
}
