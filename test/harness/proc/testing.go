package proc

import "testing"

// FreePortForTest returns one free loopback port (see FreePort); it fails t
// when there is none.
func FreePortForTest(t testing.TB) int {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
