package serverstate

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// teamObjects is a server with one user in group "team" and one share that
// grants the user read-write and the group read.
func teamObjects() []runtime.Object {
	ds := availableServer()
	return []runtime.Object{
		ds, adminSecret(ds), statefulSet(ds),
		passwordSecret("alice-password", "alice-secret-pw"),
		dittoUser("alice", func(u *dittov1alpha1.DittoUser) {
			u.Spec.UID, u.Spec.GID, u.Spec.Groups = ptr.To[int64](1001), ptr.To[int64](1001), []string{"team"}
		}),
		dittoShare("projects", func(s *dittov1alpha1.DittoShare) {
			s.Spec.Quota = ptr.To(resource.MustParse("10Gi"))
			s.Spec.Permissions = []dittov1alpha1.SharePermission{
				{User: "alice", Level: dittov1alpha1.PermissionReadWrite},
				{Group: "team", Level: dittov1alpha1.PermissionRead},
			}
		}),
	}
}

func TestFirstPassCreatesEverythingInOrder(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{
		"POST login " + OperatorUsername, // refused: no account yet
		"POST login admin",
		"POST user " + OperatorUsername,
		"POST login " + OperatorUsername,
		"POST metadata-store default",
		"POST local-store default",
		"POST group team",
		"POST user alice",
		"POST share /projects",
		"PUT grant /projects group:team=read",
		"PUT grant /projects user:alice=read-write",
	}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes:\n got %v\nwant %v", got, want)
	}
	if s := f.srv.metadata["default"]; s.Type != "badger" || s.Config["path"] != resources.MetadataStorePath() {
		t.Errorf("metadata store = %+v, want badger at %s", s, resources.MetadataStorePath())
	}
	if s := f.srv.shares["/projects"]; s.QuotaBytes != 10<<30 || s.DefaultPermission != "none" || s.RemoteBlockStore != "" {
		t.Errorf("share = %+v", s)
	}
	if f.srv.users[OperatorUsername].Role != "admin" {
		t.Errorf("operator account role = %q, want admin", f.srv.users[OperatorUsername].Role)
	}
	if pw := f.srv.passwords["alice"]; pw != "alice-secret-pw" {
		t.Errorf("alice's password was not set from her Secret")
	}
	op, err := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, OperatorSecretName(f.server()), metav1.GetOptions{})
	if err != nil || len(op.OwnerReferences) != 0 || !resources.KeptFor(op, f.server()) || string(op.Data[OperatorPasswordKey]) != f.srv.passwords[OperatorUsername] {
		t.Errorf("the operator Secret must hold the account's password and be kept for the DittoServer (no owner reference): %v", err)
	}
	share := f.share("projects")
	if c := condition(share.Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue || c.Reason != ReasonCreated {
		t.Errorf("share Ready = %+v, want True/Created", c)
	}
	if share.Status.ExportName != "/projects" || share.Status.ObservedGeneration != 1 || !slices.Contains(share.Finalizers, Finalizer) {
		t.Errorf("share status/finalizer = %+v %v", share.Status, share.Finalizers)
	}
	ds := f.server()
	if c := condition(ds.Status.Conditions, ConditionStoresReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("StoresReady = %+v", c)
	}
	if c := condition(ds.Status.Conditions, ConditionSharesReady); c == nil || c.Status != metav1.ConditionTrue || ds.Status.SharesReady != 1 || ds.Status.Shares != 1 {
		t.Errorf("SharesReady = %+v, %d/%d", c, ds.Status.SharesReady, ds.Status.Shares)
	}
	if len(ds.Status.Stores) != 2 || condition(ds.Status.Conditions, "Available") == nil {
		t.Errorf("stores %+v; the main controller's conditions must be kept: %+v", ds.Status.Stores, ds.Status.Conditions)
	}
}

func TestConvergedPassWritesNothing(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	for i := range 3 {
		if err := f.sync(); err != nil {
			t.Fatalf("resync %d: %v", i, err)
		}
		if w := f.srv.writes(); len(w) != 0 {
			t.Errorf("resync %d: REST writes %v, want none", i, w)
		}
		if w := f.kubeWrites(); len(w) != 0 {
			t.Errorf("resync %d: Kubernetes writes %v, want none", i, w)
		}
		if r := f.kubeReads(); len(r) != 0 {
			t.Errorf("resync %d: Kubernetes reads %v, want none (no Secret is read while converged)", i, r)
		}
		if e := f.events(); len(e) != 0 {
			t.Errorf("resync %d: events %v, want none", i, e)
		}
		for _, c := range f.srv.calls {
			if strings.HasPrefix(c, "POST login") {
				t.Errorf("resync %d logged in again: the session must be reused", i)
			}
		}
	}
}

