package backup

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// --- what the cluster does between passes ---

// stopServer: the StatefulSet controller removed the pod.
func (f *fixture) stopServer() {
	ctx := context.Background()
	_ = f.kube.CoreV1().Pods(ns).Delete(ctx, "fs-0", metav1.DeleteOptions{})
	f.setReady(0)
}

func (f *fixture) setReady(n int32) {
	ctx := context.Background()
	sts, _ := f.kube.AppsV1().StatefulSets(ns).Get(ctx, "fs", metav1.GetOptions{})
	sts.Status.Replicas, sts.Status.ReadyReplicas = n, n
	if _, err := f.kube.AppsV1().StatefulSets(ns).UpdateStatus(ctx, sts, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// snapshotsDo sets what the snapshot controller reports on every snapshot.
func (f *fixture) snapshotsDo(cut, ready bool, errMsg string) {
	ctx := context.Background()
	list, _ := f.snap.SnapshotV1().VolumeSnapshots(ns).List(ctx, metav1.ListOptions{})
	for i := range list.Items {
		vs := &list.Items[i]
		vs.Status = &snapv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(ready), RestoreSize: ptr.To(resource.MustParse("1Gi"))}
		if cut {
			vs.Status.CreationTime = &metav1.Time{Time: f.now}
		}
		if errMsg != "" {
			vs.Status.Error = &snapv1.VolumeSnapshotError{Message: ptr.To(errMsg)}
		}
		if _, err := f.snap.SnapshotV1().VolumeSnapshots(ns).Update(ctx, vs, metav1.UpdateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

func ready(b *dittov1alpha1.DittoBackup) *metav1.Condition {
	return meta.FindStatusCondition(b.Status.Conditions, dittov1alpha1.ConditionReady)
}

func mustKind(t *testing.T, step string, err error, want kit.Kind) {
	t.Helper()
	if got := kit.KindOf(err); got != want {
		t.Fatalf("%s: outcome %v (%v), want %v", step, got, err, want)
	}
}

func verbs(actions []k8stesting.Action) string {
	var out []string
	for _, a := range actions {
		s := a.GetVerb() + " " + a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			s += "/" + sub
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// runToCut takes a fresh backup up to its snapshots being created.
func runToCut(t *testing.T, f *fixture) {
	t.Helper()
	_, err := f.pass("b1") // Running
	mustKind(t, "start", err, kit.Succeeded)
	_, err = f.pass("b1") // finalizer
	mustKind(t, "finalizer", err, kit.CacheBehind)
	_, err = f.pass("b1") // hold
	mustKind(t, "hold", err, kit.Waiting)
	if got := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; got != "b1" {
		t.Fatalf("hold annotation %q, want b1", got)
	}
	f.stopServer()
	f.now = f.now.Add(5 * time.Second)
	_, err = f.pass("b1") // snapshots created
	mustKind(t, "snapshots", err, kit.Waiting)
}

// A backup from start to Completed, then quiet.
func TestBackupLifecycle(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	runToCut(t, f)
	b := f.backup("b1")
	if b.Status.Phase != dittov1alpha1.BackupRunning || b.Status.VolumeSnapshotClassName != "csi-snap" ||
		b.Status.ServerVersion != "v0.29.0" || len(b.Status.Layout.Claims) != 2 || b.Status.Consistency.ServerStoppedAt == nil {
		t.Fatalf("running status: %+v", b.Status)
	}
	vs, err := f.snap.SnapshotV1().VolumeSnapshots(ns).Get(context.Background(), "b1-metadata", metav1.GetOptions{})
	if err != nil || *vs.Spec.Source.PersistentVolumeClaimName != "metadata-fs-0" || !metav1.IsControlledBy(vs, b) {
		t.Fatalf("snapshot of the metadata claim: %+v %v", vs, err)
	}
	sec, err := f.kube.CoreV1().Secrets(ns).Get(context.Background(), "b1-credentials", metav1.GetOptions{})
	if err != nil || string(sec.Data["generated.admin-password"]) != "s3cret-admin" || !metav1.IsControlledBy(sec, b) {
		t.Fatalf("credentials Secret: %+v %v", sec, err)
	}
	if strings.Contains(fmt.Sprintf("%+v", b.Status), "s3cret") {
		t.Fatal("a password in the backup's status")
	}

	f.now = f.now.Add(3 * time.Second)
	f.snapshotsDo(true, false, "")
	_, err = f.pass("b1") // cut: recorded while the server is still held
	mustKind(t, "cut", err, kit.Succeeded)
	if b := f.backup("b1"); b.Status.Consistency.CutAt == nil {
		t.Fatal("cut not recorded")
	}
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; !held {
		t.Fatal("hold released before the cut was recorded")
	}
	_, err = f.pass("b1") // the recorded cut releases the hold: waiting for the server
	mustKind(t, "released", err, kit.Waiting)
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("hold kept after the cut")
	}
	f.now = f.now.Add(4 * time.Second)
	f.setReady(1)
	_, err = f.pass("b1") // resumed, waiting for readyToUse
	mustKind(t, "resumed", err, kit.Waiting)
	b = f.backup("b1")
	if p := b.Status.Consistency.Pause; p == nil || p.Duration != 7*time.Second || !b.Status.Consistency.Consistent {
		t.Fatalf("pause %v, want 7s (pod gone to pod Ready)", p)
	}
	f.snapshotsDo(true, true, "")
	_, err = f.pass("b1")
	mustKind(t, "completed", err, kit.Succeeded)
	b = f.backup("b1")
	if b.Status.Phase != dittov1alpha1.BackupCompleted || b.Status.Size != "2Gi" || ready(b).Status != metav1.ConditionTrue ||
		len(b.Finalizers) != 0 {
		t.Fatalf("completed backup: %+v finalizers %v", b.Status, b.Finalizers)
	}
	for _, e := range f.events() {
		if strings.HasPrefix(e, "Warning") {
			t.Errorf("Warning event in a successful backup: %s", e)
		}
	}

	// Quiet when converged: no write, no event on resync.
	writes, err := f.pass("b1")
	mustKind(t, "resync", err, kit.Succeeded)
	if len(writes) != 0 || len(f.events()) != 0 {
		t.Fatalf("converged backup wrote %s", verbs(writes))
	}
}

// A restarted operator resumes from the status and the objects: it
// re-creates nothing and goes on from the cut.
func TestBackupResumesAfterRestart(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	runToCut(t, f)
	f.snapshotsDo(true, false, "")
	// A new controller on the same cluster.
	f2 := newFixtureOn(t, f.kube, f.ditto, f.snap)
	f2.now = f.now
	writes, err := f2.pass("b1")
	mustKind(t, "resumed pass", err, kit.Succeeded)
	for _, w := range writes {
		if w.GetVerb() == "create" {
			t.Errorf("restarted operator created %s again", w.GetResource().Resource)
		}
	}
	if b := f2.backup("b1"); b.Status.Consistency.CutAt == nil {
		t.Fatal("cut not recorded after restart")
	}
}

// Without the snapshot CRDs: Pending, one Warning, then quiet.
func TestBackupWaitsForSnapshotCRDs(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	f.missing = []string{"volumesnapshots.snapshot.storage.k8s.io"}
	_, err := f.pass("b1")
	mustKind(t, "no CRDs", err, kit.Waiting)
	b := f.backup("b1")
	if b.Status.Phase != dittov1alpha1.BackupPending || ready(b).Reason != ReasonSnapshotCRDsNotInstalled {
		t.Fatalf("status %+v", b.Status)
	}
	if ev := f.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning SnapshotCRDsNotInstalled") {
		t.Fatalf("events %v, want one Warning", ev)
	}
	writes, err := f.pass("b1")
	mustKind(t, "still no CRDs", err, kit.Waiting)
	if len(writes) != 0 || len(f.events()) != 0 {
		t.Fatalf("second pass wrote %s", verbs(writes))
	}
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("server held without snapshot CRDs")
	}
	f.missing = nil
	_, err = f.pass("b1")
	mustKind(t, "CRDs installed", err, kit.Succeeded)
	if f.backup("b1").Status.Phase != dittov1alpha1.BackupRunning {
		t.Fatal("backup did not start once the CRDs appeared")
	}
}

// A class that does not exist: Pending with the field named, one Warning,
// the server never stopped.
func TestBackupClassMissing(t *testing.T) {
	b := newBackup("b1")
	b.Spec.VolumeSnapshotClassName = "nope"
	f := clusterFixture(t, b)
	_, err := f.pass("b1")
	mustKind(t, "class missing", err, kit.Waiting)
	c := ready(f.backup("b1"))
	if c.Reason != ReasonClassNotFound || !strings.Contains(c.Message, "spec.volumeSnapshotClassName") {
		t.Fatalf("condition %+v", c)
	}
	if ev := f.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning") {
		t.Fatalf("events %v", ev)
	}
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("server held for a backup that cannot start")
	}
}

// No class named and no default for the driver.
func TestBackupNoDefaultClass(t *testing.T) {
	k, d, _ := cluster(newBackup("b1"))
	f := newFixture(t, k, d, nil)
	_, err := f.pass("b1")
	mustKind(t, "no default", err, kit.Waiting)
	if c := ready(f.backup("b1")); c.Reason != ReasonClassNotFound || !strings.Contains(c.Message, "dir.csi.test") {
		t.Fatalf("condition %+v", c)
	}
}

// A snapshot that fails: Failed with its error, one Warning, the server
// started again, the finalizer gone; not retried.
func TestBackupSnapshotFailed(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	runToCut(t, f)
	f.events()
	f.snapshotsDo(false, false, "disk on fire")
	_, err := f.pass("b1")
	mustKind(t, "failed", err, kit.Succeeded)
	b := f.backup("b1")
	if b.Status.Phase != dittov1alpha1.BackupFailed || !strings.Contains(ready(b).Message, "disk on fire") || len(b.Finalizers) != 0 {
		t.Fatalf("failed backup: %+v %v", b.Status, b.Finalizers)
	}
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("a failed backup left the server stopped")
	}
	warnings := 0
	for _, e := range f.events() {
		if strings.HasPrefix(e, "Warning") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d Warnings, want 1", warnings)
	}
	writes, err := f.pass("b1")
	if kit.KindOf(err) != kit.Succeeded || len(writes) != 0 {
		t.Fatalf("failed backup retried: %v %s", err, verbs(writes))
	}
}

