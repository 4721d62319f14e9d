package e2e

import (
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/backup"
	"github.com/dittofs/dittofs-operator/test/harness/csi"
)

// A DittoBackup in a cluster without the snapshot CRDs says so (Ready=False,
// SnapshotCRDsNotInstalled, one Warning) and waits; once the CRDs are
// installed, the operator starts its snapshot machinery without a restart and
// the backup completes: the server is stopped, every claim is snapshotted by
// the real snapshot-controller and csi-snapshotter, and the server runs
// again. A backup whose snapshot fails ends Failed with one Warning.
//
// The first test of the binary to use the CSI stack: it must find the
// snapshot CRDs absent.
func TestABackupWaitsForTheSnapshotCRDsThenSnapshotsEveryClaim(t *testing.T) {
	stack := csiDriver(t)
	if _, err := env.kube.Discovery().ServerResourcesForGroupVersion("snapshot.storage.k8s.io/v1"); err == nil {
		t.Fatal("the snapshot CRDs are installed already: this test must run before any test installs them")
	}
	n := newNamespace(t, nil)
	server := sampleObject(t, "minimal", "DittoServer")
	mergeSpec(t, server, `{storage: {storageClassName: `+csi.StorageClass+`}}`)
	name := server.GetName()
	n.create(server)
	n.waitReady(name)

	b := createBackup(t, n, "nightly", name)
	waitBackup(t, n, "nightly", "Ready=False SnapshotCRDsNotInstalled", func(b *dittov1alpha1.DittoBackup) bool {
		c := meta.FindStatusCondition(b.Status.Conditions, dittov1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == backup.ReasonSnapshotCRDsNotInstalled
	})
	n.waitEvents(b.UID, backup.ReasonSnapshotCRDsNotInstalled, 1)

	snapshotCRDs(t)
	done := waitBackup(t, n, "nightly", "Completed", func(b *dittov1alpha1.DittoBackup) bool {
		return b.Status.Phase == dittov1alpha1.BackupCompleted
	})
	if got := countEvents(n.events(b.UID), backup.ReasonSnapshotCRDsNotInstalled); got != 1 {
		t.Errorf("%d SnapshotCRDsNotInstalled events, want exactly 1", got)
	}
	sts, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(done.Status.Snapshots) != len(sts.Spec.VolumeClaimTemplates) {
		t.Errorf("%d snapshots for %d claims: %+v", len(done.Status.Snapshots), len(sts.Spec.VolumeClaimTemplates), done.Status.Snapshots)
	}
	for _, s := range done.Status.Snapshots {
		if !s.ReadyToUse {
			t.Errorf("snapshot of %s not ready in a Completed backup", s.Claim)
		}
		requireSnapshotCopy(t, stack, n.name, s.VolumeSnapshotName)
	}
	if c := done.Status.Consistency; c == nil || c.Method != dittov1alpha1.BackupMethodOffline || !c.Consistent || c.Pause == nil {
		t.Errorf("consistency = %+v, want Offline, consistent, with the pause measured", c)
	} else {
		t.Logf("write pause of the Offline backup (pod down to pod Ready, kwok pods): %s", c.Pause.Duration)
	}
	n.waitReady(name)

	failed := createBackup(t, n, "doomed-1", name)
	waitBackup(t, n, "doomed-1", "Failed", func(b *dittov1alpha1.DittoBackup) bool {
		return b.Status.Phase == dittov1alpha1.BackupFailed
	})
	n.waitEvents(failed.UID, backup.ReasonSnapshotFailed, 1)
	n.waitReady(name)
	if got := countEvents(n.events(failed.UID), backup.ReasonSnapshotFailed); got != 1 {
		t.Errorf("%d SnapshotFailed events, want exactly 1", got)
	}
}

func createBackup(t *testing.T, n *testNS, name, server string) *dittov1alpha1.DittoBackup {
	t.Helper()
	b := &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: n.name},
		Spec:       dittov1alpha1.DittoBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: server}},
	}
	out, err := env.ditto.DittofsV1alpha1().DittoBackups(n.name).Create(t.Context(), b, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitBackup(t *testing.T, n *testNS, name, what string, ok func(*dittov1alpha1.DittoBackup) bool) *dittov1alpha1.DittoBackup {
	t.Helper()
	var last *dittov1alpha1.DittoBackup
	eventually(t, waitLong, "DittoBackup "+name+": "+what, func() (bool, string) {
		b, err := env.ditto.DittofsV1alpha1().DittoBackups(n.name).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		last = b
		return ok(b), string(b.Status.Phase) + " " + conditionSummary(b.Status.Conditions)
	})
	return last
}

func conditionSummary(cs []metav1.Condition) string {
	s := ""
	for _, c := range cs {
		s += c.Type + "=" + string(c.Status) + "(" + c.Reason + ": " + c.Message + ") "
	}
	return s
}

// requireSnapshotCopy checks that the VolumeSnapshot is bound to a content
// whose snapshot handle is a copy the test driver holds.
func requireSnapshotCopy(t *testing.T, stack *csi.Stack, ns, name string) {
	t.Helper()
	vs, err := env.dyn.Resource(volumeSnapshotGVR).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("VolumeSnapshot %s: %v", name, err)
	}
	content, _, _ := unstructuredString(vs.Object, "status", "boundVolumeSnapshotContentName")
	vsc, err := env.dyn.Resource(volumeSnapshotContentGVR).Get(t.Context(), content, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("VolumeSnapshotContent of %s: %v", name, err)
	}
	handle, _, _ := unstructuredString(vsc.Object, "status", "snapshotHandle")
	if _, err := os.Stat(filepath.Join(stack.Dir, "storage", "snapshots", handle)); err != nil || handle == "" {
		t.Errorf("VolumeSnapshot %s: snapshot handle %q is not a copy the driver holds: %v", name, handle, err)
	}
}

