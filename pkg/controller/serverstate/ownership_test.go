package serverstate

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// A DittoShare or DittoUser acts only on what it created itself. Each test
// is an attack a team could try on a shared server.

// serverStateOf is what a test compares before and after an attack.
func serverStateOf(f *fixture, user, export string) (dfsapi.User, string, dfsapi.Share, map[string]dfsapi.Permission) {
	grants := map[string]dfsapi.Permission{}
	for k, v := range f.srv.grants[export] {
		grants[k] = v
	}
	return f.srv.users[user], f.srv.passwords[user], f.srv.shares[export], grants
}

// handMade adds a user bob and a share /handmade to the server as its
// administrator would, behind the operator's back, with one file's grant.
func handMade(f *fixture) {
	f.srv.users["bob"] = dfsapi.User{ID: "admin-made-user", Username: "bob", Role: "admin", Enabled: true,
		UID: ptr.To[uint32](2000), Groups: []string{"admins"}}
	f.srv.passwords["bob"] = "bobs-own-password"
	f.srv.shares["/handmade"] = dfsapi.Share{ID: "admin-made-share", Name: "/handmade", MetadataStore: "default",
		LocalBlockStore: "default", DefaultPermission: "read", QuotaBytes: 1 << 30, Enabled: true}
	f.srv.grants["/handmade"] = map[string]dfsapi.Permission{"user/bob": {Type: "user", Name: "bob", Level: "admin"}}
}

func tenantObjects() []runtime.Object {
	ds := availableServer()
	return []runtime.Object{ds, adminSecret(ds), statefulSet(ds),
		passwordSecret("bob-password", "the-tenants-password"),
		dittoUser("bob"),
		dittoShare("handmade", func(s *dittov1alpha1.DittoShare) {
			s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
			s.Spec.Quota = nil
			s.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "bob", Level: dittov1alpha1.PermissionRead}}
		}),
	}
}

func TestHandMadeUserAndShareAreNeverTakenOver(t *testing.T) {
	f := newFixture(t, tenantObjects()[:3]...)
	f.converge() // stores and the operator's account
	handMade(f)
	u0, pw0, s0, g0 := serverStateOf(f, "bob", "/handmade")
	for _, obj := range tenantObjects()[3:] {
		f.add(obj)
	}

	for pass := range 3 {
		_ = f.sync()
		for _, w := range f.srv.writes() {
			if strings.Contains(w, "bob") || strings.Contains(w, "/handmade") {
				t.Errorf("pass %d wrote %q to a user or share the operator did not create", pass, w)
			}
		}
		events := f.events()
		warnings := 0
		for _, e := range events {
			if strings.HasPrefix(e, "Warning "+ReasonNameConflict) {
				warnings++
			}
		}
		if want := map[bool]int{true: 2, false: 0}[pass == 0]; warnings != want {
			t.Errorf("pass %d: %d NameConflict Warnings (events %v), want %d", pass, warnings, events, want)
		}
	}
	for _, c := range []*dittov1alpha1.DittoShareStatus{&f.share("handmade").Status} {
		ready := condition(c.Conditions, ConditionReady)
		if ready == nil || ready.Reason != ReasonNameConflict || !strings.Contains(ready.Message, "was not created by this DittoShare") {
			t.Errorf("DittoShare Ready = %+v, want NameConflict", ready)
		}
		if c.CreatedOnServer != nil {
			t.Errorf("DittoShare records %+v, want no claim", c.CreatedOnServer)
		}
	}
	if ready := condition(f.user("bob").Status.Conditions, ConditionReady); ready == nil || ready.Reason != ReasonNameConflict {
		t.Errorf("DittoUser Ready = %+v, want NameConflict", ready)
	}

	// Deleting both objects deletes nothing on the server.
	f.deleteObj(f.share("handmade"), gvrDittoShares)
	f.deleteObj(f.user("bob"), gvrDittoUsers)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("deleting the objects wrote %v, want nothing", w)
	}
	u1, pw1, s1, g1 := serverStateOf(f, "bob", "/handmade")
	if !equalUser(u0, u1) || pw0 != pw1 || s0 != s1 || len(g0) != len(g1) || g1["user/bob"] != g0["user/bob"] {
		t.Errorf("the server changed:\nuser %+v → %+v (password changed: %v)\nshare %+v → %+v\ngrants %v → %v",
			u0, u1, pw0 != pw1, s0, s1, g0, g1)
	}
	if events := f.events(); !hasEvent(events, "Normal "+ReasonReleased) {
		t.Errorf("events %v, want Released", events)
	}
}

