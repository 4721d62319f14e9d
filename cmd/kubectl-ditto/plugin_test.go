package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
)

// Each subcommand's whole output, for the team-a cluster, against its
// golden file.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"status.txt", []string{"status", "files"}},
		{"status-other-namespace.txt", []string{"status", "-n", "team-b", "files"}},
		{"shares.txt", []string{"shares"}},
		{"shares-all.txt", []string{"shares", "-A"}},
		{"mount.txt", []string{"mount", "projects"}},
		{"mount-tenant.txt", []string{"-n", "team-b", "mount", "scratch"}},
		{"mount-yaml.txt", []string{"mount", "projects", "-o", "yaml"}},
		{"version.txt", []string{"version", "-A"}},
		{"mount-volume.txt", []string{"mount", "media"}},
		{"mount-volume-yaml.txt", []string{"mount", "media", "-o", "yaml"}},
		{"credentials.txt", []string{"credentials", "files"}},
		{"backup.txt", []string{"backup", "files"}},
		{"restore.txt", []string{"restore", "files-nightly-1", "--to", "files-restored"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			kube, ditto := cluster()
			code, out, errOut := plugin(t, kube, ditto, tc.args...)
			if tc.golden == "status-other-namespace.txt" {
				// no DittoServer files in team-b: an error naming it
				if code != 1 || !strings.Contains(errOut, "DittoServer team-b/files") {
					t.Fatalf("exit %d, stderr %q: want 1 and the missing server named", code, errOut)
				}
				out = errOut
			} else if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, out)
		})
	}
}

// status shows the server's own objects only: not another server's claims,
// shares, users, backups, schedules or events, nor Normal events; and the tenant's share and its
// warning, from another namespace, are there.
func TestStatusScope(t *testing.T) {
	kube, ditto := cluster()
	code, out, errOut := plugin(t, kube, ditto, "status", "files")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, absent := range []string{"metadata-other-0", "elsewhere", "bob", "not about files", "created the StatefulSet", "whose server is team-b/files", "other-1", "other-hourly", "@hourly"} {
		if strings.Contains(out, absent) {
			t.Errorf("status files shows %q, which belongs to another server or is no warning:\n%s", absent, out)
		}
	}
	for _, present := range []string{"team-b/scratch", "/tmp-b", "does not allow namespace team-b", "metadata-files-0", "alice", "1 of 2 DittoShares not ready", "files-nightly-1", "42s", "3Gi/10Gi", "media-data (Bound)", "0 2 * * *"} {
		if !strings.Contains(out, present) {
			t.Errorf("status files lacks %q:\n%s", present, out)
		}
	}
}

// The PersistentVolume mount prints is valid and names the Service's cluster
// IP, the export and the options dfs needs, and its claim binds to it.
func TestMountPersistentVolume(t *testing.T) {
	kube, ditto := cluster()
	code, out, errOut := plugin(t, kube, ditto, "mount", "projects")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, stream, ok := strings.Cut(out, "---\n")
	if !ok {
		t.Fatalf("no YAML in:\n%s", out)
	}
	docs := strings.Split(stream, "---\n")
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want a PersistentVolume and a claim", len(docs))
	}
	var pv corev1.PersistentVolume
	var pvc corev1.PersistentVolumeClaim
	for i, obj := range []runtime.Object{&pv, &pvc} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), obj); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, docs[i])
		}
	}
	if pv.Spec.NFS == nil || pv.Spec.NFS.Server != "10.96.0.20" || pv.Spec.NFS.Path != "/projects" {
		t.Errorf("PersistentVolume source %+v, want 10.96.0.20:/projects", pv.Spec.NFS)
	}
	if got := strings.Join(pv.Spec.MountOptions, ","); got != "vers=3,tcp,port=2049,mountport=2049,mountproto=tcp,nolock" {
		t.Errorf("mount options %s", got)
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != pvc.Name || pv.Spec.ClaimRef.Namespace != "team-a" || pvc.Spec.VolumeName != pv.Name {
		t.Errorf("the volume and the claim do not name each other: %+v, %q", pv.Spec.ClaimRef, pvc.Spec.VolumeName)
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "" || pv.Spec.Capacity.Storage().String() != "10Gi" {
		t.Errorf("claim class %v, capacity %s: want \"\" (no provisioner) and the quota", pvc.Spec.StorageClassName, pv.Spec.Capacity.Storage())
	}
	if pv.Spec.AccessModes[0] != corev1.ReadWriteMany || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("access %v reclaim %s", pv.Spec.AccessModes, pv.Spec.PersistentVolumeReclaimPolicy)
	}
}