// The restore drill on the real snapshot machinery: a DittoServer created
// with spec.bootstrap.fromBackup gets claims provisioned from the backup's
// VolumeSnapshots (what its volumes held at the backup, not what was written
// after) and the backed-up server's credentials, and records where it came
// from.
func TestARestoredServerHasTheBackupsVolumesAndCredentials(t *testing.T) {
	stack := snapshotCRDs(t)
	n := newNamespace(t, nil)
	server := sampleObject(t, "minimal", "DittoServer")
	mergeSpec(t, server, `{storage: {storageClassName: `+csi.StorageClass+`}}`)
	name := server.GetName()
	n.create(server)
	n.waitReady(name)

	dir, err := stack.ClaimDir(t.Context(), n.name, "metadata-"+name+"-0")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "before-backup"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	createBackup(t, n, "drill", name)
	waitBackup(t, n, "drill", "Completed", func(b *dittov1alpha1.DittoBackup) bool {
		return b.Status.Phase == dittov1alpha1.BackupCompleted
	})
	if err := os.WriteFile(filepath.Join(dir, "after-backup"), []byte("not in the backup"), 0o600); err != nil {
		t.Fatal(err)
	}

	restored := sampleObject(t, "minimal", "DittoServer")
	restored.SetName("restored")
	mergeSpec(t, restored, `{storage: {storageClassName: `+csi.StorageClass+`}, bootstrap: {fromBackup: {name: drill}}}`)
	n.create(restored)
	n.waitReady("restored")

	claim, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).Get(t.Context(), "metadata-restored-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds := claim.Spec.DataSource; ds == nil || ds.Kind != "VolumeSnapshot" || ds.Name != "drill-metadata" || len(claim.OwnerReferences) != 0 {
		t.Errorf("restored claim: dataSource %+v, owners %v; want the backup's VolumeSnapshot drill-metadata and no owner", ds, claim.OwnerReferences)
	}
	rdir, err := stack.ClaimDir(t.Context(), n.name, "metadata-restored-0")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(rdir, "before-backup")); err != nil || string(got) != "kept" {
		t.Errorf("restored volume: before-backup = %q, %v; want what the volume held at the backup", got, err)
	}
	if _, err := os.Stat(filepath.Join(rdir, "after-backup")); err == nil {
		t.Error("restored volume holds a file written after the backup")
	}

	// <name>-operator exists once the server state controller made the
	// operator's account, which this suite's operator does not run.
	for _, s := range []string{"generated", "operator"} {
		orig, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), name+"-"+s, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && s == "operator" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), "restored-"+s, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range orig.Data {
			if string(got.Data[k]) != string(v) {
				t.Errorf("Secret restored-%s key %s differs from the backed-up server's", s, k)
			}
		}
	}
	ds, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(t.Context(), "restored", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := ds.Status.RestoredFrom; r == nil || r.Backup != "drill" {
		t.Errorf("status.restoredFrom = %+v, want DittoBackup drill", r)
	}
}
