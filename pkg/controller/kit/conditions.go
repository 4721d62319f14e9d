package kit

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// ConditionsApply returns, as apply configurations, the conditions that own
// accepts, in their order. A status applied with them owns exactly those
// condition types: the API server merges conditions by type
// (listType=map), so another manager's conditions stay as they are.
func ConditionsApply(conds []metav1.Condition, own func(conditionType string) bool) []*metav1ac.ConditionApplyConfiguration {
	var out []*metav1ac.ConditionApplyConfiguration
	for _, c := range conds {
		if !own(c.Type) {
			continue
		}
		out = append(out, metav1ac.Condition().WithType(c.Type).WithStatus(c.Status).
			WithObservedGeneration(c.ObservedGeneration).WithLastTransitionTime(c.LastTransitionTime).
			WithReason(c.Reason).WithMessage(c.Message))
	}
	return out
}
