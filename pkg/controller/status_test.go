package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// A new DittoServer's first pass writes its status: `kubectl get ditto`
// shows the phase as soon as the operator has acted.
func TestFirstPassWritesStatus(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(),
		"patch dittoservers nas",
		"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls",
		"create configmaps nas-config",
		"create services nas-headless", "create services nas-file", "create services nas-api",
		"create statefulsets nas",
		"apply dittoservers/status nas")
	ds := f.dittoServer()
	expectStatus(t, ds, dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved", "Progressing=True/RolloutInProgress")
	if ds.Status.ObservedGeneration != ds.Generation {
		t.Errorf("observedGeneration = %d, want %d", ds.Status.ObservedGeneration, ds.Generation)
	}
	expectEvents(t, f.events(), "Normal Created")
}

// The status follows the cluster: each change of what it shows is one
// apply, in the pass that sees it (nothing is held back), and a pass that
// sees nothing new writes nothing.
func TestStatusFollowsEachChangeOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	expectErr(t, f.sync(), nil) // the first status
	f.catchUp()

	// The StatefulSet controller observes the StatefulSet before it makes
	// the pod: the status shows nothing new.
	sts := f.statefulSet()
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, UpdateRevision: "nas-1"}
	f.put(sts)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())

	// The StatefulSet has its pod, not ready yet.
	sts = f.statefulSet()
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, UpdatedReplicas: 1,
		CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	f.put(sts)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Progressing=False/RolloutComplete", "Available=False/ReplicasUnavailable")
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())

	// The pod is ready.
	f.markReady()
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "Ready=True/Ready")
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
}
