package serverstate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// While the server's StatefulSet is re-created with orphan deletion (after
// a volume resize) the server keeps running, but nothing says where its
// local block store lives: a legacy server keeps it on its cache volume.
// The store is left as the server has it; once the StatefulSet is back, its
// claim templates decide again.
func TestLocalStoreKeptWhileTheStatefulSetIsRecreated(t *testing.T) {
	ds := availableServer()
	legacy := statefulSet(ds)
	legacy.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{
		{ObjectMeta: metav1.ObjectMeta{Name: resources.VolumeMetadata}},
		{ObjectMeta: metav1.ObjectMeta{Name: resources.VolumeCache}},
		{ObjectMeta: metav1.ObjectMeta{Name: resources.VolumeControlPlane}},
	}
	legacyPath := resources.LocalBlockStorePath(legacy)
	if legacyPath == resources.LocalBlockStorePath(nil) {
		t.Fatalf("a legacy server's block store path %s should differ from the current layout's", legacyPath)
	}
	f := newFixture(t, ds, adminSecret(ds), legacy)
	f.converge()
	local := func() any { return f.srv.blocks[dfsapi.BlockLocal][resources.LocalBlockStoreName].Config["path"] }
	if got := local(); got != legacyPath {
		t.Fatalf("local block store at %v, want %s", got, legacyPath)
	}

	if err := f.kube.Delete(gvrStatefulSets, testNamespace, legacy.Name); err != nil {
		t.Fatal(err)
	}
	if err := f.sync(); err != nil {
		t.Fatalf("sync without the StatefulSet: %v", err)
	}
	if w := f.srv.writes(); slices.Contains(w, "PUT local-store "+resources.LocalBlockStoreName) {
		t.Errorf("the local block store was rewritten while the StatefulSet was missing: %v", w)
	}
	if got := local(); got != legacyPath {
		t.Errorf("local block store moved to %v while the StatefulSet was missing (%v)", got, f.srv.writes())
	}

	if err := f.kube.Create(gvrStatefulSets, legacy.DeepCopy(), testNamespace); err != nil {
		t.Fatal(err)
	}
	if err := f.sync(); err != nil {
		t.Fatalf("sync with the StatefulSet back: %v", err)
	}
	if got := local(); got != legacyPath {
		t.Errorf("local block store at %v after the StatefulSet came back, want %s", got, legacyPath)
	}
}
