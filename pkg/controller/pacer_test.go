package controller

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// With a progress interval, the first pass still writes the status it
// observed at once (the DittoServer shows Pending as soon as the operator
// acted), and the healthy rollout's progress after it is held back: a pod
// that turns ready within the interval costs one more status write
// (Running), and a slower one shows its progress once the interval has
// passed.
func TestStatusPacing(t *testing.T) {
	podsCreated := func(sts *appsv1.StatefulSet) {
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, UpdatedReplicas: 1,
			CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	}
	readySTS := func(sts *appsv1.StatefulSet) {
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			UpdatedReplicas: 1, CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	}
	for _, tc := range []struct {
		name      string
		podsAfter time.Duration
		want      int // status writes after the first pass's
	}{
		{"pod ready within the interval", 500 * time.Millisecond, 1},
		{"pod slower than the interval", 3 * time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer))
			f.c.pacer = newStatusPacer(time.Second)

			// Pass 1 creates the children and writes what it saw.
			expectErr(t, f.sync(), nil)
			if got := statusWrites(f.actions()); len(got) != 1 {
				t.Fatalf("first pass: status writes %v", got)
			}
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Progressing=True/RolloutInProgress")
			f.catchUp()
			writes := 0

			// The pod is created, not ready: progress only, held back.
			sts := f.statefulSet()
			podsCreated(sts)
			f.put(sts)
			f.clock = t0.Add(200 * time.Millisecond)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			if got := statusWrites(f.actions()); len(got) != 0 {
				t.Fatalf("progress within the interval: status writes %v", got)
			}

			if tc.podsAfter > time.Second {
				// The interval passes with the pod still starting.
				f.clock = t0.Add(1100 * time.Millisecond)
				expectErr(t, f.sync(), nil)
				writes += len(statusWrites(f.actions()))
				expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Progressing=False/RolloutComplete", "Available=False/ReplicasUnavailable")
				f.catchUp()
			}

			sts = f.statefulSet()
			readySTS(sts)
			f.put(sts)
			f.clock = t0.Add(tc.podsAfter)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			writes += len(statusWrites(f.actions()))
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "Ready=True/Ready")
			if writes != tc.want {
				t.Errorf("status writes after the first pass = %d, want %d", writes, tc.want)
			}
			f.expectQuiet(t)
		})
	}
}

// Whatever the interval, a new DittoServer's first pass writes its status:
// `kubectl get ditto` shows the phase as soon as the operator has acted.
func TestFirstPassWritesStatus(t *testing.T) {
	f := newFixture(t, false, newDittoServer())
	f.c.pacer = newStatusPacer(time.Hour)
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(),
		"patch dittoservers nas",
		"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls",
		"create configmaps nas-config",
		"create services nas-headless", "create services nas-file", "create services nas-api",
		"create statefulsets nas",
		"update dittoservers/status nas")
	ds := f.dittoServer()
	expectStatus(t, ds, dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved", "Progressing=True/RolloutInProgress")
	if ds.Status.ObservedGeneration != ds.Generation {
		t.Errorf("observedGeneration = %d, want %d", ds.Status.ObservedGeneration, ds.Generation)
	}
	expectEvents(t, f.events(), "Normal Created")
}

// Problems are never held back.
func TestStatusPacingWritesProblemsAtOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("missing", "jwt")))
	f.c.pacer = newStatusPacer(time.Hour)
	expectErr(t, f.sync(), errWaiting)
	if got := statusWrites(f.actions()); len(got) != 1 {
		t.Fatalf("status writes %v", got)
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/SecretNotFound")
}

func statusWrites(actions []string) []string {
	var out []string
	for _, a := range actions {
		if a == "update dittoservers/status "+testName {
			out = append(out, a)
		}
	}
	return out
}

// Pods created but not ready yet (the rollout itself is done, so Progressing
// is False) are still waiting, not a problem: held back like the rollout.
func TestStatusPacingHoldsPodsNotReady(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.c.pacer = newStatusPacer(time.Second)
	expectErr(t, f.sync(), nil) // writes the first status
	f.catchUp()

	sts := f.statefulSet()
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, UpdatedReplicas: 1,
		CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	f.put(sts)
	f.clock = t0.Add(500 * time.Millisecond)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	if got := statusWrites(f.actions()); len(got) != 0 {
		t.Fatalf("pods not ready within the interval: status writes %v", got)
	}

	f.clock = t0.Add(1100 * time.Millisecond)
	expectErr(t, f.sync(), nil)
	if got := statusWrites(f.actions()); len(got) != 1 {
		t.Fatalf("after the interval: status writes %v", got)
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Progressing=False/RolloutComplete", "Available=False/ReplicasUnavailable")
}

// An edit of a running server is the first status of a new spec: written at
// once whatever the interval, so that observedGeneration (which `kubectl
// rollout`-style tools and CD health checks wait on) and the Pending phase
// follow the edit, not the pacing period.
func TestStatusPacingWritesANewSpecAtOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	f.markReady()
	f.converge()
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "Ready=True/Ready")
	f.c.pacer = newStatusPacer(time.Hour)

	f.edit(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ShutdownTimeout = &metav1.Duration{Duration: time.Minute}
	}, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	if got := statusWrites(f.actions()); len(got) != 1 {
		t.Fatalf("status writes %v, want the new spec's status", got)
	}
	ds := f.dittoServer()
	if ds.Status.ObservedGeneration != ds.Generation {
		t.Errorf("observedGeneration = %d, want %d", ds.Status.ObservedGeneration, ds.Generation)
	}
	expectStatus(t, ds, dittov1alpha1.PhasePending, "Progressing=True/RolloutInProgress")
}

// A pod that reports a problem while the rollout is under way is a problem,
// not progress: PodsHealthy=False is written at once.
func TestStatusPacingWritesPodProblemsAtOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.c.pacer = newStatusPacer(time.Hour)
	expectErr(t, f.sync(), nil) // the first status
	f.catchUp()

	f.passWith(f.serverPod("nas-1", waiting("ErrImagePull", "not found")))
	if got := statusWrites(f.actions()); len(got) != 1 {
		t.Fatalf("status writes %v, want the pod's problem", got)
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "PodsHealthy=False/ErrImagePull")
}
