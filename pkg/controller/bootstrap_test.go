package controller

import (
	"strings"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/backup"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
)

const backupUID = types.UID("b1-uid")

// fromBackup restores the test server from DittoBackup b1 in namespace ns
// ("" = its own).
func fromBackup(ns string) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Bootstrap = &dittov1alpha1.BootstrapSpec{FromBackup: &dittov1alpha1.BackupReference{Name: "b1", Namespace: ns}}
	}
}

// completedBackup is DittoBackup b1 of a server "old" in namespace ns, with
// a snapshot of each of the test server's claims of size.
func completedBackup(ns string, size string, mods ...func(*dittov1alpha1.DittoBackup)) *dittov1alpha1.DittoBackup {
	b := &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{Name: "b1", Namespace: ns, UID: backupUID},
		Spec:       dittov1alpha1.DittoBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: "old"}},
		Status: dittov1alpha1.DittoBackupStatus{
			Phase: dittov1alpha1.BackupCompleted, CredentialsSecretName: "b1-credentials",
		},
	}
	for _, claim := range []string{resources.VolumeMetadata, resources.VolumeContent} {
		b.Status.Snapshots = append(b.Status.Snapshots, dittov1alpha1.BackupSnapshot{
			Claim: claim, PersistentVolumeClaimName: claim + "-old-0", VolumeSnapshotName: "b1-" + claim,
			Size: ptr.To(resource.MustParse(size)), ReadyToUse: true,
		})
	}
	for _, mod := range mods {
		mod(b)
	}
	return b
}

// backupCredentials is the backup's copy of the old server's credentials.
func backupCredentials(ns string) *corev1.Secret {
	s := newSecret("b1-credentials", map[string]string{
		"generated." + resources.JWTSecretKey:         strings.Repeat("j", 48),
		"generated." + resources.AdminPasswordKey:     "old-admin-password",
		"operator." + serverstate.OperatorPasswordKey: "old-operator-password",
	})
	s.Namespace = ns
	return s
}

func claimNames() []string {
	return []string{resources.VolumeMetadata + "-nas-0", resources.VolumeContent + "-nas-0"}
}

// A server restored from a backup in its namespace gets its credentials
// Secrets with the backup's values and its claims from the backup's
// snapshots, then its StatefulSet; status.restoredFrom and one Restoring
// event say so, and the next passes are quiet.
func TestRestoreSameNamespace(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, fromBackup("")),
		completedBackup(testNamespace, "1Gi"), backupCredentials(testNamespace))
	expectErr(t, f.sync(), nil)
	got := f.actions()
	for _, want := range []string{"get dittobackups b1", "get secrets b1-credentials",
		"create secrets nas-generated", "create secrets nas-operator",
		"create persistentvolumeclaims metadata-nas-0", "create persistentvolumeclaims content-nas-0"} {
		if !contains(got, want) {
			t.Errorf("no %q among %q", want, got)
		}
	}
	gen := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret)
	if string(gen.Data[resources.AdminPasswordKey]) != "old-admin-password" || string(gen.Data[resources.JWTSecretKey]) != strings.Repeat("j", 48) {
		t.Errorf("nas-generated does not hold the backup's values: %v", gen.Data)
	}
	if len(gen.OwnerReferences) != 0 || !resources.KeptFor(gen, f.dittoServer()) {
		t.Errorf("nas-generated owners %v labels %v, want kept for nas", gen.OwnerReferences, gen.Labels)
	}
	op := f.get(f.kube, gvrSecrets, "nas-operator").(*corev1.Secret)
	if string(op.Data[serverstate.OperatorPasswordKey]) != "old-operator-password" || !resources.KeptFor(op, f.dittoServer()) {
		t.Errorf("nas-operator: %v %v", op.Data, op.Labels)
	}
	for _, name := range claimNames() {
		pvc := f.get(f.kube, gvrClaims, name).(*corev1.PersistentVolumeClaim)
		ds := pvc.Spec.DataSource
		template := strings.TrimSuffix(name, "-nas-0")
		if ds == nil || ds.Kind != "VolumeSnapshot" || ptr.Deref(ds.APIGroup, "") != "snapshot.storage.k8s.io" || ds.Name != "b1-"+template {
			t.Errorf("claim %s dataSource %+v, want VolumeSnapshot b1-%s", name, ds, template)
		}
		if len(pvc.OwnerReferences) != 0 || pvc.Labels[backup.RestoredFromLabel] != string(backupUID) ||
			pvc.Labels[resources.ManagedByLabel] != resources.ManagedByValue {
			t.Errorf("claim %s owners %v labels %v", name, pvc.OwnerReferences, pvc.Labels)
		}
	}
	expectEvents(t, f.events(), "Normal Restoring Restoring from DittoBackup storage/b1")
	// The next pass finds the claims made from the backup: the server is
	// made on them, and the status says where it came from.
	f.catchUp()
	expectErr(t, f.sync(), nil)
	if got := f.actions(); !contains(got, "create statefulsets nas") || contains(got, "get dittobackups b1") {
		t.Errorf("second pass: %q", got)
	}
	expectEvents(t, f.events())
	if r := f.dittoServer().Status.RestoredFrom; r == nil || r.Backup != "b1" || r.Namespace != testNamespace || r.UID != backupUID {
		t.Errorf("status.restoredFrom %+v", r)
	}
	f.expectQuiet(t)
	// Never restored again, even with the StatefulSet gone: the claims
	// made from the backup are adopted as they are.
	if err := f.kube.Delete(gvrStatefulSets, testNamespace, "nas"); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "create statefulsets nas")
	expectEvents(t, f.events())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expectRefused checks a pass that restores nothing: ConfigReady=False with
