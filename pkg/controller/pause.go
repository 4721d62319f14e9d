package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// spec.paused holds a server's children as they are, for a cluster operator
// working on them by hand. A paused pass reads the StatefulSet and the pods
// and writes only the status; sync ends before the inputs step, so no child
// is created, updated or deleted. The status
// keeps the last applied observedGeneration (the spec the children follow),
// adds Paused=True, sets Progressing=False/Paused and still reports the
// replicas, Available, Ready and PodsHealthy. Resuming runs the usual pass,
// which applies the spec as it then stands.

const pausedMessage = "spec.paused is true: the operator applies no change to the server's objects until it is false"

// pausedHealth is what a paused pass, which resolves no input, takes as
// ConfigReady and DatabaseReady: their last state.
func pausedHealth(st *dittov1alpha1.DittoServerStatus) (configReady, dbReady bool) {
	return !meta.IsStatusConditionFalse(st.Conditions, ConditionConfigReady),
		!meta.IsStatusConditionFalse(st.Conditions, ConditionDatabaseReady)
}

// setPaused adds the Paused condition while paused and removes it otherwise.
func setPaused(st *dittov1alpha1.DittoServerStatus, paused bool, generation int64, now metav1.Time) {
	if !paused {
		meta.RemoveStatusCondition(&st.Conditions, ConditionPaused)
		return
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionPaused, Status: metav1.ConditionTrue,
		Reason: ReasonPaused, Message: pausedMessage, ObservedGeneration: generation, LastTransitionTime: now})
}

// emitPauseEvents marks the pause taking effect and ending, once each.
func (c *Controller) emitPauseEvents(ds *dittov1alpha1.DittoServer, next dittov1alpha1.DittoServerStatus) {
	was, is := meta.IsStatusConditionTrue(ds.Status.Conditions, ConditionPaused), meta.IsStatusConditionTrue(next.Conditions, ConditionPaused)
	switch {
	case is && !was:
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonPaused, "Paused: "+pausedMessage)
	case was && !is:
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonResumed, "Resumed: the operator applies the spec again")
	}
}
