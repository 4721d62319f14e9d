package serverstate

import (
	"slices"
	"testing"
)

// The operator logs in as the admin with the password the pod was given,
// from <name>-generated, to create its own account.
func TestAdminPasswordFromTheGeneratedSecret(t *testing.T) {
	ds := availableServer()
	f := newFixture(t, ds, statefulSet(ds), adminSecret(ds))
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Contains(got, "POST user "+OperatorUsername) {
		t.Errorf("the operator's account was not created as the admin: REST writes %v", got)
	}
}
