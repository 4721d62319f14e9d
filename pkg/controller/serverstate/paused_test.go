package serverstate

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// spec.paused on the DittoServer holds the server's own state as well: no
// request reaches its REST API (a share removed on the server by hand stays
// removed), what was reported keeps its status, a share created meanwhile
// says that it waits, without a Warning. Resuming converges everything.
func TestPausedServerIsLeftAlone(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()

	ds := f.server().DeepCopy()
	ds.Spec.Paused = true
	ds.Generation++
	f.update(ds, gvrDittoServers)
	delete(f.srv.shares, "/projects") // manual work on the server
	f.add(dittoShare("scratch"))

	if err := f.sync(); err != nil {
		t.Fatalf("paused pass: %v", err)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST requests while paused: %v", f.srv.calls)
	}
	wantKube := []string{"update dittoshares", "update dittoshares/status"}
	if got := f.kubeWrites(); !slices.Equal(got, wantKube) {
		t.Errorf("Kubernetes writes while paused = %v, want %v (the new share's finalizer and status)", got, wantKube)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("projects Ready = %+v, want its last status kept", c)
	}
	if c := condition(f.share("scratch").Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonServerPaused {
		t.Errorf("scratch Ready = %+v, want False/%s", c, ReasonServerPaused)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("events while paused: %v", ev)
	}
	if err := f.sync(); err != nil || len(f.srv.calls) != 0 || len(f.kubeWrites()) != 0 {
		t.Errorf("second paused pass: %v, REST %v, Kubernetes %v; want nothing", err, f.srv.calls, f.kubeWrites())
	}

	ds = f.server().DeepCopy()
	ds.Spec.Paused = false
	ds.Generation++
	f.update(ds, gvrDittoServers)
	f.converge()
	for _, name := range []string{"/projects", "/scratch"} {
		if _, ok := f.srv.shares[name]; !ok {
			t.Errorf("share %s not on the server after resuming", name)
		}
	}
	if c := condition(f.share("scratch").Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("scratch Ready after resuming = %+v", c)
	}
}
