package controller

// A pass can start before the DittoServer cache has seen the status the
// previous pass wrote: a child created by that pass requeues the DittoServer,
// and the worker picks it up as soon as the previous pass is done. Seen on a
// real API server; here the cache is held back by hand.

import (
	"testing"

	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

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
			stale, err := f.inf.DittoServers.Lister().DittoServers(testNamespace).Get(testName)
			if err != nil {
				t.Fatal(err)
			}
			stale = stale.DeepCopy()

			// The first pass writes the status and marks the transition.
			expectErr(t, f.sync(), errWaiting)
			expectEvents(t, f.events(), tc.event)
			written := f.dittoServer()

			// The next pass sees every child, but the DittoServer as it was
			// before that status write. Had the operator's own write been
			// the one the cache missed, the pass would be skipped
			// (ownwrites_test.go); as if another client's write were: its
			// write conflicts, and on the latest object there is nothing to
			// write nor to announce.
			f.catchUp()
			f.c.ownWrites.Forget(cache.ObjectName{Namespace: testNamespace, Name: testName})
			if err := f.inf.DittoServers.Informer().GetIndexer().Update(stale); err != nil {
				t.Fatal(err)
			}
			expectErr(t, f.sync(), errWaiting)
			expectActions(t, f.actions(), "update dittoservers/status nas", "get dittoservers nas")
			expectEvents(t, f.events())
			if got := f.dittoServer(); got.ResourceVersion != written.ResourceVersion {
				t.Errorf("status rewritten by the stale pass: %s", describeConditions(got))
			}
		})
	}
}