// A read-only share mounts read-only everywhere; a LoadBalancer server is
// reached from outside at the address its status publishes.
func TestMountReadOnlyLoadBalancer(t *testing.T) {
	kube, ditto := cluster()
	for _, o := range ditto {
		switch o := o.(type) {
		case *dittov1alpha1.DittoShare:
			o.Spec.ReadOnly = o.Namespace == "team-a" && o.Name == "projects"
		case *dittov1alpha1.DittoServer:
			o.Status.NFSEndpoint = "203.0.113.7:2049"
		}
	}
	kube[0].(*corev1.Service).Spec.Type = corev1.ServiceTypeLoadBalancer
	code, out, errOut := plugin(t, kube, ditto, "mount", "projects")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"nolock,ro 203.0.113.7:/projects /mnt/projects",
		"nolock,ro 10.96.0.20:/projects /mnt/projects",
		"readOnly: true", "- ReadOnlyMany",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mount lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "port-forward") {
		t.Errorf("a LoadBalancer server needs no port-forward:\n%s", out)
	}
}

// The command line: kubectl's flags before or after the arguments, the
// context's namespace, usage errors exit 2 and name the usage.
func TestCommandLine(t *testing.T) {
	kube, ditto := cluster()
	for _, tc := range []struct {
		args []string
		code int
		in   string // a string stdout or stderr must hold
	}{
		{[]string{"shares", "--namespace", "team-b"}, 0, "scratch"},
		{[]string{"--context", "other", "shares"}, 0, "No DittoShares found."},
		{[]string{"status"}, 2, "usage: kubectl ditto status SERVER"},
		{[]string{"status", "a", "b"}, 2, "usage: kubectl ditto status SERVER"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{}, 2, "Commands:"},
		{[]string{"--no-such-flag", "shares"}, 2, "unknown flag: --no-such-flag"},
		{[]string{"mount", "nope"}, 1, `DittoShare team-a/nope: dittoshares.dittofs.dittofs.com "nope" not found`},
		{[]string{"--help"}, 0, "mount SHARE"},
		{[]string{"shares", "-o", "yaml"}, 2, "only mount takes -o"},
		{[]string{"mount", "projects", "-o", "json"}, 2, "only -o yaml"},
	} {
		code, out, errOut := plugin(t, kube, ditto, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.in) {
			t.Errorf("kubectl ditto %v: exit %d, want %d and %q in\n%s%s", tc.args, code, tc.code, tc.in, out, errOut)
		}
	}
}

// The version of an image: its label, else its tag, never a digest or a
// registry port.
func TestImageVersion(t *testing.T) {
	for _, tc := range []struct{ label, image, want string }{
		{"v0.1.0", "ghcr.io/x/op@sha256:abc", "v0.1.0"},
		{"", "marmos91c/dittofs:v0.29.0", "v0.29.0"},
		{"", "registry:5000/dittofs", "unknown"},
		{"", "registry:5000/dittofs:v1@sha256:abc", "v1"},
		{"", "ghcr.io/x/op@sha256:abc", "unknown"},
	} {
		if got := imageVersion(tc.label, tc.image); got != tc.want {
			t.Errorf("imageVersion(%q, %q) = %q, want %q", tc.label, tc.image, got, tc.want)
		}
	}
}

// version prints the plugin's own version even when the cluster cannot be
// read, then fails.
func TestVersionWithoutACluster(t *testing.T) {
	kc, dc := kubefake.NewClientset(), dittofake.NewClientset()
	kc.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	connect := func(clientcmd.ClientConfig) (kubernetes.Interface, versioned.Interface, error) { return kc, dc, nil }
	var out, errOut bytes.Buffer
	code := runAt(context.Background(), []string{"--kubeconfig", kubeconfig(t, "team-a"), "version"}, &out, &errOut, connect, now)
	if code != 1 || out.String() != "kubectl-ditto v0.0.0-dev\n" || !strings.Contains(errOut.String(), "connection refused") {
		t.Errorf("exit %d, stdout %q, stderr %q: want 1, the plugin's version, the error", code, out.String(), errOut.String())
	}
}
