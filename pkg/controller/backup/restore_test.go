package backup

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// spec.restoreNamespaces admits as spec.tenants does.
func TestRestoreAdmits(t *testing.T) {
	b := &dittov1alpha1.DittoBackup{ObjectMeta: metav1.ObjectMeta{Name: "b1", Namespace: "prod"}}
	if ok, _ := RestoreAdmits(b, "prod", nil); !ok {
		t.Error("own namespace refused")
	}
	if ok, why := RestoreAdmits(b, "dr", nil); ok || !strings.Contains(why, `allow namespace "dr"`) {
		t.Errorf("default Same admitted another namespace: %v %q", ok, why)
	}
	b.Spec.RestoreNamespaces = &dittov1alpha1.RestoreNamespacesSpec{From: dittov1alpha1.TenantsSelector,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"dr": "true"}}}
	if ok, _ := RestoreAdmits(b, "dr", labels.Set{"dr": "true"}); !ok {
		t.Error("matching namespace refused")
	}
	if ok, why := RestoreAdmits(b, "dev", labels.Set{"dr": "false"}); ok || !strings.Contains(why, "does not match") {
		t.Errorf("non-matching namespace: %v %q", ok, why)
	}
	if ok, _ := RestoreAdmits(b, "dev", nil); ok {
		t.Error("unknown labels admitted")
	}
	b.Spec.RestoreNamespaces = &dittov1alpha1.RestoreNamespacesSpec{From: dittov1alpha1.TenantsAll}
	if ok, _ := RestoreAdmits(b, "dev", nil); !ok {
		t.Error("All refused")
	}
}

// The new server's generated Secret is filled from the old server's
// generated Secret, or from its user's single-key Secret; the operator account is
// copied; the user's own Secrets are not re-created.
func TestRestoredSecrets(t *testing.T) {
	ds := &dittov1alpha1.DittoServer{ObjectMeta: metav1.ObjectMeta{Name: "fs2", Namespace: "dr"}}
	creds := &corev1.Secret{Data: map[string][]byte{
		"generated." + resources.JWTSecretKey: []byte("J"),
		"user-admin.my-key":                   []byte("P"),
		"operator.password":                   []byte("O"),
		"s3.access-key-id":                    []byte("S"),
		"generated-not-a-role.x":              []byte("X"),
	}}
	got := map[string]map[string]string{}
	for _, s := range RestoredSecrets(ds, creds) {
		if s.Namespace != "dr" || len(s.OwnerReferences) != 0 || !resources.KeptFor(s, ds) {
			t.Errorf("Secret %s: namespace %s owners %v labels %v", s.Name, s.Namespace, s.OwnerReferences, s.Labels)
		}
		got[s.Name] = map[string]string{}
		for k, v := range s.Data {
			got[s.Name][k] = string(v)
		}
	}
	want := map[string]map[string]string{
		"fs2-generated": {resources.JWTSecretKey: "J", resources.AdminPasswordKey: "P"},
		"fs2-operator":  {"password": "O"},
	}
	if len(got) != len(want) || got["fs2-generated"][resources.JWTSecretKey] != "J" ||
		got["fs2-generated"][resources.AdminPasswordKey] != "P" || len(got["fs2-generated"]) != 2 ||
		got["fs2-operator"]["password"] != "O" || len(got["fs2-operator"]) != 1 {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A claim template is filled only by the snapshot of the same claim, no
// larger than the template.
func TestRestoreLayoutProblem(t *testing.T) {
	b := &dittov1alpha1.DittoBackup{ObjectMeta: metav1.ObjectMeta{Name: "b1", Namespace: "prod"}}
	b.Status.Snapshots = []dittov1alpha1.BackupSnapshot{{Claim: "metadata"}, {Claim: "content", Size: ptr.To(resource.MustParse("5Gi"))}}
	b.Status.Layout = &dittov1alpha1.BackupLayout{Claims: []dittov1alpha1.BackupClaim{{Name: "metadata", Size: resource.MustParse("2Gi")}}}
	tmpl := func(name, size string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
	}
	for _, tc := range []struct {
		templates []corev1.PersistentVolumeClaim
		want      string
	}{
		{[]corev1.PersistentVolumeClaim{tmpl("metadata", "2Gi"), tmpl("content", "5Gi")}, ""},
		{[]corev1.PersistentVolumeClaim{tmpl("metadata", "1Gi"), tmpl("content", "5Gi")}, "claim metadata of 1Gi is smaller than the 2Gi"},
		{[]corev1.PersistentVolumeClaim{tmpl("metadata", "2Gi"), tmpl("content", "4Gi")}, "claim content of 4Gi is smaller than the 5Gi"},
		{[]corev1.PersistentVolumeClaim{tmpl("metadata", "2Gi"), tmpl("cache", "5Gi")}, "holds no snapshot of claim cache"},
		{[]corev1.PersistentVolumeClaim{tmpl("metadata", "2Gi")}, "the storage layouts differ"},
	} {
		got := RestoreLayoutProblem(b, tc.templates)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.templates, got, tc.want)
		}
	}
}
