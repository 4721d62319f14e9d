package serverstate

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	alice := f.srv.users["alice"]
	alice.UID = ptr.To[uint32](7)
	f.srv.users["alice"] = alice
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

func TestS3RemoteStore(t *testing.T) {
	objs := teamObjects()
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", Region: "eu-west-1", AllowPrivateEndpoint: true,
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
	if !slices.Contains(f.kubeWrites(), "patch dittoservers/status") {
		t.Fatalf("the first unreachable pass must write the status: %v", f.kubeWrites())
	}
	if err := f.inf.DittoServers.Informer().GetIndexer().Update(stale); err != nil {
		t.Fatal(err)
	}
	f.clear()
	_ = f.c.sync(f.ctx, cacheKey())
	for _, w := range f.kubeWrites() {
		if w == "patch dittoservers/status" {
			t.Errorf("a stale cache cost a status write (a Conflict): %v", f.kubeWrites())
		}
	}
	if !slices.Contains(f.kubeReads(), "get dittoservers "+testServer) {
		t.Errorf("the writer must read the DittoServer its cache is behind on: %v", f.kubeReads())
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