func equalUser(a, b dfsapi.User) bool {
	return a.ID == b.ID && a.Role == b.Role && a.Enabled == b.Enabled && slices.Equal(a.Groups, b.Groups) &&
		ptr.Deref(a.UID, 0) == ptr.Deref(b.UID, 0)
}

func TestARetainedShareIsNotClaimedByAnotherDittoShare(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	first := f.srv.shares["/projects"]
	f.deleteObj(f.share("projects"), gvrDittoShares) // Retain: the share stays
	f.converge()
	if _, ok := f.srv.shares["/projects"]; !ok {
		t.Fatal("a Retain share must stay on the server")
	}

	f.add(dittoShare("thief", func(s *dittov1alpha1.DittoShare) {
		s.Spec.ExportName = "/projects"
		s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
		s.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "alice", Level: dittov1alpha1.PermissionAdmin}}
	}))
	_ = f.sync()
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("the later DittoShare wrote %v, want nothing", w)
	}
	if r := condition(f.share("thief").Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNameConflict {
		t.Errorf("Ready = %+v, want NameConflict", r)
	}
	f.deleteObj(f.share("thief"), gvrDittoShares)
	_ = f.sync()
	if got, ok := f.srv.shares["/projects"]; !ok || got.ID != first.ID {
		t.Errorf("share /projects after the later DittoShare's deletion: %+v, %v; want the first one kept", got, ok)
	}
}

func TestAShareMadeAgainByHandIsNotOwned(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	// An admin deletes the share and makes one of the same name.
	f.srv.shares["/projects"] = dfsapi.Share{ID: "by-hand", Name: "/projects", MetadataStore: "default", LocalBlockStore: "default",
		DefaultPermission: "admin", Enabled: true}
	f.srv.grants["/projects"] = map[string]dfsapi.Permission{}
	_ = f.sync()
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("writes %v to a share of the same name made by hand, want none", w)
	}
	if r := condition(f.share("projects").Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNameConflict {
		t.Errorf("Ready = %+v, want NameConflict", r)
	}
}

func TestAShareDeletedBehindTheOperatorsBackIsMadeAgainAndOwned(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	old := f.share("projects").Status.CreatedOnServer
	if old == nil || old.ID != f.srv.shares["/projects"].ID {
		t.Fatalf("status records %+v, want the share's id %q", old, f.srv.shares["/projects"].ID)
	}
	delete(f.srv.shares, "/projects")
	delete(f.srv.grants, "/projects")
	f.converge()
	rec := f.share("projects").Status.CreatedOnServer
	if rec == nil || rec.ID == old.ID || rec.ID != f.srv.shares["/projects"].ID {
		t.Errorf("status records %+v after re-creation, want the new id %q", rec, f.srv.shares["/projects"].ID)
	}
	// Recorded before the create request: the status was written twice.
	if r := condition(f.share("projects").Status.Conditions, ConditionReady); r == nil || r.Status != "True" {
		t.Errorf("Ready = %+v", r)
	}
}

func TestAnInterruptedCreationIsRecognised(t *testing.T) {
	objs := teamObjects()
	f := newFixture(t, objs...)
	f.converge()
	// As if the operator stopped after the create request and before it
	// recorded the id: the intent only.
	s := f.share("projects")
	s.Status.CreatedOnServer = &dittov1alpha1.ServerObjectRecord{}
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("writes %v, want none (the share is as declared)", w)
	}
	if rec := f.share("projects").Status.CreatedOnServer; rec == nil || rec.ID != f.srv.shares["/projects"].ID {
		t.Errorf("status records %+v, want the share's id", rec)
	}
}

func TestAnUnconfirmedCreationIsNeverDeleted(t *testing.T) {
	f := newFixture(t, tenantObjects()[:3]...)
	f.converge()
	handMade(f)
	f.add(dittoShare("handmade", func(s *dittov1alpha1.DittoShare) {
		s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
		s.Status.CreatedOnServer = &dittov1alpha1.ServerObjectRecord{}
		s.Finalizers = []string{Finalizer}
	}))
	f.deleteObj(f.share("handmade"), gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("writes %v, want none", w)
	}
	if _, ok := f.srv.shares["/handmade"]; !ok {
		t.Error("a share whose creation was never confirmed was deleted")
	}
}

