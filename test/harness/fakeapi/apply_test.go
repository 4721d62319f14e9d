package fakeapi

import (
	"context"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	dittoac "github.com/dittofs/dittofs-operator/pkg/generated/applyconfiguration/dittofs/v1alpha1"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	dittoscheme "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/scheme"
)

const dittoServerCRD = "../../../artifacts/crds/dittofs.dittofs.com_dittoservers.yaml"

func condition(t, reason string) *metav1ac.ConditionApplyConfiguration {
	return metav1ac.Condition().WithType(t).WithStatus(metav1.ConditionTrue).WithReason(reason).
		WithMessage(reason).WithLastTransitionTime(metav1.NewTime(t0))
}

// Two managers apply disjoint parts of one status: conditions merge by type,
// each manager's apply drops only what it no longer applies, and every write
// gets a new resourceVersion.
func TestApplyMergesConditionsByTypePerManager(t *testing.T) {
	tracker, err := NewFieldManagedTracker(dittoscheme.Scheme, dittoscheme.Codecs.UniversalDecoder(), dittoServerCRD)
	if err != nil {
		t.Fatal(err)
	}
	client := dittofake.NewClientset()
	ServeFrom(&client.Fake, tracker)
	ctx := context.Background()
	ds := &dittov1alpha1.DittoServer{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "nas"}}
	if err := tracker.Add(ds); err != nil {
		t.Fatal(err)
	}
	apply := func(manager string, st *dittoac.DittoServerStatusApplyConfiguration) *dittov1alpha1.DittoServer {
		t.Helper()
		out, err := client.DittofsV1alpha1().DittoServers("storage").ApplyStatus(ctx,
			dittoac.DittoServer("nas", "storage").WithStatus(st), metav1.ApplyOptions{FieldManager: manager, Force: true})
		if err != nil {
			t.Fatalf("apply as %s: %v", manager, err)
		}
		return out
	}
	first := apply("a", dittoac.DittoServerStatus().WithPhase(dittov1alpha1.PhasePending).
		WithConditions(condition("Ready", "One"), condition("Paused", "One")))
	second := apply("b", dittoac.DittoServerStatus().WithShares(2).WithConditions(condition("SharesReady", "Two")))
	if second.ResourceVersion == first.ResourceVersion {
		t.Fatalf("apply kept resourceVersion %s", first.ResourceVersion)
	}
	third := apply("a", dittoac.DittoServerStatus().WithPhase(dittov1alpha1.PhaseRunning).WithConditions(condition("Ready", "Three")))

	var types []string
	for _, c := range third.Status.Conditions {
		types = append(types, c.Type+"="+c.Reason)
	}
	sort.Strings(types)
	if got, want := strings.Join(types, " "), "Ready=Three SharesReady=Two"; got != want || third.Status.Phase != dittov1alpha1.PhaseRunning || third.Status.Shares != 2 {
		t.Fatalf("status after three applies: phase %s, shares %d, conditions %v; want Running, 2, [Ready=Three SharesReady=Two]",
			third.Status.Phase, third.Status.Shares, types)
	}
	managers := map[string]bool{}
	for _, e := range third.ManagedFields {
		managers[e.Manager+"/"+string(e.Operation)] = true
	}
	if !managers["a/Apply"] || !managers["b/Apply"] || len(managers) != 2 {
		t.Fatalf("managedFields entries %v, want a/Apply and b/Apply only", managers)
	}
}
