package volumes

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func server() *dittov1alpha1.DittoServer {
	return &dittov1alpha1.DittoServer{ObjectMeta: metav1.ObjectMeta{Name: "nas", Namespace: "storage"}}
}

func templates(sizes ...string) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{}
	for i, name := range []string{"metadata", "content"} {
		sts.Spec.VolumeClaimTemplates = append(sts.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(sizes[i])}}},
		})
	}
	return sts
}

func claim(name, request, capacity, class string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "storage", ResourceVersion: "5"},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(request)}}}}
	if class != "" {
		pvc.Spec.StorageClassName = ptr.To(class)
	}
	if capacity != "" {
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
	}
	return pvc
}

func reader(t *testing.T, objs ...interface{}) Reader {
	t.Helper()
	claims := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, nil)
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.PersistentVolumeClaim:
			err = claims.Add(o)
		case *storagev1.StorageClass:
			err = classes.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return Reader{Claims: corelisters.NewPersistentVolumeClaimLister(claims), Classes: storagelisters.NewStorageClassLister(classes)}
}

func always(string, string) error { return nil }

// A grown spec grows the claims and the templates; a smaller one is set back
// to the existing size in the desired templates: volumes never shrink.
func TestPlan(t *testing.T) {
	r := reader(t, claim("metadata-nas-0", "1Gi", "1Gi", "fast"), claim("content-nas-0", "5Gi", "5Gi", "fast"))
	desired := templates("2Gi", "4Gi")
	p, err := r.Plan(server(), desired, templates("1Gi", "5Gi"), always)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Growing) != 1 || p.Growing[0].Name != "metadata-nas-0" || !p.TemplatesGrow {
		t.Fatalf("plan = %+v, want the metadata claim and the templates growing", p)
	}
	if got := RequestOf(&desired.Spec.VolumeClaimTemplates[1]); got.String() != "5Gi" {
		t.Errorf("content template %s, want the existing 5Gi kept", got.String())
	}
	if got := DescribeGrowth(p.Growing); got != "volume claims metadata-nas-0 1Gi (spec asks 2Gi)" {
		t.Errorf("DescribeGrowth = %q", got)
	}

	behind := errors.New("behind")
	if _, err := r.Plan(server(), templates("2Gi", "5Gi"), nil, func(claim, version string) error {
		if claim == "content-nas-0" && version == "5" {
			return behind
		}
		return nil
	}); !errors.Is(err, behind) {
		t.Errorf("Plan with a cache behind = %v, want the callback's error", err)
	}
}

// The class a claim was made with decides; without one, spec.storage's, then
// the cluster's newest default; each refusal says why.
func TestExpansionClass(t *testing.T) {
	expandable := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, AllowVolumeExpansion: ptr.To(true)}
	fixed := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fixed",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}}
	for _, tc := range []struct {
		name, class, refusal string
		objs                 []interface{}
	}{
		{"the claim's class", "fast", "", []interface{}{expandable, claim("metadata-nas-0", "1Gi", "", "fast")}},
		{"the default class, not expandable", "fixed", `StorageClass "fixed" does not allow volume expansion`, []interface{}{expandable, fixed, claim("metadata-nas-0", "1Gi", "", "")}},
		{"no class at all", "", "No StorageClass is known", []interface{}{expandable}},
		{"a class that does not exist", "gone", `StorageClass "gone" of the volumes does not exist`, []interface{}{claim("metadata-nas-0", "1Gi", "", "gone")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reader(t, tc.objs...)
			p, err := r.Plan(server(), templates("1Gi", "5Gi"), nil, always)
			if err != nil {
				t.Fatal(err)
			}
			class, refusal, err := r.ExpansionClass(server(), p.Claims)
			if err != nil || class != tc.class || !strings.HasPrefix(refusal, tc.refusal) || (tc.refusal == "") != (refusal == "") {
				t.Errorf("ExpansionClass = %q, %q, %v; want %q, %q", class, refusal, err, tc.class, tc.refusal)
			}
		})
	}
}

// A claim whose capacity is below its size is pending, with its conditions;
// one not provisioned yet, or at its size, is not.
func TestPending(t *testing.T) {
	growing := claim("metadata-nas-0", "2Gi", "1Gi", "fast")
	growing.Status.Conditions = []corev1.PersistentVolumeClaimCondition{{Type: "FileSystemResizePending", Status: corev1.ConditionTrue, Message: "waiting for the node"}}
	claims := []Claim{
		{Name: growing.Name, Want: resource.MustParse("2Gi"), PVC: growing},
		{Name: "content-nas-0", Want: resource.MustParse("5Gi"), PVC: claim("content-nas-0", "5Gi", "5Gi", "fast")},
		{Name: "new-nas-0", Want: resource.MustParse("5Gi"), PVC: claim("new-nas-0", "5Gi", "", "fast")},
	}
	got := Pending(claims)
	if len(got) != 1 || got[0] != "metadata-nas-0 1Gi of 2Gi (FileSystemResizePending: waiting for the node)" {
		t.Errorf("Pending = %q", got)
	}
}
