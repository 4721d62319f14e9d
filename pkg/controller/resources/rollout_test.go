package resources

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The inputs hash moves with what the user controls — a spec write (the
// generation), a Secret the pod reads, a bumped TemplateRevision — and not
// with a default the CRD adds to a stored spec.
func TestTemplateInputsHash(t *testing.T) {
	ds := &dittov1alpha1.DittoServer{}
	ds.Name, ds.Namespace, ds.Generation = "nas", "storage", 3
	in := Inputs{SecretVersions: map[string]string{"nas-jwt": "10"}}
	base := TemplateInputsHash(ds, in)

	defaulted := ds.DeepCopy()
	defaulted.Spec.Image = DefaultImage
	if TemplateInputsHash(defaulted, in) != base {
		t.Error("a default filled into the stored spec changed the hash")
	}
	edited := ds.DeepCopy()
	edited.Generation++
	rotated := Inputs{SecretVersions: map[string]string{"nas-jwt": "11"}}
	for name, h := range map[string]string{
		"spec write":       TemplateInputsHash(edited, in),
		"Secret rotated":   TemplateInputsHash(ds, rotated),
		"revision bumped":  templateInputsHash(ds, in, TemplateRevision+1),
		"layout of before": TemplateInputsHash(ds, Inputs{SecretVersions: in.SecretVersions, Layout: LayoutLegacy}),
	} {
		if h == base {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}

// New StatefulSets let a stuck pod be replaced when the spec is reverted.
func TestStatefulSetIsParallel(t *testing.T) {
	ds := &dittov1alpha1.DittoServer{}
	ds.Name, ds.Namespace = "nas", "storage"
	sts, err := StatefulSet(ds, Inputs{}, "h")
	if err != nil {
		t.Fatal(err)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("pod management policy %s", sts.Spec.PodManagementPolicy)
	}
	if sts.Annotations[TemplateRenderAnnotation] != TemplateRenderHash(&sts.Spec.Template) || sts.Annotations[TemplateInputsAnnotation] == "" {
		t.Errorf("annotations %v", sts.Annotations)
	}
}