// The server never stops in time: Failed, server released.
func TestBackupHoldTimeout(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	_, _ = f.pass("b1")
	_, _ = f.pass("b1")
	_, _ = f.pass("b1")
	f.now = f.now.Add(HoldTimeout + time.Second)
	_, err := f.pass("b1")
	mustKind(t, "timeout", err, kit.Succeeded)
	if b := f.backup("b1"); b.Status.Phase != dittov1alpha1.BackupFailed || ready(b).Reason != ReasonHoldTimeout {
		t.Fatalf("status %+v", b.Status)
	}
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("server left stopped")
	}
}

// Deleting a backup mid-way starts the server again.
func TestBackupDeletedWhileHolding(t *testing.T) {
	f := clusterFixture(t, newBackup("b1"))
	_, _ = f.pass("b1")
	_, _ = f.pass("b1")
	_, _ = f.pass("b1")
	if f.server().Annotations[dittov1alpha1.BackupHoldAnnotation] != "b1" {
		t.Fatal("server not held")
	}
	b := f.backup("b1")
	b.DeletionTimestamp = &metav1.Time{Time: f.now}
	if _, err := f.ditto.DittofsV1alpha1().DittoBackups(ns).Update(context.Background(), b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.pass("b1")
	mustKind(t, "deleted", err, kit.Succeeded)
	if _, held := f.server().Annotations[dittov1alpha1.BackupHoldAnnotation]; held {
		t.Fatal("deleted backup left the server stopped")
	}
	if got := f.backup("b1").Finalizers; len(got) != 0 {
		t.Fatalf("finalizers %v", got)
	}
}

// A second backup of a held server waits.
func TestBackupWaitsForAnotherBackup(t *testing.T) {
	k, d, s := cluster(newBackup("b2"))
	d[0].(*dittov1alpha1.DittoServer).Annotations = map[string]string{dittov1alpha1.BackupHoldAnnotation: "b1"}
	f := newFixture(t, k, d, s)
	_, err := f.pass("b2")
	mustKind(t, "busy", err, kit.Waiting)
	if c := ready(f.backup("b2")); c.Reason != ReasonServerBusy {
		t.Fatalf("condition %+v", c)
	}
}

// The DittoServer controller runs a held server with 0 replicas.
func TestHoldStopsTheServer(t *testing.T) {
	ds := newServer()
	if resources.Replicas(ds) != 1 {
		t.Fatal("unheld server not at 1 replica")
	}
	ds.Annotations = map[string]string{dittov1alpha1.BackupHoldAnnotation: "b1"}
	if resources.Replicas(ds) != 0 {
		t.Fatal("held server not at 0 replicas")
	}
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{"marmos91c/dittofs:v0.29.0": "v0.29.0", "reg:5000/dfs": "latest",
		"reg:5000/dfs:v1@sha256:abc": "v1"} {
		if got := imageVersion(in); got != want {
			t.Errorf("imageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
