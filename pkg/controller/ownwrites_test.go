package controller

// A pass can start before the caches have seen the operator's own last
// writes: a child the previous pass created or updated requeues the
// DittoServer at once. Computing on a stale DittoServer would add the
// finalizer a second time (a Conflict, reported as ReconcileFailed) or write
// a status the server refuses; on a stale child it would update the child
// again on the version its first update replaced (a Conflict) or create it
// again. The pass is skipped instead; the informer delivering the write
// requeues the DittoServer.

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestPassOnOwnStaleWriteIsSkipped(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	stale, err := f.inf.DittoServers.Lister().DittoServers(testNamespace).Get(testName)
	if err != nil {
		t.Fatal(err)
	}
	stale = stale.DeepCopy()

	// First sight: the finalizer patch, every child, the status.
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), "Normal Created")

	// Every child is cached, the DittoServer is not: nothing is done.
	f.catchUp()
	if err := f.inf.DittoServers.Informer().GetIndexer().Update(stale); err != nil {
		t.Fatal(err)
	}
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	expectEvents(t, f.events())

	// Once the cache has the write, passes run again: a spec edit is applied.
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.PreStopDelaySeconds = ptr.To[int32](7) }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "update statefulsets nas", "apply dittoservers/status nas")
}

// The DittoServer cache has the pass's writes, the child caches do not.
func TestPassOnStaleChildCacheIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
	}{
		{"after the children were created", func(f *fixture) {}},
		{"after the StatefulSet was updated", func(f *fixture) {
			f.catchUp()
			f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.PreStopDelaySeconds = ptr.To[int32](7) }, true)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions(), "update statefulsets nas", "apply dittoservers/status nas")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer())
			expectErr(t, f.sync(), nil)
			tc.setup(f)
			f.clear()

			// Only the DittoServer cache catches up.
			if err := f.inf.DittoServers.Informer().GetIndexer().Update(f.dittoServer()); err != nil {
				t.Fatal(err)
			}
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions())
			expectEvents(t, f.events())

			// The child caches catch up: nothing left to do.
			f.catchUp()
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions())
			if n := f.c.ownWrites.Len(); n != 0 {
				t.Errorf("%d records left once the caches caught up", n)
			}
		})
	}
}

// A DittoServer that is gone leaves no record behind.
func TestOwnWritesForgetsDeletedDittoServer(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	expectErr(t, f.sync(), nil)
	if err := f.ditto.Delete(gvrDittoServers, testNamespace, testName); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	expectErr(t, f.sync(), nil)
	if n := f.c.ownWrites.Len(); n != 0 {
		t.Errorf("%d records left for a deleted DittoServer", n)
	}
}

// The finalizer patches are the operator's writes too: a pass on a cache
// that has not seen the finalizer released (another finalizer keeps the
// DittoServer) does not run the deletion path again.
func TestPassAfterFinalizerRemovalOnStaleCacheIsSkipped(t *testing.T) {
	f := newFixture(t, false, newDittoServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Finalizers = []string{Finalizer, "example.com/other"}
		ds.DeletionTimestamp = &metav1.Time{Time: t0}
		ds.Status.Phase = dittov1alpha1.PhaseDeleting
	}))
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "patch dittoservers nas")

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	expectEvents(t, f.events())

	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	if got := f.dittoServer().Finalizers; len(got) != 1 || got[0] != "example.com/other" {
		t.Errorf("finalizers = %v, want only the other one", got)
	}
}
