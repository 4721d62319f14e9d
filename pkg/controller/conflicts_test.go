package controller

// A conflict is not a failure: a 409 on a child update, the finalizer patch
// or the orphaning patch (another writer changed the object since the cache
// saw it) is requeued without a Warning and without a status write; only a
// Conflict that persists for more than ConflictRetries passes in a row is
// reported, once, as ReconcileFailed.

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestConflictIsNotAFailure(t *testing.T) {
	deleting := func(ds *dittov1alpha1.DittoServer) {
		ds.DeletionTimestamp = &metav1.Time{Time: t0}
		ds.Status.Phase = dittov1alpha1.PhaseDeleting
	}
	for _, tc := range []struct {
		name     string
		objects  func() []runtime.Object
		converge bool // converge first, then edit the spec so that the pass updates children
		fake     func(f *fixture) *clienttesting.Fake
		verb     string
		resource string
	}{
		{name: "child update", converge: true, verb: "update", resource: "statefulsets",
			objects: func() []runtime.Object { return []runtime.Object{newDittoServer(withFinalizer)} },
			fake:    func(f *fixture) *clienttesting.Fake { return &f.kubeClient.Fake }},
		{name: "finalizer patch", verb: "patch", resource: "dittoservers",
			objects: func() []runtime.Object { return []runtime.Object{newDittoServer(withFinalizer, deleting)} },
			fake:    func(f *fixture) *clienttesting.Fake { return &f.dittoClient.Fake }},
		{name: "orphaning patch", verb: "patch", resource: "perconapgclusters",
			objects: func() []runtime.Object {
				ds := newDittoServer(withFinalizer, withPercona(false), deleting)
				pg := perconaCluster(ds, "ready")
				pg.SetOwnerReferences([]metav1.OwnerReference{resources.OwnerReference(ds)})
				return []runtime.Object{ds, pg}
			},
			fake: func(f *fixture) *clienttesting.Fake { return &f.dynClient.Fake }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, tc.objects()...)
			if tc.converge {
				f.converge()
				f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.PreStopDelaySeconds = ptrTo[int32](7) }, true)
				f.catchUp()
			}
			statusBefore := f.dittoServer().Status
			tc.fake(f).PrependReactor(tc.verb, tc.resource, func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: tc.resource}, "x", nil)
			})
			for pass := 1; pass <= ConflictRetries; pass++ {
				expectErr(t, f.sync(), errWaiting)
				expectEvents(t, f.events())
				for _, a := range f.actions() {
					if strings.HasPrefix(a, "apply dittoservers/status") {
						t.Errorf("pass %d: status written after a Conflict", pass)
					}
				}
				if got := f.dittoServer().Status; got.Phase != statusBefore.Phase || len(got.Conditions) != len(statusBefore.Conditions) {
					t.Errorf("pass %d: status changed: %+v", pass, got)
				}
			}
			// It persists: now it is a failure, said once per pass from here.
			expectErr(t, f.sync(), errAny)
			if ev := f.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning ReconcileFailed ") {
				t.Errorf("events %v, want one ReconcileFailed", ev)
			}
		})
	}
}

// A pass that ends otherwise ends the streak: a later Conflict is quiet again.
func TestConflictStreakResets(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	conflicting := true
	f.kubeClient.PrependReactor("update", "statefulsets", func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicting {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "statefulsets"}, "nas", nil)
		}
		return false, nil, nil
	})
	edit := func(delay int32) {
		f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.PreStopDelaySeconds = ptrTo(delay) }, true)
		f.catchUp()
	}
	edit(6)
	for pass := 1; pass <= ConflictRetries; pass++ {
		expectErr(t, f.sync(), errWaiting)
	}
	conflicting = false
	expectErr(t, f.sync(), nil)
	f.catchUp()
	conflicting = true
	edit(7)
	expectErr(t, f.sync(), errWaiting)
	expectEvents(t, f.events())
}

func ptrTo[T any](v T) *T { return &v }
