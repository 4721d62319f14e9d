package controller

// spec.paused holds every child as it is: no child write while paused, the
// status still reports, and resuming applies the spec as it then stands.

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestPausedServerWritesNoChild(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Paused = true }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal Paused Paused: spec.paused is true")
	ds := f.dittoServer()
	expectStatus(t, ds, dittov1alpha1.PhasePending, "Paused=True/Paused", "Progressing=False/Paused",
		"ConfigReady=True/InputsResolved", "PodsHealthy=True/PodsHealthy")
	if ds.Status.ObservedGeneration != 1 {
		t.Errorf("observedGeneration = %d, want 1: the children still follow generation 1", ds.Status.ObservedGeneration)
	}

	// Edits, a child deleted by hand and a stuck pod: nothing is written.
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Image = "example.com/dittofs:v0.30.0" }, true)
	if err := f.kube.Delete(gvrConfigMaps, testNamespace, "nas-config"); err != nil {
		t.Fatal(err)
	}
	sts := f.statefulSet().DeepCopy()
	sts.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-2"}
	f.put(sts)
	f.passWith(f.serverPod("nas-1", waiting("ImagePullBackOff", "Back-off pulling image")))
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Warning PodImagePullFailed")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Paused=True/Paused", "PodsHealthy=False/ImagePullBackOff",
		"Available=False/ReplicasUnavailable")
	f.expectQuiet(t)
	if f.exists(f.kube, gvrConfigMaps, "nas-config") {
		t.Error("the ConfigMap was recreated while paused")
	}

	// Resuming applies the spec as it now stands. (The stuck pod waits for
	// the StatefulSet controller to observe the new template.)
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Paused = false }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "create configmaps nas-config", "update statefulsets nas", "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal Resumed")
	ds = f.dittoServer()
	if img := f.statefulSet().Spec.Template.Spec.Containers[0].Image; img != "example.com/dittofs:v0.30.0" {
		t.Errorf("image after resume = %s", img)
	}
	if condition(ds, ConditionPaused).Type != "" || ds.Status.ObservedGeneration != ds.Generation {
		t.Errorf("after resume: Paused %+v, observedGeneration %d of %d", condition(ds, ConditionPaused), ds.Status.ObservedGeneration, ds.Generation)
	}
}

// A DittoServer created paused gets its finalizer and a status, and no child.
func TestCreatedPausedHasNoChild(t *testing.T) {
	f := newFixture(t, false, newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Paused = true }))
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "patch dittoservers nas", "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal Created", "Normal Paused")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Paused=True/Paused", "Progressing=False/Paused")
}
