package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestDropManagedFields(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "nas", ResourceVersion: "7",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate}}}}
	out, err := dropManagedFields(sts)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*appsv1.StatefulSet); got.ManagedFields != nil || got.Name != "nas" || got.ResourceVersion != "7" {
		t.Errorf("dropManagedFields = %+v, want the object without managed fields", got.ObjectMeta)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "storage/nas", Obj: sts}
	if out, err := dropManagedFields(tomb); err != nil || out != any(tomb) {
		t.Errorf("tombstone: got %v, %v; want it unchanged", out, err)
	}
}
