package dfs

import (
	"context"
	"testing"

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
