package controller

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// With a progress interval, a healthy rollout's status is held back: a pod
// that turns ready within the interval costs one status write (Running),
// and a slower one shows Pending once the interval has passed.
func TestStatusPacing(t *testing.T) {
	readySTS := func(sts *appsv1.StatefulSet) {
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			UpdatedReplicas: 1, CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	}
	for _, tc := range []struct {
		name      string
		podsAfter time.Duration
		want      [][]string // status writes per pass
	}{
		{"pod ready within the interval", 500 * time.Millisecond, [][]string{nil, {"update dittoservers/status nas"}}},
		{"pod slower than the interval", 3 * time.Second, [][]string{nil, {"update dittoservers/status nas"}, {"update dittoservers/status nas"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer))
			f.c.pacer = newStatusPacer(time.Second)

			// Pass 1 creates the children; the Pending status waits.
			expectErr(t, f.sync(), nil)
			if got := statusWrites(f.actions()); len(got) != 0 {
				t.Fatalf("first pass wrote the status: %v", got)
			}
			if ds := f.dittoServer(); ds.Status.Phase != "" {
				t.Fatalf("status written early: %s", ds.Status.Phase)
			}
			f.catchUp()

			if tc.podsAfter > time.Second {
				// The interval passes with the pod still starting: Pending.
				f.clock = t0.Add(1100 * time.Millisecond)
				expectErr(t, f.sync(), nil)
				if got := statusWrites(f.actions()); len(got) != 1 {
					t.Fatalf("after the interval: status writes %v", got)
				}
				expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "Progressing=True/RolloutInProgress")
				f.catchUp()
			}

			sts := f.statefulSet()
			readySTS(sts)
			f.put(sts)
			f.clock = t0.Add(tc.podsAfter)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			if got := statusWrites(f.actions()); len(got) != 1 {
				t.Fatalf("pod ready: status writes %v", got)
			}
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "Ready=True/Ready")
			f.expectQuiet(t)
		})
	}
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
	expectErr(t, f.sync(), nil)
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
