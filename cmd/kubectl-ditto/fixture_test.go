package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the plugin's output")

// now is the time the tests run at; every age is measured from it.
var now = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// cluster is a team's namespace with a server, two of its shares (one in a
// tenant namespace), its users, its volumes and a few events, plus objects
// of another server that must not show.
func cluster() (kube []runtime.Object, ditto []runtime.Object) {
	ds := &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "files", Namespace: "team-a", Generation: 3},
		Spec:       dittov1alpha1.DittoServerSpec{Storage: dittov1alpha1.StorageSpec{MetadataSize: resource.MustParse("1Gi")}},
		Status: dittov1alpha1.DittoServerStatus{
			ObservedGeneration: 3, Replicas: 1, ReadyReplicas: 1, Phase: dittov1alpha1.PhaseRunning,
			NFSEndpoint: "files-file.team-a.svc:2049", Shares: 2, SharesReady: 1,
			Conditions: []metav1.Condition{
				{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Available", LastTransitionTime: ago(2 * time.Hour), Message: "the server is available"},
				{Type: "SharesReady", Status: metav1.ConditionFalse, Reason: "ShareNotReady", LastTransitionTime: ago(5 * time.Minute), Message: "1 of 2 DittoShares\nnot ready: team-b/scratch"},
			},
		},
	}
	other := &dittov1alpha1.DittoServer{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "team-a"}}
	alice := user("team-a", "alice", "files", "", 1000, metav1.ConditionTrue, "Created")
	bob := user("team-a", "bob", "other", "", 1001, metav1.ConditionTrue, "Created")
	projects := share("team-a", "projects", dittov1alpha1.ServerReference{Name: "files"}, metav1.ConditionTrue, "Created")
	projects.Spec.Quota = ptr.To(resource.MustParse("10Gi"))
	projects.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "alice", Level: dittov1alpha1.PermissionReadWrite}, {Group: "devs", Level: dittov1alpha1.PermissionRead}}
	projects.Spec.DefaultPermission = dittov1alpha1.PermissionNone
	scratch := share("team-b", "scratch", dittov1alpha1.ServerReference{Name: "files", Namespace: "team-a"}, metav1.ConditionFalse, "NotAllowed")
	scratch.Spec.ExportName = "/tmp-b"
	unrelated := share("team-a", "elsewhere", dittov1alpha1.ServerReference{Name: "other"}, metav1.ConditionTrue, "Created")
	sameNameOtherNS := share("team-b", "projects", dittov1alpha1.ServerReference{Name: "files"}, metav1.ConditionTrue, "Created")
	projects.Status.Usage = &dittov1alpha1.ShareUsage{UsedBytes: 3 << 30, QuotaBytes: 10 << 30}
	media := share("team-a", "media", dittov1alpha1.ServerReference{Name: "files"}, metav1.ConditionTrue, "Created")
	media.Spec.Volume = &dittov1alpha1.ShareVolume{ClaimName: "media-data"}
	media.Spec.Permissions = []dittov1alpha1.SharePermission{{User: "alice", Level: dittov1alpha1.PermissionReadWrite}}
	media.Status.Usage = &dittov1alpha1.ShareUsage{UsedBytes: 512 << 20}
	media.Status.Volume = &dittov1alpha1.ShareVolumeStatus{PersistentVolumeName: "dittofs-team-a-media", ClaimName: "media-data", Phase: "Bound"}
	ditto = []runtime.Object{ds, other, alice, bob, projects, media, scratch, unrelated, sameNameOtherNS}
	ditto = append(ditto, backups()...)

	fileSvc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "files-file", Namespace: "team-a"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{
			{Name: "nfs", Port: 2049}, {Name: "smb", Port: 445},
		}},
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "files", Namespace: "team-a"},
		Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "wait-for-nothing", Image: "busybox"}, {Name: "dittofs", Image: "marmos91c/dittofs:v0.29.0"},
		}}}},
	}
	op := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "dittofs-operator", Namespace: "dittofs-system",
			Labels: map[string]string{"app.kubernetes.io/name": "dittofs-operator", "app.kubernetes.io/version": "v0.1.0"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "operator", Image: "ghcr.io/dittofs/dittofs-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		}}}},
		Status: appsv1.DeploymentStatus{Replicas: 2, ReadyReplicas: 2},
	}
	kube = []runtime.Object{fileSvc, sts, op,
		claim("team-a", "metadata-files-0", "files", "1Gi", "2Gi"),
		claim("team-a", "content-files-0", "files", "5Gi", "5Gi"),
		claim("team-a", "metadata-other-0", "other", "1Gi", "1Gi"),
		event("team-a", "e1", "DittoServer", "files", corev1.EventTypeWarning, "VolumeExpansionNotAllowed", "StorageClass standard does not allow volume expansion", 30*time.Minute),
		event("team-a", "e2", "DittoServer", "files", corev1.EventTypeNormal, "Created", "created the StatefulSet", time.Hour),
		event("team-b", "e3", "DittoShare", "scratch", corev1.EventTypeWarning, "NotAllowed", "DittoServer team-a/files does not allow namespace team-b", time.Minute),
		event("team-a", "e4", "DittoServer", "other", corev1.EventTypeWarning, "ReconcileFailed", "not about files", time.Minute),
		event("team-b", "e5", "DittoShare", "projects", corev1.EventTypeWarning, "NotAllowed", "about team-b/projects, whose server is team-b/files", 2*time.Minute),
	}
	return kube, ditto
}

