package e2e

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
)

// Two controllers write a DittoServer's status, each its own part by
// server-side apply under its own field manager: the API server records who
// owns which field, and neither's apply removes the other's conditions. No
// DittoFS server runs behind the sample: the server state controller finds
// it unreachable and says so in StoresReady and SharesReady, after the
// DittoServer controller's Available; a spec edit then makes the DittoServer
// controller apply again.
func TestStatusFieldsHaveOneOwnerEach(t *testing.T) {
	runOperatorWithServerState(t, "--server-access=service")
	n := newNamespace(t, nil)
	name := n.applySample("minimal")
	both := func(ds *dittov1alpha1.DittoServer) (bool, string) {
		ok := ds.Status.ObservedGeneration == ds.Generation &&
			meta.FindStatusCondition(ds.Status.Conditions, dittov1alpha1.ConditionAvailable) != nil &&
			meta.FindStatusCondition(ds.Status.Conditions, dittov1alpha1.ConditionStoresReady) != nil &&
			meta.FindStatusCondition(ds.Status.Conditions, dittov1alpha1.ConditionSharesReady) != nil
		return ok, statusSummary(ds)
	}
	ds := n.waitDS(name, "both controllers' conditions", both)
	checkStatusOwners(t, ds)

	patch := []byte(`{"spec":{"shutdownTimeout":"31s"}}`)
	if _, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	ds = n.waitDS(name, "the edit observed, both controllers' conditions kept", both)
	checkStatusOwners(t, ds)
}

// checkStatusOwners: the status is applied by the two controllers' managers
// only (no update of the status by the operator), their fields are
// disjoint, and each owns what it should.
func checkStatusOwners(t *testing.T, ds *dittov1alpha1.DittoServer) {
	t.Helper()
	sets := map[string]*fieldpath.Set{}
	for _, e := range ds.ManagedFields {
		if e.Subresource != "status" || e.FieldsV1 == nil {
			continue
		}
		if e.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("status written by %s with %s, want server-side apply only", e.Manager, e.Operation)
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			t.Fatalf("managed fields of %s: %v", e.Manager, err)
		}
		sets[e.Manager] = s
	}
	mine, theirs := sets[controller.FieldManager], sets[serverstate.StatusFieldManager]
	if mine == nil || theirs == nil {
		t.Fatalf("status managers %v, want %s and %s", keys(sets), controller.FieldManager, serverstate.StatusFieldManager)
	}
	if both := mine.Intersection(theirs); !both.Empty() {
		t.Errorf("fields owned by both managers: %s", both)
	}
	owns := func(s *fieldpath.Set, who string, paths ...fieldpath.Path) {
		for _, p := range paths {
			if !s.Has(p) {
				t.Errorf("%s does not own %s; it owns %s", who, p, s)
			}
		}
	}
	condition := func(typ string) fieldpath.Path {
		return fieldpath.MakePathOrDie("status", "conditions", fieldpath.KeyByFields("type", typ))
	}
	owns(mine, controller.FieldManager, fieldpath.MakePathOrDie("status", "phase"),
		fieldpath.MakePathOrDie("status", "observedGeneration"), condition(dittov1alpha1.ConditionReady),
		condition(dittov1alpha1.ConditionAvailable))
	owns(theirs, serverstate.StatusFieldManager, fieldpath.MakePathOrDie("status", "shares"),
		condition(dittov1alpha1.ConditionStoresReady), condition(dittov1alpha1.ConditionSharesReady))
}

func keys(m map[string]*fieldpath.Set) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprintf("%q", k))
	}
	return out
}