// reason, one Warning, no write but the status; the next pass is quiet.
func expectRefused(t *testing.T, f *fixture, reason, msg string) {
	t.Helper()
	expectErr(t, f.sync(), errWaiting)
	for _, a := range f.actions() {
		if !strings.HasPrefix(a, "get ") && a != "apply dittoservers/status nas" {
			t.Errorf("a refused restore wrote: %q", a)
		}
	}
	c := condition(f.dittoServer(), ConditionConfigReady)
	if c.Status != metav1.ConditionFalse || c.Reason != reason || !strings.Contains(c.Message, msg) {
		t.Errorf("ConfigReady %s %s %q, want False %s containing %q", c.Status, c.Reason, c.Message, reason, msg)
	}
	expectEvents(t, f.events(), "Warning "+reason)
	for _, name := range claimNames() {
		if f.exists(f.kube, gvrClaims, name) && reason != ReasonRestoreConflict {
			t.Errorf("claim %s created", name)
		}
	}
	if f.exists(f.kube, gvrSecrets, "nas-generated") {
		t.Errorf("Secret nas-generated created")
	}
	f.catchUp()
	expectErr(t, f.sync(), errWaiting)
	expectEvents(t, f.events())
	for _, a := range f.actions() {
		if !strings.HasPrefix(a, "get ") {
			t.Errorf("second pass wrote: %q", a)
		}
	}
}

func TestRestoreRefused(t *testing.T) {
	other := "team-b"
	running := func(b *dittov1alpha1.DittoBackup) { b.Status.Phase = dittov1alpha1.BackupRunning }
	for _, tc := range []struct {
		name        string
		objs        []any
		reason, msg string
	}{
		{"missing", nil, ReasonBackupNotFound, "DittoBackup storage/b1 not found"},
		{"not completed", []any{completedBackup(testNamespace, "1Gi", running)}, ReasonBackupNotReady, "is Running, not Completed"},
		{"too small", []any{completedBackup(testNamespace, "2Gi")}, ReasonBackupLayoutMismatch, "claim metadata of 1Gi is smaller than the 2Gi"},
		{"other layout", []any{completedBackup(testNamespace, "1Gi", func(b *dittov1alpha1.DittoBackup) { b.Status.Snapshots = b.Status.Snapshots[:1] })},
			ReasonBackupLayoutMismatch, "the storage layouts differ"},
		{"not admitted", []any{completedBackup(other, "1Gi")}, ReasonBackupNotAdmitted, "may be restored only into its own namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := ""
			if tc.reason == ReasonBackupNotAdmitted {
				ns = other
			}
			objs := []runtime.Object{newDittoServer(withFinalizer, fromBackup(ns)), backupCredentials(testNamespace)}
			for _, o := range tc.objs {
				objs = append(objs, o.(runtime.Object))
			}
			f := newFixture(t, false, objs...)
			expectRefused(t, f, tc.reason, tc.msg)
		})
	}
}