// backups are two backups and a schedule of files, and a backup and a
// schedule of the other server.
func backups() []runtime.Object {
	done := backupOf("files-nightly-1", "files", dittov1alpha1.BackupCompleted, 26*time.Hour)
	done.Status.Size = "6Gi"
	done.Status.Image = "marmos91c/dittofs:v0.29.0"
	done.Status.Consistency = &dittov1alpha1.BackupConsistency{Method: dittov1alpha1.BackupMethodOffline, Consistent: true, Pause: &metav1.Duration{Duration: 42 * time.Second}}
	done.Status.Layout = &dittov1alpha1.BackupLayout{StorageClassName: ptr.To("standard"), Claims: []dittov1alpha1.BackupClaim{
		{Name: "metadata", Size: resource.MustParse("2Gi")}, {Name: "content", Size: resource.MustParse("8Gi")},
	}}
	done.Status.Snapshots = []dittov1alpha1.BackupSnapshot{
		{Claim: "metadata", VolumeSnapshotName: "files-nightly-1-metadata", Size: ptr.To(resource.MustParse("1Gi")), ReadyToUse: true},
		{Claim: "content", VolumeSnapshotName: "files-nightly-1-content", Size: ptr.To(resource.MustParse("9Gi")), ReadyToUse: true},
	}
	running := backupOf("files-manual", "files", dittov1alpha1.BackupRunning, 2*time.Minute)
	running.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "BackupRunning", Message: "cutting the snapshots"}}
	nightly := &dittov1alpha1.DittoScheduledBackup{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "team-a"},
		Spec:       dittov1alpha1.DittoScheduledBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: "files"}, Schedule: "0 2 * * *"},
		Status:     dittov1alpha1.DittoScheduledBackupStatus{LastSuccessfulTime: ptr.To(ago(10 * time.Hour)), NextScheduleTime: ptr.To(metav1.NewTime(now.Add(14 * time.Hour)))},
	}
	otherSchedule := &dittov1alpha1.DittoScheduledBackup{
		ObjectMeta: metav1.ObjectMeta{Name: "other-hourly", Namespace: "team-a"},
		Spec:       dittov1alpha1.DittoScheduledBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: "other"}, Schedule: "@hourly"},
	}
	return []runtime.Object{done, running, nightly, otherSchedule, backupOf("other-1", "other", dittov1alpha1.BackupCompleted, time.Hour)}
}

func backupOf(name, server string, phase dittov1alpha1.BackupPhase, age time.Duration) *dittov1alpha1.DittoBackup {
	return &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", CreationTimestamp: ago(age)},
		Spec:       dittov1alpha1.DittoBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: server}},
		Status:     dittov1alpha1.DittoBackupStatus{Phase: phase},
	}
}

func share(ns, name string, ref dittov1alpha1.ServerReference, ready metav1.ConditionStatus, reason string) *dittov1alpha1.DittoShare {
	return &dittov1alpha1.DittoShare{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       dittov1alpha1.DittoShareSpec{ServerRef: ref},
		Status:     dittov1alpha1.DittoShareStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: ready, Reason: reason}}},
	}
}

func user(ns, name, server, username string, uid int64, ready metav1.ConditionStatus, reason string) *dittov1alpha1.DittoUser {
	return &dittov1alpha1.DittoUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       dittov1alpha1.DittoUserSpec{ServerRef: dittov1alpha1.ServerReference{Name: server}, Username: username, UID: &uid},
		Status:     dittov1alpha1.DittoUserStatus{Conditions: []metav1.Condition{{Type: "Ready", Status: ready, Reason: reason}}},
	}
}

func claim(ns, name, server, capacity, requested string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/name": "dittofs", "app.kubernetes.io/instance": server}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To("standard"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(requested)}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}},
	}
}

func event(ns, name, kind, obj, typ, reason, msg string, age time.Duration) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: obj},
		Type:           typ, Reason: reason, Message: msg, LastTimestamp: ago(age),
	}
}

// kubeconfig writes a kubeconfig whose current context's namespace is ns.
func kubeconfig(t *testing.T, ns string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts:
  - {name: team-a, context: {cluster: c, user: u, namespace: ` + ns + `}}
  - {name: other, context: {cluster: c, user: u, namespace: elsewhere}}
current-context: team-a
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// plugin runs the plugin on fake clientsets holding the objects, with a
// kubeconfig whose context is in team-a; it returns the exit code and output.
func plugin(t *testing.T, kube, ditto []runtime.Object, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	// NewSimpleClientset: creates of DittoBackups and DittoServers need no apply schema.
	kc, dc := kubefake.NewClientset(kube...), dittofake.NewSimpleClientset(ditto...) //nolint:staticcheck // NewClientset cannot create the CRD types without their schema
	connect := func(clientcmd.ClientConfig) (kubernetes.Interface, versioned.Interface, error) { return kc, dc, nil }
	var out, errOut bytes.Buffer
	code = runAt(context.Background(), append([]string{"--kubeconfig", kubeconfig(t, "team-a")}, args...), &out, &errOut, connect, now)
	return code, out.String(), errOut.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
