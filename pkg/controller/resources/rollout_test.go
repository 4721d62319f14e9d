package resources

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The inputs hash moves with what the user controls outside the spec — a
// Secret the pod reads, the database Secret — and with a bumped
// TemplateRevision.
func TestTemplateInputsHash(t *testing.T) {
	in := Inputs{SecretVersions: map[string]string{"nas-jwt": "10"}}
	base := TemplateInputsHash(in)
	if TemplateInputsHash(Inputs{SecretVersions: map[string]string{"nas-jwt": "10"}}) != base {
		t.Fatal("the hash is not a function of the inputs")
	}
	for name, h := range map[string]string{
		"Secret rotated":  TemplateInputsHash(Inputs{SecretVersions: map[string]string{"nas-jwt": "11"}}),
		"database Secret": TemplateInputsHash(Inputs{SecretVersions: in.SecretVersions, PostgresSecretName: "pg"}),
		"revision bumped": templateInputsHash(in, TemplateRevision+1),
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