func TestDriftOnTheServerIsRepaired(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()

	// Behind the operator's back: the share goes, a grant is added, the user's uid changes.
	delete(f.srv.shares, "/projects")
	delete(f.srv.grants, "/projects")
	f.srv.users["alice"] = dfsapi.User{Username: "alice", Role: "user", Enabled: true, UID: ptr.To[uint32](7)}
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"PUT user alice", "POST share /projects", "PUT grant /projects group:team=read", "PUT grant /projects user:alice=read-write"}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes:\n got %v\nwant %v", got, want)
	}
	f.srv.grants["/projects"]["user/mallory"] = dfsapi.Permission{Type: "user", Name: "mallory", Level: "admin"}
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"DELETE grant /projects user:mallory"}) {
		t.Errorf("an undeclared grant must be removed; writes %v", got)
	}
	disabled := f.srv.shares["/projects"]
	disabled.Enabled = false
	f.srv.shares["/projects"] = disabled
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"PUT share /projects"}) || !f.srv.shares["/projects"].Enabled {
		t.Errorf("a declared share is served: a disabled one is enabled again; writes %v", got)
	}
	// What the operator did not declare stays.
	f.srv.users["carol"] = dfsapi.User{Username: "carol", Role: "user", Enabled: true}
	f.srv.shares["/manual"] = dfsapi.Share{Name: "/manual", MetadataStore: "default", LocalBlockStore: "default"}
	if err := f.sync(); err != nil || len(f.srv.writes()) != 0 {
		t.Errorf("undeclared users and shares must be left alone: err %v, writes %v", err, f.srv.writes())
	}
}

func TestEditsUpdateTheServer(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	s := f.share("projects")
	s.Spec.ReadOnly = true
	s.Spec.Quota = ptr.To(resource.MustParse("20Gi"))
	s.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "alice", Level: dittov1alpha1.PermissionRead}}
	s.Generation++
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"PUT share /projects", "PUT grant /projects user:alice=read", "DELETE grant /projects group:team"}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes:\n got %v\nwant %v", got, want)
	}
	if got := f.srv.shares["/projects"]; !got.ReadOnly || got.QuotaBytes != 20<<30 {
		t.Errorf("share after edit = %+v", got)
	}
	if st := f.share("projects").Status; st.ObservedGeneration != 2 {
		t.Errorf("observedGeneration = %d, want 2", st.ObservedGeneration)
	}
	if !hasEvent(f.events(), "Normal Updated") {
		t.Errorf("an update must be marked by an event")
	}
}

func TestPasswordSecretChangeResetsThePassword(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	sec := passwordSecret("alice-password", "alice-new-pw-2")
	sec.ResourceVersion = ""
	cur, _ := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, "alice-password", metav1.GetOptions{})
	sec.ResourceVersion = cur.ResourceVersion
	f.update(sec, gvrSecrets)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"POST password alice"}) {
		t.Errorf("REST writes %v, want the password reset only", got)
	}
	if f.srv.passwords["alice"] != "alice-new-pw-2" {
		t.Errorf("the new password was not set")
	}
	f.converge()
	if err := f.sync(); err != nil || len(f.srv.writes()) != 0 {
		t.Errorf("after the reset, a pass must write nothing: %v %v", err, f.srv.writes())
	}
}

func TestUnreachableServerReportsOnceAndBacksOff(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	f.srv.down = errConnRefused
	var warnings int
	for i := range 4 {
		err := f.sync()
		if !errors.Is(err, errRequeue) {
			t.Fatalf("pass %d: err = %v, want a backoff requeue", i, err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning") {
				warnings++
			}
		}
		if i > 0 && len(f.kubeWrites()) != 0 {
			t.Errorf("pass %d: Kubernetes writes %v while nothing changed", i, f.kubeWrites())
		}
	}
	if warnings != 1 {
		t.Errorf("%d Warning events across 4 passes, want exactly 1", warnings)
	}
	ds := f.server()
	c := condition(ds.Status.Conditions, ConditionStoresReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonServerUnreachable || !strings.Contains(c.Message, "connection refused") {
		t.Errorf("StoresReady = %+v, want False/ServerUnreachable with the error", c)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c.Reason != ReasonServerUnreachable {
		t.Errorf("share Ready = %+v", c)
	}
	if len(ds.Status.Stores) != 2 {
		t.Errorf("the stores last seen must be kept while unreachable: %+v", ds.Status.Stores)
	}
	f.srv.down = nil
	f.converge()
	if c := condition(f.server().Status.Conditions, ConditionStoresReady); c.Status != metav1.ConditionTrue {
		t.Errorf("StoresReady after recovery = %+v", c)
	}
}

func TestOperatorAccountFallsBackToTheAdminLogin(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	// The server's database was restored: the account has another password.
	f.srv.passwords[OperatorUsername] = "an-old-password"
	f.c.sessions.forget(cacheKey())
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"POST login " + OperatorUsername, "POST login admin", "POST password " + OperatorUsername, "POST login " + OperatorUsername}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes:\n got %v\nwant %v", got, want)
	}
	if !hasEvent(f.events(), "Normal "+ReasonOperatorAccountSet) {
		t.Errorf("the reset must be marked by an event")
	}
}

