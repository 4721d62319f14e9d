package serverstate

import (
	"errors"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Deleting a DittoShare or DittoUser removes it from the server; a server
// that is gone releases the objects without deleting anything.

func TestShareDeletion(t *testing.T) {
	for _, tc := range []struct {
		name        string
		policy      dittov1alpha1.DeletionPolicy
		down        bool
		wantWrites  []string
		wantGone    bool
		wantEvent   string
		wantOnServe bool
	}{
		{name: "Retain keeps the share", policy: dittov1alpha1.DeletionRetain, wantGone: true, wantEvent: "Normal " + ReasonRetained, wantOnServe: true},
		{name: "Delete removes it", policy: dittov1alpha1.DeletionDelete, wantWrites: []string{"DELETE share /projects"}, wantGone: true, wantEvent: "Normal " + ReasonDeleted},
		{name: "Retain needs no server", policy: dittov1alpha1.DeletionRetain, down: true, wantGone: true, wantEvent: "Normal " + ReasonRetained, wantOnServe: true},
		{name: "Delete waits for an unreachable server", policy: dittov1alpha1.DeletionDelete, down: true, wantEvent: "Warning " + ReasonDeletionBlocked, wantOnServe: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, teamObjects()...)
			f.converge()
			s := f.share("projects")
			s.Spec.DeletionPolicy = tc.policy
			f.update(s, gvrDittoShares)
			f.converge()
			f.deleteObj(f.share("projects"), gvrDittoShares)
			if tc.down {
				f.srv.down = errConnRefused
			}
			err := f.sync()
			if w := f.srv.writes(); !tc.down && !slices.Equal(w, tc.wantWrites) {
				t.Errorf("REST writes %v, want %v", w, tc.wantWrites)
			}
			_, getErr := f.dittoCS.DittofsV1alpha1().DittoShares(testNamespace).Get(f.ctx, "projects", metav1.GetOptions{})
			if gone := getErr != nil; gone != tc.wantGone {
				t.Errorf("DittoShare gone = %v, want %v (sync err %v)", gone, tc.wantGone, err)
			}
			if _, on := f.srv.shares["/projects"]; on != tc.wantOnServe {
				t.Errorf("share on the server = %v, want %v", on, tc.wantOnServe)
			}
			if events := f.events(); !hasEvent(events, tc.wantEvent) {
				t.Errorf("events %v, want %q", events, tc.wantEvent)
			}
			if !tc.wantGone {
				if !errors.Is(err, errRequeue) {
					t.Errorf("a blocked deletion must requeue with backoff, err = %v", err)
				}
				c := condition(f.share("projects").Status.Conditions, ConditionReady)
				if c.Reason != ReasonDeletionBlocked || !strings.Contains(c.Message, "connection refused") {
					t.Errorf("Ready = %+v", c)
				}
				_ = f.sync()
				if hasEvent(f.events(), "Warning "+ReasonDeletionBlocked) {
					t.Errorf("the blocked deletion must be reported once")
				}
				f.srv.down = nil
				_ = f.sync()
				if _, on := f.srv.shares["/projects"]; on {
					t.Errorf("once reachable, the share must be deleted")
				}
			}
		})
	}
}

func TestServerGoneReleasesWithoutDeleting(t *testing.T) {
	objs := teamObjects()
	f := newFixture(t, objs[1:]...) // no DittoServer
	s := f.share("projects")
	s.Finalizers = []string{Finalizer}
	s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
	f.update(s, gvrDittoShares)
	f.deleteObj(f.share("projects"), gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST calls %v with no server", f.srv.calls)
	}
	if _, err := f.dittoCS.DittofsV1alpha1().DittoShares(testNamespace).Get(f.ctx, "projects", metav1.GetOptions{}); err == nil {
		t.Errorf("the DittoShare must be released")
	}
	events := f.events()
	if !hasEvent(events, "Normal "+ReasonReleased) || !strings.Contains(strings.Join(events, "\n"), "without deleting anything") {
		t.Errorf("events %v", events)
	}
	if c := condition(f.user("alice").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonServerNotFound {
		t.Errorf("user Ready = %+v", c)
	}
}

func TestUserDeletionRemovesTheUser(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	f.deleteObj(f.user("alice"), gvrDittoUsers)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if !slices.Contains(f.srv.writes(), "DELETE user alice") {
		t.Errorf("REST writes %v", f.srv.writes())
	}
	if _, ok := f.srv.users["alice"]; ok {
		t.Errorf("alice must be gone from the server")
	}
}
