package controller

// Two controllers write the DittoServer status, each its own part under its
// own field manager (server-side apply). A pass can start before the
// DittoServer cache has seen the other controller's last write: a child
// created by the previous pass requeues the DittoServer at once. Its own part
// is all this controller compares and applies, so the missed write costs
// nothing and is never undone.

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	dittoac "github.com/dittofs/dittofs-operator/pkg/generated/applyconfiguration/dittofs/v1alpha1"
)

// serverStateManager stands for the server state controller's field manager.
const serverStateManager = "dittofs-operator-server-state"

// applyServerStatePart applies what the server state controller owns of the
// status, as it would, without touching the cache.
func (f *fixture) applyServerStatePart() {
	f.t.Helper()
	cond := metav1ac.Condition().WithType(dittov1alpha1.ConditionSharesReady).WithStatus(metav1.ConditionTrue).
		WithReason("NoShares").WithMessage("No DittoShare references this server").WithLastTransitionTime(metav1.NewTime(f.clock))
	_, err := f.dittoClient.DittofsV1alpha1().DittoServers(testNamespace).ApplyStatus(f.ctx,
		dittoac.DittoServer(testName, testNamespace).WithStatus(dittoac.DittoServerStatus().WithShares(0).WithConditions(cond)),
		metav1.ApplyOptions{FieldManager: serverStateManager, Force: true})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestStaleCacheRepeatsNoTransition(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ds    *dittov1alpha1.DittoServer
		event string
	}{
		{"DatabaseReady turns False", newDittoServer(withFinalizer, withPercona(false)),
			"Warning PerconaNotReady Waiting for PostgreSQL cluster nas-postgres (state: unknown)"},
		{"ConfigReady turns False", newDittoServer(withFinalizer, withJWTSecret("missing", "jwt")),
			`Warning SecretNotFound Secret "missing" (spec.identity.jwt.secretRef) not found in namespace "storage": create it or change the reference`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, tc.ds)

			// The first pass writes the status and marks the transition.
			expectErr(t, f.sync(), errWaiting)
			expectEvents(t, f.events(), tc.event)

			// The server state controller applies its part; the cache
			// has seen this controller's write, not that one.
			f.catchUp()
			f.applyServerStatePart()
			written := f.dittoServer()

			expectErr(t, f.sync(), errWaiting)
			expectActions(t, f.actions())
			expectEvents(t, f.events())
			if got := f.dittoServer(); got.ResourceVersion != written.ResourceVersion {
				t.Errorf("status rewritten by the stale pass: %s", describeConditions(got))
			}
		})
	}
}

// Each controller's apply leaves the other's fields and conditions as they
// are, and each field manager owns only its own part.
func TestStatusApplyKeepsTheOtherManagersPart(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.applyServerStatePart()
	f.catchUp()

	// A change of this controller's part: the StatefulSet's pod is ready.
	f.markReady()
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")

	ds := f.dittoServer()
	if c := condition(ds, dittov1alpha1.ConditionSharesReady); c.Status != metav1.ConditionTrue {
		t.Errorf("SharesReady after the DittoServer controller's apply: %q, want True (conditions %s)", c.Status, describeConditions(ds))
	}
	if c := condition(ds, dittov1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %q, want True (conditions %s)", c.Status, describeConditions(ds))
	}
	owned := map[string]string{}
	for _, e := range ds.ManagedFields {
		if e.Operation == metav1.ManagedFieldsOperationApply && e.FieldsV1 != nil {
			owned[e.Manager] = e.FieldsV1.GetRawString()
		}
	}
	mine, theirs := owned[FieldManager], owned[serverStateManager]
	for _, field := range []string{`"f:phase"`, `"f:replicas"`, `"k:{\"type\":\"Ready\"}"`} {
		if !strings.Contains(mine, field) || strings.Contains(theirs, field) {
			t.Errorf("%s: want it owned by %s only; managed fields %v", field, FieldManager, owned)
		}
	}
	for _, field := range []string{`"f:shares"`, `"k:{\"type\":\"SharesReady\"}"`} {
		if strings.Contains(mine, field) || !strings.Contains(theirs, field) {
			t.Errorf("%s: want it owned by %s only; managed fields %v", field, serverStateManager, owned)
		}
	}
}