func TestServerNotAvailableWaits(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Status.AvailableReplicas = 0
		ds.Status.Conditions[1].Status = metav1.ConditionFalse
	})
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST calls %v to a server that is not available", f.srv.calls)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonServerNotReady {
		t.Errorf("share Ready = %+v", c)
	}
	if e := f.events(); len(e) != 0 {
		t.Errorf("events %v: a server still starting is not a warning", e)
	}
}

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

func TestS3RemoteStore(t *testing.T) {
	objs := teamObjects()
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", Region: "eu-west-1",
			CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	objs[0] = ds
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: testNamespace}, Data: map[string][]byte{
		"accessKeyId": []byte("AKIAEXAMPLE"), "secretAccessKey": []byte("s3-secret-value"), "endpoint": []byte("http://minio.minio.svc:9000")}})
	f := newFixture(t, objs...)
	f.converge()
	remote := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName]
	if remote.Type != "s3" || remote.Config["bucket"] != "files" || remote.Config["secret_access_key"] != "s3-secret-value" ||
		remote.Config["endpoint"] != "http://minio.minio.svc:9000" || remote.Config["allow_private_endpoint"] != true {
		t.Errorf("remote store = %+v", remote.Config)
	}
	if s := f.srv.shares["/projects"]; s.RemoteBlockStore != resources.RemoteBlockStoreName {
		t.Errorf("share remote store = %q", s.RemoteBlockStore)
	}
	if err := f.sync(); err != nil || len(f.srv.writes()) != 0 || len(f.kubeReads()) != 0 {
		t.Errorf("converged S3 pass: err %v, writes %v, reads %v", err, f.srv.writes(), f.kubeReads())
	}
	cur, _ := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, "s3", metav1.GetOptions{})
	cur.Data["secretAccessKey"] = []byte("rotated-secret")
	f.update(cur, gvrSecrets)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"PUT remote-store s3"}) || f.srv.blocks[dfsapi.BlockRemote]["s3"].Config["secret_access_key"] != "rotated-secret" {
		t.Errorf("rotated credentials: writes %v", got)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	objs := append(teamObjects(), dittoUser("bob"), passwordSecret("bob-password", "short"))
	f := newFixture(t, objs...)
	logger := ktesting.NewLogger(ktesting.NopTL{}, ktesting.NewConfig(ktesting.Verbosity(10), ktesting.BufferLogs(true)))
	f.ctx = klog.NewContext(f.ctx, logger)
	var all []string
	for i := 0; i < 3; i++ {
		if err := f.sync(); err != nil {
			all = append(all, err.Error())
		}
		all = append(all, f.events()...)
	}
	if c := condition(f.user("bob").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonSecretInvalid {
		t.Errorf("bob's too short password: Ready = %+v", c)
	}
	// The account is lost and reset; the server becomes unreachable.
	f.srv.passwords[OperatorUsername] = "lost"
	f.c.sessions.forget(cacheKey())
	_ = f.sync()
	f.srv.down = errConnRefused
	if err := f.sync(); err != nil {
		all = append(all, err.Error())
	}
	all = append(all, f.events()...)
	all = append(all, logger.GetSink().(ktesting.Underlier).GetBuffer().String())
	if !strings.Contains(all[len(all)-1], "Operator account set up") {
		t.Fatalf("the logs were not captured: %s", all[len(all)-1])
	}
	for _, u := range []string{"alice", "bob"} {
		for _, c := range f.user(u).Status.Conditions {
			all = append(all, c.Message)
		}
	}
	for _, c := range f.server().Status.Conditions {
		if c.Type == ConditionStoresReady || c.Type == ConditionSharesReady {
			all = append(all, c.Message)
		}
	}
	text := strings.Join(all, "\n")
	for _, secret := range []string{"alice-secret-pw", "short", fakeAdminPassword, f.srv.passwords[OperatorUsername]} {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("a secret value appears in errors, events, conditions or logs:\n%s", text)
		}
	}
}

