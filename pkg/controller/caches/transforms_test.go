package caches

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// A cached ConfigMap keeps its metadata and holds a digest of each value:
// equal values give equal digests, a changed value another one, and a value
// digested twice (a cached object compared again) stays the same.
func TestDigestConfigMap(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "nas-config", Namespace: "storage", ResourceVersion: "7", UID: "u1",
		Labels:          map[string]string{"app.kubernetes.io/managed-by": "dittofs-operator"},
		Annotations:     map[string]string{"dittofs.dittofs.com/spec-hash": "abc"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "DittoServer", Name: "nas", Controller: ptr.To(true)}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "dittofs-operator"}}}
	cm := &corev1.ConfigMap{ObjectMeta: *meta.DeepCopy(),
		Data:       map[string]string{"config.yaml": "logging:\n  level: INFO\n"},
		BinaryData: map[string][]byte{"blob": []byte{1, 2, 3}}}
	out, err := DigestConfigMap(cm.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.ConfigMap)
	meta.ManagedFields = nil
	if !equality.Semantic.DeepEqual(meta, got.ObjectMeta) {
		t.Errorf("metadata = %+v, want %+v", got.ObjectMeta, meta)
	}
	if got.BinaryData != nil {
		t.Errorf("binary data kept: %v", got.BinaryData)
	}
	d := got.Data["config.yaml"]
	if !strings.HasPrefix(d, DigestPrefix) || len(d) != len(DigestPrefix)+64 || strings.Contains(d, "logging") {
		t.Errorf("config.yaml cached as %q, want its digest", d)
	}
	if !equality.Semantic.DeepEqual(DataDigests(cm.Data), got.Data) {
		t.Errorf("the live ConfigMap's digests %v differ from the cached ones %v", DataDigests(cm.Data), got.Data)
	}
	if again := DataDigests(got.Data); !equality.Semantic.DeepEqual(again, got.Data) {
		t.Errorf("digesting a cached ConfigMap again changed it: %v", again)
	}
	edited := map[string]string{"config.yaml": "logging:\n  level: DEBUG\n"}
	if equality.Semantic.DeepEqual(DataDigests(edited), got.Data) {
		t.Error("an edited value has the same digest")
	}
	if DataDigests(nil) != nil {
		t.Error("no data digested into some")
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "storage/nas-config", Obj: cm}
	if out, err := DigestConfigMap(tomb); err != nil || out != any(tomb) {
		t.Errorf("tombstone: got %v, %v; want it unchanged", out, err)
	}
}

// A cached volume claim keeps what resize.go, claimsUnbound and handleClaim
// read, and nothing else.
func TestTrimClaim(t *testing.T) {
	deleting := metav1.Now()
	pvc := &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: "metadata-nas-0", Namespace: "storage", UID: "u1", ResourceVersion: "9",
			Labels:            map[string]string{"app.kubernetes.io/instance": "nas", "app.kubernetes.io/component": "storage"},
			OwnerReferences:   []metav1.OwnerReference{{Kind: "StatefulSet", Name: "nas"}},
			DeletionTimestamp: &deleting,
			Annotations:       map[string]string{"pv.kubernetes.io/bind-completed": "yes"},
			Finalizers:        []string{"kubernetes.io/pvc-protection"},
			ManagedFields:     []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}},
			CreationTimestamp: deleting},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			StorageClassName: ptr.To("fast"),
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			VolumeName:       "pv-1",
		},
		Status: corev1.PersistentVolumeClaimStatus{
			Phase:       corev1.ClaimBound,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("8Gi")},
			Conditions: []corev1.PersistentVolumeClaimCondition{{Type: corev1.PersistentVolumeClaimFileSystemResizePending,
				Status: corev1.ConditionTrue, Reason: "Waiting", Message: "waiting for the node", LastTransitionTime: deleting}},
		},
	}
	out, err := TrimClaim(pvc.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.PersistentVolumeClaim{
		TypeMeta: pvc.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: "metadata-nas-0", Namespace: "storage", UID: "u1", ResourceVersion: "9",
			Labels: pvc.Labels, OwnerReferences: pvc.OwnerReferences, DeletionTimestamp: &deleting},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: pvc.Spec.Resources, StorageClassName: ptr.To("fast")},
		Status: corev1.PersistentVolumeClaimStatus{
			Phase:    corev1.ClaimBound,
			Capacity: pvc.Status.Capacity,
			Conditions: []corev1.PersistentVolumeClaimCondition{{Type: corev1.PersistentVolumeClaimFileSystemResizePending,
				Status: corev1.ConditionTrue, Reason: "Waiting", Message: "waiting for the node"}},
		},
	}
	if !equality.Semantic.DeepEqual(want, out) {
		t.Errorf("TrimClaim = %+v\nwant %+v", out, want)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "storage/metadata-nas-0", Obj: pvc}
	if out, err := TrimClaim(tomb); err != nil || out != any(tomb) {
		t.Errorf("tombstone: got %v, %v; want it unchanged", out, err)
	}
}

// A resync delivers the same object again: Unchanged; a new resourceVersion
// is a change, a tombstone is compared by the object it holds.
func TestUnchanged(t *testing.T) {
	at := func(rv string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ResourceVersion: rv}}
	}
	if !Unchanged(at("1"), at("1")) {
		t.Error("a resync is reported as a change")
	}
	if Unchanged(at("1"), at("2")) {
		t.Error("a new resourceVersion is reported as unchanged")
	}
	if !Unchanged(cache.DeletedFinalStateUnknown{Key: "p", Obj: at("3")}, at("3")) {
		t.Error("a tombstone is not unwrapped")
	}
	if Unchanged("not an object", at("1")) {
		t.Error("a value without metadata is reported as unchanged")
	}
}