// A claim of the server's name that was not made from a backup is neither
// used nor overwritten nor deleted.
func TestRestoreForeignClaim(t *testing.T) {
	for _, labelled := range []bool{true, false} {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "metadata-nas-0", Namespace: testNamespace, UID: "old-claim"}}
		if labelled {
			pvc.Labels = map[string]string{resources.ManagedByLabel: resources.ManagedByValue}
		}
		f := newFixture(t, false, newDittoServer(withFinalizer, fromBackup("")), completedBackup(testNamespace, "1Gi"),
			backupCredentials(testNamespace), pvc)
		if labelled {
			expectRefused(t, f, ReasonRestoreConflict, "PersistentVolumeClaim metadata-nas-0 exists and was not made from a backup")
		} else {
			// Outside the operator's cache: found by the create.
			expectErr(t, f.sync(), errWaiting)
			if c := condition(f.dittoServer(), ConditionConfigReady); c.Reason != ReasonRestoreConflict {
				t.Errorf("ConfigReady %s %s", c.Reason, c.Message)
			}
			expectEvents(t, f.events(), "Warning "+ReasonRestoreConflict)
			if f.exists(f.kube, gvrStatefulSets, "nas") {
				t.Errorf("StatefulSet created on a foreign claim")
			}
		}
		if got := f.get(f.kube, gvrClaims, "metadata-nas-0").(*corev1.PersistentVolumeClaim); got.UID != "old-claim" || got.Spec.DataSource != nil {
			t.Errorf("foreign claim changed: %+v", got)
		}
	}
}

// From another namespace its spec.restoreNamespaces admits, the restore
// binds a pre-provisioned VolumeSnapshotContent (Retain) with the backup's
// snapshot handle to a VolumeSnapshot in the server's namespace.
func TestRestoreAcrossNamespaces(t *testing.T) {
	other := "team-b"
	all := func(b *dittov1alpha1.DittoBackup) {
		b.Spec.RestoreNamespaces = &dittov1alpha1.RestoreNamespacesSpec{From: dittov1alpha1.TenantsAll}
	}
	f := newFixture(t, false, newDittoServer(withFinalizer, fromBackup(other)), completedBackup(other, "1Gi", all), backupCredentials(other))
	for _, claim := range []string{resources.VolumeMetadata, resources.VolumeContent} {
		vs := &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "b1-" + claim, Namespace: other},
			Status: &snapv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To("snapcontent-" + claim)}}
		vsc := &snapv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-" + claim},
			Spec: snapv1.VolumeSnapshotContentSpec{Driver: "dir.csi.test", VolumeSnapshotClassName: ptr.To("dir"),
				DeletionPolicy: snapv1.VolumeSnapshotContentDelete},
			Status: &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To("handle-" + claim)}}
		for _, o := range []runtime.Object{vs, vsc} {
			if err := f.snapClient.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
	}
	expectErr(t, f.sync(), nil)
	for _, claim := range []string{resources.VolumeMetadata, resources.VolumeContent} {
		content, err := f.snapClient.SnapshotV1().VolumeSnapshotContents().Get(f.ctx, backup.RestoreContentName(f.dittoServer(), claim), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("no pre-provisioned content: %v", err)
		}
		if content.Spec.DeletionPolicy != snapv1.VolumeSnapshotContentRetain || ptr.Deref(content.Spec.Source.SnapshotHandle, "") != "handle-"+claim ||
			content.Spec.Driver != "dir.csi.test" || content.Spec.VolumeSnapshotRef.Namespace != testNamespace ||
			content.Spec.VolumeSnapshotRef.Name != "nas-restore-"+claim {
			t.Errorf("content %+v", content.Spec)
		}
		vs, err := f.snapClient.SnapshotV1().VolumeSnapshots(testNamespace).Get(f.ctx, "nas-restore-"+claim, metav1.GetOptions{})
		if err != nil || ptr.Deref(vs.Spec.Source.VolumeSnapshotContentName, "") != content.Name || ptr.Deref(vs.Spec.VolumeSnapshotClassName, "") != "dir" {
			t.Fatalf("VolumeSnapshot %v %+v", err, vs)
		}
		pvc := f.get(f.kube, gvrClaims, claim+"-nas-0").(*corev1.PersistentVolumeClaim)
		if pvc.Spec.DataSource == nil || pvc.Spec.DataSource.Name != "nas-restore-"+claim {
			t.Errorf("claim %s dataSource %+v", pvc.Name, pvc.Spec.DataSource)
		}
	}
	op := f.get(f.kube, gvrSecrets, "nas-operator").(*corev1.Secret)
	if string(op.Data[serverstate.OperatorPasswordKey]) != "old-operator-password" {
		t.Errorf("nas-operator %v", op.Data)
	}
	expectEvents(t, f.events(), "Normal Restoring Restoring from DittoBackup team-b/b1")
	f.converge()
	if r := f.dittoServer().Status.RestoredFrom; r == nil || r.Namespace != other || r.UID != backupUID {
		t.Errorf("status.restoredFrom %+v", r)
	}
	f.expectQuiet(t)
}