func TestNameConflictsAndReservedNames(t *testing.T) {
	objs := append(teamObjects(),
		passwordSecret("admin2-password", "whatever-pw"),
		dittoUser("admin2", func(u *dittov1alpha1.DittoUser) { u.Spec.Username = OperatorUsername }),
		dittoShare("projects-copy", func(s *dittov1alpha1.DittoShare) {
			s.Spec.ExportName = "/projects"
			s.CreationTimestamp = metav1.NewTime(t0.Add(1))
		}))
	f := newFixture(t, objs...)
	f.converge()
	if c := condition(f.user("admin2").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonReservedName {
		t.Errorf("reserved username: Ready = %+v", c)
	}
	if c := condition(f.share("projects-copy").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonNameConflict {
		t.Errorf("second claim on /projects: Ready = %+v", c)
	}
	if c := condition(f.server().Status.Conditions, ConditionSharesReady); c.Status != metav1.ConditionFalse || f.server().Status.SharesReady != 1 {
		t.Errorf("SharesReady = %+v", c)
	}
}

// A pass that starts before the cache has seen this controller's own status
// write reads the object instead of spending a write on a Conflict.
func TestStaleCacheAfterOwnStatusWrite(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	stale := f.server()
	f.srv.down = errConnRefused
	_ = f.sync() // writes StoresReady=False
	if !slices.Contains(f.kubeWrites(), "update dittoservers/status") {
		t.Fatalf("the first unreachable pass must write the status: %v", f.kubeWrites())
	}
	if err := f.inf.DittoServers.Informer().GetIndexer().Update(stale); err != nil {
		t.Fatal(err)
	}
	f.clear()
	_ = f.c.sync(f.ctx, cacheKey())
	for _, w := range f.kubeWrites() {
		if w == "update dittoservers/status" {
			t.Errorf("a stale cache cost a status write (a Conflict): %v", f.kubeWrites())
		}
	}
	if !slices.Contains(f.kubeReads(), "get dittoservers "+testServer) {
		t.Errorf("the writer must read the DittoServer its cache is behind on: %v", f.kubeReads())
	}
}

func TestS3SecretMissing(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	c := condition(f.server().Status.Conditions, ConditionStoresReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonSecretNotFound {
		t.Errorf("StoresReady = %+v, want False/SecretNotFound", c)
	}
	if _, ok := f.srv.blocks[dfsapi.BlockRemote]["s3"]; ok {
		t.Errorf("no remote store without credentials")
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonStoresNotReady {
		t.Errorf("a share that needs the remote store waits: %+v", c)
	}
	if f.srv.metadata["default"].Type != "badger" {
		t.Errorf("the other stores are created meanwhile")
	}
}

// A server that answers with an error about one object: that object says so
// with the server's own message, once, and the pass is retried with backoff;
// nothing else is held back.
func TestServerRefusesOneShare(t *testing.T) {
	objs := append(teamObjects(), dittoShare("scratch"))
	f := newFixture(t, objs...)
	refusal := apiError(http.MethodPost, "/api/v1/shares", http.StatusBadRequest, "Invalid quota_bytes: too large")
	f.srv.refuse = map[string]error{"POST share /scratch": refusal}
	var warnings []string
	for i := range 3 {
		err := f.sync()
		if !errors.Is(err, errRequeue) {
			t.Fatalf("pass %d: err = %v, want a backoff requeue", i, err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning") {
				warnings = append(warnings, e)
			}
		}
	}
	c := condition(f.share("scratch").Status.Conditions, ConditionReady)
	if c == nil || c.Reason != ReasonServerError || !strings.Contains(c.Message, "Invalid quota_bytes: too large") {
		t.Errorf("Ready = %+v, want ServerError with the server's message", c)
	}
	if len(warnings) != 1 {
		t.Errorf("Warnings %v, want exactly one", warnings)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("the other share must not be held back: %+v", c)
	}
	ds := f.server()
	if c := condition(ds.Status.Conditions, ConditionSharesReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "scratch (ServerError)") || ds.Status.SharesReady != 1 {
		t.Errorf("SharesReady = %+v (%d ready)", c, ds.Status.SharesReady)
	}
}

// A remote store update the server refuses does not record the new
// credentials as given: the next pass gives them again.
func TestRefusedCredentialsAreRetried(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: testNamespace},
		Data: map[string][]byte{"accessKeyId": []byte("AKIA"), "secretAccessKey": []byte("first")}})
	f := newFixture(t, objs...)
	f.converge()
	before := f.server().Status.S3CredentialsVersion
	cur, _ := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, "s3", metav1.GetOptions{})
	cur.Data["secretAccessKey"] = []byte("second")
	f.update(cur, gvrSecrets)
	f.srv.refuse = map[string]error{"PUT remote-store s3": apiError(http.MethodPut, "/api/v1/store/block/remote/s3", http.StatusInternalServerError, "Failed to update block store")}
	if err := f.sync(); !errors.Is(err, errRequeue) {
		t.Fatalf("err = %v, want a backoff requeue", err)
	}
	if got := f.server().Status.S3CredentialsVersion; got != before {
		t.Errorf("s3CredentialsVersion moved to %q on a refused update", got)
	}
	f.srv.refuse = nil
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if f.srv.blocks[dfsapi.BlockRemote]["s3"].Config["secret_access_key"] != "second" {
		t.Errorf("the new credentials must be given once the server accepts them")
	}
}

