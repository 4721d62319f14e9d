package controller

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/test/harness/promtest"
)

func withConditions(conds ...metav1.Condition) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) { ds.Status.Conditions = conds }
}

func statusCondition(t string, s metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: "Test"}
}

// The condition gauge has one series per DittoServer and condition, with the
// condition's current status as a label; it follows the cached status and
// drops a deleted DittoServer's series, all without an API request.
func TestConditionGaugeFollowsTheStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if n := testutil.CollectAndCount(reg, "dittofs_operator_dittoserver_condition"); n != 0 {
		t.Fatalf("%d condition series before the controller is built, want 0", n)
	}
	m.watchConditions(dittolisters.NewDittoServerLister(indexer))

	ds := newDittoServer(withConditions(statusCondition(ConditionReady, metav1.ConditionFalse), statusCondition(ConditionConfigReady, metav1.ConditionTrue)))
	other := named("other")
	if err := indexer.Add(ds); err != nil {
		t.Fatal(err)
	}
	if err := indexer.Add(other); err != nil { // no status yet: no series
		t.Fatal(err)
	}
	want := `
# HELP dittofs_operator_dittoserver_condition ` + conditionHelp + `
# TYPE dittofs_operator_dittoserver_condition gauge
dittofs_operator_dittoserver_condition{name="nas",namespace="storage",status="False",type="Ready"} 1
dittofs_operator_dittoserver_condition{name="nas",namespace="storage",status="True",type="ConfigReady"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dittofs_operator_dittoserver_condition"); err != nil {
		t.Error(err)
	}

	// Ready flips: the False series goes, the True one comes.
	ready := ds.DeepCopy()
	ready.Status.Conditions[0].Status = metav1.ConditionTrue
	if err := indexer.Update(ready); err != nil {
		t.Fatal(err)
	}
	if got := promtest.Value(t, reg, "dittofs_operator_dittoserver_condition", map[string]string{"type": "Ready", "status": "True"}); got != 1 {
		t.Errorf("Ready=True series = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(reg, "dittofs_operator_dittoserver_condition"); n != 2 {
		t.Errorf("%d condition series after a flip, want 2 (one per condition)", n)
	}

	if err := indexer.Delete(ready); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "dittofs_operator_dittoserver_condition"); n != 0 {
		t.Errorf("%d condition series after the DittoServer went, want 0", n)
	}
}
