package caches

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/tools/cache"

	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
)

func TestDropManagedFields(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "nas", ResourceVersion: "7",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "dittofs-operator", Operation: metav1.ManagedFieldsOperationUpdate}}}}
	out, err := DropManagedFields(sts)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*appsv1.StatefulSet); got.ManagedFields != nil || got.Name != "nas" || got.ResourceVersion != "7" {
		t.Errorf("DropManagedFields = %+v, want the object without managed fields", got.ObjectMeta)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "storage/nas", Obj: sts}
	if out, err := DropManagedFields(tomb); err != nil || out != any(tomb) {
		t.Errorf("tombstone: got %v, %v; want it unchanged", out, err)
	}
}

// The child caches are read by name (pods also by controller): they carry
// no namespace index, which would cost an entry per cached object; the
// DittoServer cache keeps its indexes.
func TestChildInformersCarryNoNamespaceIndex(t *testing.T) {
	inf, _, err := New(kubefake.NewSimpleClientset(), dittofake.NewSimpleClientset(),
		metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), "storage", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for name, informer := range map[string]cache.SharedIndexInformer{
		"StatefulSets": inf.StatefulSets.Informer(), "Services": inf.Services.Informer(), "ConfigMaps": inf.ConfigMaps.Informer(),
		"Pods": inf.Pods.Informer(), "PersistentVolumeClaims": inf.PersistentVolumeClaims.Informer(),
	} {
		if _, ok := informer.GetIndexer().GetIndexers()[cache.NamespaceIndex]; ok {
			t.Errorf("%s informer has a namespace index", name)
		}
	}
	if _, ok := inf.DittoServers.Informer().GetIndexer().GetIndexers()[cache.NamespaceIndex]; !ok {
		t.Error("DittoServer informer lost its namespace index")
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "nas", Namespace: "storage"}}
	if err := inf.StatefulSets.Informer().GetIndexer().Add(sts); err != nil {
		t.Fatal(err)
	}
	if got, err := inf.StatefulSets.Lister().StatefulSets("storage").Get("nas"); err != nil || got != sts {
		t.Errorf("Get by name without the index = %v, %v", got, err)
	}
}
