package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
)

// clients are fake clientsets holding the cluster, with the kubeconfig of team-a.
type clients struct {
	kube  *kubefake.Clientset
	ditto *dittofake.Clientset
}

func newClients(kube, ditto []runtime.Object) *clients {
	return &clients{kubefake.NewClientset(kube...), dittofake.NewSimpleClientset(ditto...)} //nolint:staticcheck // see plugin
}

func (c *clients) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	connect := func(clientcmd.ClientConfig) (kubernetes.Interface, versioned.Interface, error) {
		return c.kube, c.ditto, nil
	}
	var out, errOut bytes.Buffer
	code = runAt(context.Background(), append([]string{"--kubeconfig", kubeconfig(t, "team-a")}, args...), &out, &errOut, connect, now)
	return code, out.String(), errOut.String()
}

// secretReads counts the reads of Secrets.
func (c *clients) secretReads() int {
	n := 0
	for _, a := range c.kube.Actions() {
		if a.GetResource().Resource == "secrets" {
			n++
		}
	}
	return n
}

// Without --show-password, credentials never reads a Secret and never
// prints the password; with it, the warning goes to stderr and the password
// from the generated Secret, or from the user's Secret, to stdout.
func TestCredentialsPassword(t *testing.T) {
	kube, ditto := cluster()
	kube = append(kube, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "files-generated", Namespace: "team-a"},
		Data: map[string][]byte{"password": []byte("s3cr3t-generated"), "jwt-secret": []byte("jwt")}})
	c := newClients(kube, ditto)
	code, out, errOut := c.run(t, "credentials", "files")
	if code != 0 || c.secretReads() != 0 || strings.Contains(out, "s3cr3t") || errOut != "" {
		t.Fatalf("exit %d, %d Secret reads, stderr %q, stdout:\n%s\nwant 0, no read, no password", code, c.secretReads(), errOut, out)
	}
	code, out, errOut = c.run(t, "credentials", "files", "--show-password")
	if code != 0 || !strings.Contains(out, "Password: s3cr3t-generated\n") || !strings.HasPrefix(errOut, "WARNING: printing the administrator password") {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant the password and the warning", code, errOut, out)
	}
	if strings.Contains(out, "jwt") {
		t.Errorf("credentials prints the JWT secret:\n%s", out)
	}

	// The user's Secret, with a dotted key, and TLS off.
	for _, o := range ditto {
		if ds, ok := o.(*dittov1alpha1.DittoServer); ok && ds.Name == "files" {
			ds.Spec.Identity = &dittov1alpha1.IdentitySpec{Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "mine"}, Key: "admin.pw"}}}
			ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}}
		}
	}
	kube = append(kube, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "team-a"}, Data: map[string][]byte{"admin.pw": []byte("users-own")}})
	c = newClients(kube, ditto)
	_, out, _ = c.run(t, "credentials", "files")
	for _, want := range []string{`kubectl get secret -n team-a mine -o jsonpath='{.data.admin\.pw}' | base64 -d`, "http://files-api.team-a.svc:8080", "TLS is off"} {
		if !strings.Contains(out, want) {
			t.Errorf("credentials lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ca.crt") || strings.Contains(out, "https://") {
		t.Errorf("credentials of a server without TLS names a CA or https:\n%s", out)
	}
	if _, out, _ = c.run(t, "credentials", "files", "--show-password"); !strings.Contains(out, "Password: users-own\n") {
		t.Errorf("--show-password does not print the user's password:\n%s", out)
	}
	c = newClients(nil, ditto)
	if code, _, errOut = c.run(t, "credentials", "files", "--show-password"); code != 1 || !strings.Contains(errOut, "the admin password Secret team-a/mine") {
		t.Errorf("a missing Secret: exit %d, stderr %q", code, errOut)
	}
}

// backup creates one DittoBackup of the server, named and classed as asked.
func TestBackupCreates(t *testing.T) {
	kube, ditto := cluster()
	c := newClients(kube, ditto)
	code, out, errOut := c.run(t, "backup", "files", "--name", "before-upgrade", "--class", "csi-snap")
	if code != 0 || out != "dittobackup.dittofs.dittofs.com/before-upgrade created\nwatch it: kubectl get dittobackup -n team-a before-upgrade -w\n" {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	b, err := c.ditto.DittofsV1alpha1().DittoBackups("team-a").Get(context.Background(), "before-upgrade", metav1.GetOptions{})
	if err != nil || b.Spec.Server.Name != "files" || b.Spec.VolumeSnapshotClassName != "csi-snap" {
		t.Fatalf("backup %+v, %v: want server files, class csi-snap", b, err)
	}
	for _, tc := range []struct {
		args []string
		code int
		in   string
	}{
		{[]string{"backup", "files", "--name", "before-upgrade"}, 1, "DittoBackup team-a/before-upgrade exists already"},
		{[]string{"backup", "nope"}, 1, `DittoServer team-a/nope: dittoservers.dittofs.dittofs.com "nope" not found`},
		{[]string{"backup", "files", "--name", "Bad_Name"}, 1, `--name "Bad_Name": a lowercase RFC 1123 subdomain`},
		{[]string{"backup", "files", "--class", "no/slash"}, 1, `--class "no/slash"`},
		{[]string{"backup", "files", "--wait", "--timeout", "0s"}, 2, "--timeout 0s: must be positive"},
		{[]string{"status", "files", "--wait"}, 2, "--wait: only backup takes it"},
		{[]string{"credentials", "files", "--name", "x"}, 2, "--name: only backup takes it"},
		{[]string{"backup", "files", "--show-password"}, 2, "--show-password: only credentials takes it"},
		{[]string{"mount", "projects", "--to", "x"}, 2, "--to: only restore takes it"},
	} {
		code, out, errOut := c.run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.in) {
			t.Errorf("kubectl ditto %v: exit %d, want %d and %q in\n%s%s", tc.args, code, tc.code, tc.in, out, errOut)
		}
	}
}

// backup --wait prints each phase once, until Completed; a Failed backup
// fails the command; a backup that never ends times out.
func TestBackupWait(t *testing.T) {
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = time.Millisecond
	for _, tc := range []struct {
		name   string
		phases []dittov1alpha1.BackupPhase
		code   int
		want   string
	}{
		{"completed", []dittov1alpha1.BackupPhase{"", "", dittov1alpha1.BackupPending, dittov1alpha1.BackupRunning, dittov1alpha1.BackupRunning, dittov1alpha1.BackupCompleted}, 0,
			"dittobackup.dittofs.dittofs.com/b created\nPending: the operator has not picked the backup up yet\nPending: -\nRunning: -\nCompleted: size 7Gi, clients paused 30s\n"},
		{"failed", []dittov1alpha1.BackupPhase{dittov1alpha1.BackupRunning, dittov1alpha1.BackupFailed}, 1,
			"dittobackup.dittofs.dittofs.com/b created\nRunning: -\nFailed: -\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube, ditto := cluster()
			c := newClients(kube, ditto)
			gets := 0
			c.ditto.PrependReactor("get", "dittobackups", func(k8stesting.Action) (bool, runtime.Object, error) {
				i := min(gets, len(tc.phases)-1)
				gets++
				b := backupOf("b", "files", tc.phases[i], 0)
				b.Status.Size = "7Gi"
				b.Status.Consistency = &dittov1alpha1.BackupConsistency{Pause: &metav1.Duration{Duration: 30 * time.Second}}
				return true, b, nil
			})
			code, out, errOut := c.run(t, "backup", "files", "--name", "b", "--wait")
			if code != tc.code || out != tc.want {
				t.Errorf("exit %d (want %d), stderr %q, stdout:\n%s\nwant:\n%s", code, tc.code, errOut, out, tc.want)
			}
			if tc.code == 1 && !strings.Contains(errOut, "DittoBackup team-a/b failed") {
				t.Errorf("stderr %q: want the failure named", errOut)
			}
		})
	}
	kube, ditto := cluster()
	c := newClients(kube, ditto)
	code, out, errOut := c.run(t, "backup", "files", "--name", "slow", "--wait", "--timeout", "50ms")
	if code != 1 || !strings.Contains(errOut, "DittoBackup team-a/slow is still - after 50ms") || !strings.Contains(out, "Pending: the operator has not picked") {
		t.Errorf("exit %d, stderr %q, stdout %q: want 1 and a timeout", code, errOut, out)
	}
}