// A server waiting for its backup is requeued when the backup changes;
// one restored already, or from another backup, is not.
func TestRestoreHandlerRequeuesWaitingServers(t *testing.T) {
	restored := newDittoServer(withFinalizer, fromBackup(""))
	restored.Name, restored.UID = "done", "done-uid"
	restored.Status.RestoredFrom = &dittov1alpha1.RestoredFrom{Backup: "b1", Namespace: testNamespace}
	elsewhere := newDittoServer(withFinalizer, fromBackup("team-b"))
	elsewhere.Name, elsewhere.UID = "elsewhere", "elsewhere-uid"
	f := newFixture(t, false, newDittoServer(withFinalizer, fromBackup("")), restored, elsewhere)
	for f.c.queue.Len() > 0 {
		key, _ := f.c.queue.Get()
		f.c.queue.Done(key)
		f.c.queue.Forget(key)
	}
	f.c.RestoreHandler().OnUpdate(nil, completedBackup(testNamespace, "1Gi"))
	if n := f.c.queue.Len(); n != 1 {
		t.Fatalf("%d servers requeued, want 1", n)
	}
	if key, _ := f.c.queue.Get(); key.Name != testName || key.Namespace != testNamespace {
		t.Errorf("requeued %v", key)
	}
}

// A credentials Secret the server's name left behind with other values than
// the backup's is not overwritten: the restored server would not accept the
// backup's admin password or operator account.
func TestRestoreConflictingSecret(t *testing.T) {
	ds := newDittoServer(withFinalizer, fromBackup(""))
	stale := resources.CredentialsSecret(ds, "nas-generated", map[string]string{
		resources.JWTSecretKey: strings.Repeat("j", 48), resources.AdminPasswordKey: "another-password"})
	f := newFixture(t, false, ds, completedBackup(testNamespace, "1Gi"), backupCredentials(testNamespace), stale)
	expectErr(t, f.sync(), errWaiting)
	c := condition(f.dittoServer(), ConditionConfigReady)
	if c.Reason != ReasonRestoreConflict || !strings.Contains(c.Message, "Secret nas-generated exists with other credentials") {
		t.Errorf("ConfigReady %s %q", c.Reason, c.Message)
	}
	expectEvents(t, f.events(), "Warning "+ReasonRestoreConflict)
	if got := f.get(f.kube, gvrSecrets, "nas-generated").(*corev1.Secret); string(got.Data[resources.AdminPasswordKey]) != "another-password" {
		t.Errorf("Secret overwritten")
	}
	for _, name := range claimNames() {
		if f.exists(f.kube, gvrClaims, name) {
			t.Errorf("claim %s created", name)
		}
	}
}

// spec.restoreNamespaces from Selector admits by the labels of the server's
// namespace.
func TestRestoreAdmittedBySelector(t *testing.T) {
	other := "team-b"
	selector := func(b *dittov1alpha1.DittoBackup) {
		b.Spec.RestoreNamespaces = &dittov1alpha1.RestoreNamespacesSpec{From: dittov1alpha1.TenantsSelector,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"restore": "yes"}}}
		b.Status.Phase = dittov1alpha1.BackupRunning // admitted, then held on its phase
	}
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	for _, tc := range []struct {
		labels map[string]string
		reason string
	}{{map[string]string{"restore": "yes"}, ReasonBackupNotReady}, {map[string]string{"restore": "no"}, ReasonBackupNotAdmitted}} {
		f := newFixture(t, false, newDittoServer(withFinalizer, fromBackup(other)), completedBackup(other, "1Gi", selector),
			ns(testNamespace, tc.labels), ns("unrelated", map[string]string{"restore": "yes"}))
		expectErr(t, f.sync(), errWaiting)
		if c := condition(f.dittoServer(), ConditionConfigReady); c.Reason != tc.reason {
			t.Errorf("labels %v: ConfigReady %s %q, want %s", tc.labels, c.Reason, c.Message, tc.reason)
		}
	}
}