func TestACreateRefusedAsExistingIsNeverClaimed(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.srv.refuse = map[string]error{"POST share /projects": apiError(http.MethodPost, "/api/v1/shares", http.StatusConflict, "Share already exists")}
	_ = f.sync()
	s := f.share("projects")
	if s.Status.CreatedOnServer != nil {
		t.Errorf("status records %+v after a refused create, want no claim", s.Status.CreatedOnServer)
	}
	if r := condition(s.Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNameConflict {
		t.Errorf("Ready = %+v, want NameConflict", r)
	}
}

func TestClaimsAreSticky(t *testing.T) {
	// Two DittoShares created in the same second: "b-share" made the share
	// before "a-share" existed. Ordering by name alone would hand the
	// export to "a-share".
	f := newFixture(t, teamObjects()...)
	f.converge()
	holder := f.share("projects")
	rec := holder.Status.CreatedOnServer
	f.add(dittoShare("a-share", func(s *dittov1alpha1.DittoShare) {
		s.Spec.ExportName = "/projects"
		s.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
	}))
	_ = f.sync()
	if w := f.srv.writes(); len(w) != 0 {
		t.Errorf("writes %v, want none", w)
	}
	if r := condition(f.share("a-share").Status.Conditions, ConditionReady); r == nil || r.Reason != ReasonNameConflict {
		t.Errorf("the later DittoShare's Ready = %+v, want NameConflict", r)
	}
	if r := condition(f.share("projects").Status.Conditions, ConditionReady); r == nil || r.Status != "True" {
		t.Errorf("the holder's Ready = %+v, want True", r)
	}
	if got := f.share("projects").Status.CreatedOnServer; got == nil || got.ID != rec.ID {
		t.Errorf("the holder's record %+v, want %+v", got, rec)
	}
}

func TestAUserPasswordNeverComesFromTheServersCredentials(t *testing.T) {
	objs := teamObjects()
	ds := objs[0].(*dittov1alpha1.DittoServer)
	for _, secret := range []string{ds.Name + "-generated", ds.Name + "-operator"} {
		t.Run(secret, func(t *testing.T) {
			objs := teamObjects()
			for _, o := range objs {
				if u, ok := o.(*dittov1alpha1.DittoUser); ok {
					u.Spec.PasswordSecretRef.Name, u.Spec.PasswordSecretRef.Key = secret, "password"
				}
			}
			f := newFixture(t, objs...)
			_ = f.sync()
			if _, ok := f.srv.users["alice"]; ok {
				t.Errorf("user alice was made with the password of Secret %s", secret)
			}
			r := condition(f.user("alice").Status.Conditions, ConditionReady)
			if r == nil || r.Reason != ReasonSecretInvalid || !strings.Contains(r.Message, "own credentials") {
				t.Errorf("Ready = %+v, want SecretInvalid naming the server's own credentials", r)
			}
		})
	}
}

// A Conflict on the write that records the intent to create (another writer
// changed the object since the cache read) is retried quietly: nothing is
// created, no Warning, no failure on the DittoServer, and the next pass
// creates the share and user.
func TestAConflictRecordingTheIntentIsRetriedQuietly(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	// The intent writes are the status updates that record a creation with
	// no id yet; the first two are refused as stale.
	intent := func(o runtime.Object) bool {
		switch x := o.(type) {
		case *dittov1alpha1.DittoShare:
			return x.Status.CreatedOnServer != nil && x.Status.CreatedOnServer.ID == ""
		case *dittov1alpha1.DittoUser:
			return x.Status.CreatedOnServer != nil && x.Status.CreatedOnServer.ID == ""
		}
		return false
	}
	conflicts := 0
	f.dittoCS.PrependReactor("update", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		u, ok := a.(clienttesting.UpdateAction)
		if !ok || u.GetSubresource() != "status" || !intent(u.GetObject()) || conflicts >= 2 {
			return false, nil, nil
		}
		conflicts++
		return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), "x", errors.New("changed"))
	})
	err := f.sync()
	if !errors.Is(err, errRequeue) {
		t.Fatalf("sync err = %v, want a quiet backoff requeue", err)
	}
	for _, w := range f.srv.writes() {
		if strings.HasPrefix(w, "POST user alice") || strings.HasPrefix(w, "POST share") {
			t.Errorf("%s without a recorded intent", w)
		}
	}
	for _, e := range f.events() {
		if strings.HasPrefix(e, "Warning") {
			t.Errorf("a Conflict raised %q", e)
		}
	}
	if c := condition(f.server().Status.Conditions, ConditionStoresReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("StoresReady = %+v, want True: a Conflict is no failure of the server", c)
	}
	f.converge()
	if _, ok := f.srv.shares["/projects"]; !ok {
		t.Error("the next passes did not create the share")
	}
	if rec := f.share("projects").Status.CreatedOnServer; rec == nil || rec.ID == "" {
		t.Errorf("status records %+v, want the share's id", rec)
	}
}