// restore creates a DittoServer bootstrapped from the backup, with its
// layout's sizes and class and the backed-up server's spec.s3; from another
// namespace it names the backup's namespace; bad input is refused.
func TestRestore(t *testing.T) {
	kube, ditto := cluster()
	for _, o := range ditto {
		if ds, ok := o.(*dittov1alpha1.DittoServer); ok && ds.Name == "files" {
			ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files-blocks", Region: "eu-west-1"}
		}
	}
	c := newClients(kube, ditto)
	code, out, errOut := c.run(t, "restore", "team-a/files-nightly-1", "--to", "copy", "-n", "team-c")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ds, err := c.ditto.DittofsV1alpha1().DittoServers("team-c").Get(context.Background(), "copy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := ds.Spec.Bootstrap.FromBackup; ref.Name != "files-nightly-1" || ref.Namespace != "team-a" {
		t.Errorf("fromBackup %+v, want team-a/files-nightly-1", ref)
	}
	st := ds.Spec.Storage
	if st.MetadataSize.String() != "2Gi" || st.ContentSize == nil || st.ContentSize.String() != "9Gi" || ptrString(st.StorageClassName) != "standard" {
		t.Errorf("storage %+v, want the layout's 2Gi (above its snapshot's 1Gi), the content snapshot's 9Gi (above the layout's 8Gi), standard", st)
	}
	if ds.Spec.S3 == nil || ds.Spec.S3.Bucket != "files-blocks" || ds.Spec.Image != "marmos91c/dittofs:v0.29.0" {
		t.Errorf("s3 %+v image %q: want the source's bucket and the backup's image", ds.Spec.S3, ds.Spec.Image)
	}
	for _, want := range []string{"spec.restoreNamespaces must admit namespace team-c", "bucket files-blocks", "kubectl get dittoserver -n team-c copy -w"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		in   string
	}{
		{[]string{"restore", "files-nightly-1"}, 1, "--to NAME is required"},
		{[]string{"restore", "files-nightly-1", "--to", "Bad.Name"}, 1, `--to "Bad.Name"`},
		{[]string{"restore", "files-nightly-1", "--to", "files"}, 1, "DittoServer team-a/files exists already"},
		{[]string{"restore", "nope", "--to", "x"}, 1, `DittoBackup team-a/nope: dittobackups.dittofs.dittofs.com "nope" not found`},
		{[]string{"restore", "files-manual", "--to", "x"}, 1, "DittoBackup team-a/files-manual has no status.layout yet (phase Running)"},
	} {
		code, out, errOut := c.run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.in) {
			t.Errorf("kubectl ditto %v: exit %d, want %d and %q in\n%s%s", tc.args, code, tc.code, tc.in, out, errOut)
		}
	}
	failed := backupOf("broken", "files", dittov1alpha1.BackupFailed, time.Hour)
	c = newClients(kube, append(ditto, failed))
	if code, _, errOut := c.run(t, "restore", "broken", "--to", "x"); code != 1 || !strings.Contains(errOut, "failed: it cannot be restored") {
		t.Errorf("a failed backup: exit %d, stderr %q", code, errOut)
	}
}