// A Kubernetes API failure is not blamed on the server.
func TestKubernetesFailureIsNotTheServers(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.kubeCS.PrependReactor("get", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is gone"))
	})
	if err := f.sync(); !errors.Is(err, errRequeue) {
		t.Fatalf("err = %v, want a backoff requeue", err)
	}
	c := condition(f.server().Status.Conditions, ConditionStoresReady)
	if c == nil || c.Reason != ReasonReconcileFailed || !strings.Contains(c.Message, "etcd is gone") {
		t.Errorf("StoresReady = %+v, want ReconcileFailed with the Kubernetes error", c)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST calls %v without the operator's password", f.srv.calls)
	}
}

// A user's password Secret that goes leaves the user on the server and says
// so once; the Secret's return sets the password again.
func TestPasswordSecretDeletedAndRecreated(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	if err := f.kubeCS.CoreV1().Secrets(testNamespace).Delete(f.ctx, "alice-password", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var warnings int
	for range 3 {
		if err := f.sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning "+ReasonSecretNotFound) {
				warnings++
			}
		}
		if w := f.srv.writes(); len(w) != 0 {
			t.Errorf("REST writes %v: the user stays as it is", w)
		}
	}
	if warnings != 1 {
		t.Errorf("%d SecretNotFound Warnings, want 1", warnings)
	}
	if _, ok := f.srv.users["alice"]; !ok {
		t.Errorf("alice must stay on the server")
	}
	f.add(passwordSecret("alice-password", "alice-third-pw"))
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"POST password alice"}) || f.srv.passwords["alice"] != "alice-third-pw" {
		t.Errorf("writes %v; the recreated Secret's password must be set", got)
	}
	if c := condition(f.user("alice").Status.Conditions, ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v", c)
	}
}

func TestShareOwnerIsSetAtCreationOnceTheUserExists(t *testing.T) {
	objs := append(teamObjects(),
		dittoShare("home", func(s *dittov1alpha1.DittoShare) { s.Spec.Owner = "alice" }),
		dittoShare("scratch", func(s *dittov1alpha1.DittoShare) { s.Spec.Owner = "bob" }))
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if s, ok := f.srv.shares["/home"]; !ok || s.Owner != "alice" {
		t.Errorf("share /home = %+v, want created with owner alice", s)
	}
	if _, ok := f.srv.shares["/scratch"]; ok {
		t.Errorf("share /scratch was created before its owner bob exists: its root would be owned by root for good")
	}
	c := condition(f.share("scratch").Status.Conditions, ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonPrincipalNotFound || !strings.Contains(c.Message, "spec.owner") {
		t.Errorf("share scratch Ready = %+v, want False/%s naming spec.owner", c, ReasonPrincipalNotFound)
	}
	// The owner is not read back: a converged share with an owner stays quiet.
	f.srv.calls = nil
	if err := f.sync(); err != nil {
		t.Fatalf("resync: %v", err)
	}
	for _, w := range f.srv.writes() {
		if strings.Contains(w, "/home") {
			t.Errorf("resync wrote %q: the owner must not look like drift", w)
		}
	}
}
