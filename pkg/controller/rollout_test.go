package controller

// Rollouts that never strand the server: an operator upgrade that renders the
// pod template differently restarts no server until its user changes it.

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// upgradedRendering plays a newer operator whose rendering has a changed
// default the user never asked for: a longer liveness probe period.
func upgradedRendering(ds *dittov1alpha1.DittoServer, in resources.Inputs, configHash string) (*appsv1.StatefulSet, error) {
	sts, err := resources.StatefulSet(ds, in, configHash)
	if err != nil {
		return nil, err
	}
	probe := sts.Spec.Template.Spec.Containers[0].LivenessProbe
	probe.PeriodSeconds += 17
	sts.Annotations[resources.TemplateRenderAnnotation] = resources.TemplateRenderHash(&sts.Spec.Template)
	return sts, nil
}

func livenessPeriod(sts *appsv1.StatefulSet) int32 {
	return sts.Spec.Template.Spec.Containers[0].LivenessProbe.PeriodSeconds
}

// An operator upgrade whose rendering differs leaves the running template
// alone; the user's next spec change rolls the pods with the new rendering.
func TestOperatorUpgradeDoesNotRollTheServer(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	before := f.statefulSet()
	oldPeriod := livenessPeriod(before)

	f.c.renderStatefulSet = upgradedRendering
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events())
	after := f.statefulSet()
	if !equality.Semantic.DeepEqual(before.Spec, after.Spec) {
		t.Errorf("the upgrade changed the StatefulSet's spec:\n%s", diff.Diff(before.Spec, after.Spec))
	}
	f.expectQuiet(t)

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Image = "example.com/dittofs:v0.30.0" }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "update statefulsets nas", "apply dittoservers/status nas")
	rolled := f.statefulSet()
	if img := rolled.Spec.Template.Spec.Containers[0].Image; img != "example.com/dittofs:v0.30.0" {
		t.Errorf("image = %s, want the user's", img)
	}
	if got := livenessPeriod(rolled); got != oldPeriod+17 {
		t.Errorf("liveness period = %d, want the new rendering's %d", got, oldPeriod+17)
	}
	f.expectQuiet(t)
}

// Keeping templates does not keep drift: with the rendering unchanged, an
// edit of the template behind the operator's back is still repaired.
func TestTemplateDriftIsRepaired(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	sts := f.statefulSet().DeepCopy()
	sts.Spec.Template.Spec.Containers[0].Image = "example.com/other:latest"
	f.put(sts)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	if img := f.statefulSet().Spec.Template.Spec.Containers[0].Image; img != resources.DefaultImage {
		t.Errorf("drift not repaired: image %s", img)
	}
}

// With Parallel the StatefulSet controller replaces the stuck pod itself.
func TestStuckPodOnParallelIsLeftToTheStatefulSet(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	sts := f.statefulSet().DeepCopy()
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Fatalf("pod management policy %s, want Parallel", sts.Spec.PodManagementPolicy)
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-2"}
	f.put(sts)
	f.passWith(f.serverPod("nas-1", waiting("ImagePullBackOff", "Back-off pulling image")))
	expectActions(t, f.actions(), "apply dittoservers/status nas")
}

// A Secret the pod reads that changes after an upgrade is the user's change:
// the pods roll, with the new rendering.
func TestSecretChangeAfterAnUpgradeRolls(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("user-jwt", "secret")),
		newSecret("user-jwt", map[string]string{"secret": strings.Repeat("a", 40)}))
	f.converge()
	oldHash, oldPeriod := f.podConfigHash(), livenessPeriod(f.statefulSet())
	f.c.renderStatefulSet = upgradedRendering
	f.converge()
	if livenessPeriod(f.statefulSet()) != oldPeriod {
		t.Fatal("the upgrade alone changed the template")
	}

	f.put(newSecret("user-jwt", map[string]string{"secret": strings.Repeat("b", 40)}))
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets user-jwt", "update statefulsets nas", "apply dittoservers/status nas")
	if f.podConfigHash() == oldHash || livenessPeriod(f.statefulSet()) != oldPeriod+17 {
		t.Errorf("config hash %s (was %s), liveness period %d: want a roll with the new rendering",
			f.podConfigHash(), oldHash, livenessPeriod(f.statefulSet()))
	}
	f.expectQuiet(t)
}