// A share with spec.volume whose claim is not made yet: mount names the
// claim spec.volume asks for, and prints no hand-made PersistentVolume.
func TestMountVolumePending(t *testing.T) {
	kube, ditto := cluster()
	for _, o := range ditto {
		if s, ok := o.(*dittov1alpha1.DittoShare); ok && s.Name == "media" {
			s.Status.Volume = nil
		}
	}
	c := newClients(kube, ditto)
	code, out, errOut := c.run(t, "mount", "media")
	if code != 0 || !strings.Contains(out, "asks for the claim team-a/media-data; the operator has not made it yet") ||
		!strings.Contains(out, "claimName: media-data") || strings.Contains(out, "kind: PersistentVolume") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// Where the operator may not make PersistentVolumes (VolumeNotPermitted),
// mount prints the hand-made PersistentVolume and the claim spec.volume names,
// with -o yaml too, for an administrator to apply.
func TestMountVolumeNotPermitted(t *testing.T) {
	kube, ditto := cluster()
	for _, o := range ditto {
		if s, ok := o.(*dittov1alpha1.DittoShare); ok && s.Name == "media" {
			s.Status.Volume = nil
			s.Status.Conditions = append(s.Status.Conditions, metav1.Condition{Type: "VolumeReady", Status: metav1.ConditionFalse, Reason: "VolumeNotPermitted"})
		}
	}
	c := newClients(kube, ditto)
	for _, args := range [][]string{{"mount", "media"}, {"mount", "media", "-o", "yaml"}} {
		code, out, errOut := c.run(t, args...)
		if code != 0 || !strings.Contains(out, "kind: PersistentVolume\n") || !strings.Contains(out, "  name: media-data\n") ||
			!strings.Contains(out, "volumeName: dittofs-team-a-media") || strings.Contains(out, "kind: Deployment") {
			t.Errorf("%v: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
		}
	}
}

// A user who may not list backups still gets the rest of status.
func TestStatusBackupsForbidden(t *testing.T) {
	kube, ditto := cluster()
	c := newClients(kube, ditto)
	c.ditto.PrependReactor("list", "dittoscheduledbackups", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "dittofs.dittofs.com", Resource: "dittoscheduledbackups"}, "", errors.New("no"))
	})
	code, out, errOut := c.run(t, "status", "files")
	if code != 0 || !strings.Contains(out, "Backups:  not shown (you may not list DittoBackups or DittoScheduledBackups here)") ||
		strings.Contains(out, "files-nightly-1") || !strings.Contains(out, "Recent warnings:") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}
