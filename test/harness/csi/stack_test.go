//go:build localcluster

// The CSI stack on a real control plane: a claim of the test StorageClass is
// provisioned by the real csi-provisioner, a VolumeSnapshot of it is cut by
// the real snapshot-controller and csi-snapshotter, a claim restored from it
// holds the snapshot's files and not the later ones, a snapshot of the
// failing class reports its error, and deleting a VolumeSnapshot deletes the
// copy. Run with
//
//	go test -tags localcluster ./test/harness/csi/
package csi

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

var volumeSnapshotGVR = schema.GroupVersionResource{
	Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots",
}

func TestStackSnapshotsAndRestores(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{NumPVs: -1, FastPods: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	s, err := Start(ctx, Options{
		Kubeconfig: c.Kubeconfig, RESTConfig: c.RESTConfig(), NodeName: localcluster.NodeName,
		FailSnapshots: regexp.MustCompile(`^default/doomed-`),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	kube := kubernetes.NewForConfigOrDie(c.RESTConfig())
	dyn := dynamic.NewForConfigOrDie(c.RESTConfig())
	const ns = "default"

	createClaim(ctx, t, kube, ns, "data", nil)
	dir, err := s.ClaimDir(ctx, ns, "data")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "before"), "cut")

	createSnapshot(ctx, t, dyn, ns, "snap", "data", SnapshotClass)
	snap := waitSnapshot(ctx, t, dyn, ns, "snap", func(u *unstructured.Unstructured) bool {
		ready, _, _ := unstructured.NestedBool(u.Object, "status", "readyToUse")
		return ready
	})
	if size, _, _ := unstructured.NestedString(snap.Object, "status", "restoreSize"); size != "64Mi" {
		t.Errorf("restoreSize = %q, want the source's capacity 64Mi", size)
	}
	writeFile(t, filepath.Join(dir, "after"), "late")

	createClaim(ctx, t, kube, ns, "restored", &corev1.TypedLocalObjectReference{
		APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap",
	})
	restored, err := s.ClaimDir(ctx, ns, "restored")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(restored, "before")); got != "cut" {
		t.Errorf("restored before = %q, want %q", got, "cut")
	}
	if _, err := os.Stat(filepath.Join(restored, "after")); !os.IsNotExist(err) {
		t.Errorf("restored claim holds a file written after the snapshot (stat: %v)", err)
	}

	// One fails by its name (Options.FailSnapshots), one by its class.
	for _, failing := range []struct{ name, class string }{
		{"doomed-by-name", SnapshotClass},
		{"of-failing-class", FailingSnapshotClass},
	} {
		createSnapshot(ctx, t, dyn, ns, failing.name, "data", failing.class)
		waitSnapshot(ctx, t, dyn, ns, failing.name, func(u *unstructured.Unstructured) bool {
			msg, _, _ := unstructured.NestedString(u.Object, "status", "error", "message")
			return regexp.MustCompile(`injected failure`).MatchString(msg)
		})
	}

	// Deleting the VolumeSnapshot (class deletionPolicy Delete) deletes the copy.
	snapDir := filepath.Join(s.Dir, "storage", "snapshots")
	if err := dyn.Resource(volumeSnapshotGVR).Namespace(ns).Delete(ctx, "snap", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		entries, _ := os.ReadDir(snapDir)
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left in %s after the VolumeSnapshot was deleted", len(entries), snapDir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func createClaim(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string, src *corev1.TypedLocalObjectReference) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(StorageClass),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("64Mi"),
			}},
			DataSource: src,
		},
	}
	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createSnapshot(ctx context.Context, t *testing.T, dyn dynamic.Interface, ns, name, claim, class string) {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1",
		"kind":       "VolumeSnapshot",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"volumeSnapshotClassName": class,
			"source":                  map[string]any{"persistentVolumeClaimName": claim},
		},
	}}
	if _, err := dyn.Resource(volumeSnapshotGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitSnapshot(ctx context.Context, t *testing.T, dyn dynamic.Interface, ns, name string, done func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last *unstructured.Unstructured
	for time.Now().Before(deadline) {
		u, err := dyn.Resource(volumeSnapshotGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = u
			if done(u) {
				return u
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("VolumeSnapshot %s/%s did not reach the expected state; last status: %v", ns, name, last)
	return nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
