package fakeapi

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// cluster is a kube clientset served by a Tracker that logs its writes.
func cluster() (*kubefake.Clientset, Tracker, *[]string) {
	client := kubefake.NewClientset()
	writes := &[]string{}
	tracker := NewTracker(client.Tracker())
	tracker.Now = func() time.Time { return t0 }
	tracker.AfterWrite = func(verb string, gvr schema.GroupVersionResource, _ runtime.Object, ns, name string) {
		*writes = append(*writes, verb+" "+gvr.Resource+" "+ns+"/"+name)
	}
	ServeFrom(&client.Fake, tracker)
	return client, tracker, writes
}

func TestCreateStampsWhatTheAPIServerWould(t *testing.T) {
	client, _, _ := cluster()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "nas"}}
	created, err := client.CoreV1().ConfigMaps("storage").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.ResourceVersion == "" || created.UID == "" || !created.CreationTimestamp.Time.Equal(t0) {
		t.Errorf("created = rv %q uid %q at %v, want both set and the tracker's clock", created.ResourceVersion, created.UID, created.CreationTimestamp)
	}
	if cm.ResourceVersion != "" {
		t.Error("Create stamped the caller's object")
	}
	other, err := client.CoreV1().ConfigMaps("storage").Create(ctx,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "other", UID: types.UID("given")}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if other.UID != "given" || other.ResourceVersion == created.ResourceVersion {
		t.Errorf("second create: uid %q rv %q, want the given UID and a new resourceVersion", other.UID, other.ResourceVersion)
	}
}

func TestAStaleWriteIsAConflict(t *testing.T) {
	client, _, writes := cluster()
	ctx := context.Background()
	cms := client.CoreV1().ConfigMaps("storage")
	v1, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "nas"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1.Data = map[string]string{"k": "1"}
	v2, err := cms.Update(ctx, v1, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v2.ResourceVersion == v1.ResourceVersion {
		t.Errorf("update kept resourceVersion %s", v1.ResourceVersion)
	}
	v1.Data["k"] = "stale"
	if _, err := cms.Update(ctx, v1, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with the stale resourceVersion %s: %v, want a Conflict", v1.ResourceVersion, err)
	}
	// Without a resourceVersion an update is unconditional, as on the server.
	v1.ResourceVersion = ""
	if _, err := cms.Update(ctx, v1, metav1.UpdateOptions{}); err != nil {
		t.Errorf("unconditional update: %v", err)
	}
	patched, err := cms.Patch(ctx, "nas", types.MergePatchType, []byte(`{"data":{"k":"2"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if patched.ResourceVersion == v2.ResourceVersion || patched.Data["k"] != "2" {
		t.Errorf("patched = rv %s data %v, want a new resourceVersion and the patch applied", patched.ResourceVersion, patched.Data)
	}
	if err := cms.Delete(ctx, "nas", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"create configmaps storage/nas", "update configmaps storage/nas", "update configmaps storage/nas",
		"patch configmaps storage/nas", "delete configmaps storage/nas"}
	if len(*writes) != len(want) {
		t.Fatalf("AfterWrite saw %v, want %v (the refused update not among them)", *writes, want)
	}
	for i := range want {
		if (*writes)[i] != want[i] {
			t.Errorf("write %d = %q, want %q", i, (*writes)[i], want[i])
		}
	}
}

func TestAddLoadsAnObjectWithAResourceVersion(t *testing.T) {
	client, tracker, writes := cluster()
	if err := tracker.Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "creds"}}); err != nil {
		t.Fatal(err)
	}
	s, err := client.CoreV1().Secrets("storage").Get(context.Background(), "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ResourceVersion == "" {
		t.Error("a loaded object has no resourceVersion; the first update of it could not conflict")
	}
	if len(*writes) != 0 || len(client.Actions()) != 1 {
		t.Errorf("loading is no request: writes %v, actions %v", *writes, client.Actions())
	}
}
