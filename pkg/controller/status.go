package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// computeStatus derives the status from the last status and what this pass
// observed. It is pure: transition times are kept when a condition's status
// does not flip (meta.SetStatusCondition).
func computeStatus(ds *dittov1alpha1.DittoServer, obs observation, now metav1.Time) dittov1alpha1.DittoServerStatus {
	st := *ds.Status.DeepCopy()
	if !obs.paused {
		st.ObservedGeneration = ds.Generation
	}
	st.Selector = labels.SelectorFromSet(resources.SelectorLabels(ds)).String()
	st.NFSEndpoint, st.SMBEndpoint = fileEndpoints(ds, obs.fileService)
	st.PerconaClusterName = obs.perconaName
	if obs.configHash != "" {
		st.ConfigHash = obs.configHash
	}
	if obs.restoredFrom != nil {
		st.RestoredFrom = obs.restoredFrom.DeepCopy()
	}
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	if obs.sts != nil {
		st.Replicas = obs.sts.Status.Replicas
		st.ReadyReplicas = obs.sts.Status.ReadyReplicas
		st.AvailableReplicas = obs.sts.Status.AvailableReplicas
	}

	desired := resources.Replicas(ds)
	set := func(t string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg,
			ObservedGeneration: ds.Generation, LastTransitionTime: now})
	}

	setPaused(&st, obs.paused, ds.Generation, now)
	setPodsHealthy(&st, obs, ds.Generation, now)
	configReady, dbReady := pausedHealth(&st)
	switch {
	case obs.paused:
	case obs.problem == nil:
		configReady = true
		set(ConditionConfigReady, true, ReasonInputsResolved, "Configuration, Secrets and StorageClasses resolved")
	default:
		configReady = false
		set(ConditionConfigReady, false, obs.problem.reason, obs.problem.message)
	}

	if r := obs.resize; r != nil {
		set(ConditionStorageResized, r.done, r.reason, r.message)
	}

	switch {
	case obs.paused:
	case obs.db != nil:
		dbReady = obs.db.ready
		set(ConditionDatabaseReady, obs.db.ready, obs.db.reason, obs.db.message)
	default:
		dbReady = true
		if !resources.UsesPostgres(ds) {
			meta.RemoveStatusCondition(&st.Conditions, ConditionDatabaseReady)
		}
	}

	progressing, progressMsg := rolloutInProgress(obs, desired)
	blocked := !configReady || !dbReady
	switch {
	case obs.paused:
		progressing = false
		set(ConditionProgressing, false, ReasonPaused, pausedMessage)
	case !configReady:
		set(ConditionProgressing, false, ReasonInvalidSpec, "Blocked until ConfigReady is True")
	case blocked:
		set(ConditionProgressing, false, ReasonWaitingForDatabase, "Blocked until DatabaseReady is True")
	case progressing:
		set(ConditionProgressing, true, ReasonRolloutInProgress, progressMsg)
	default:
		set(ConditionProgressing, false, ReasonRolloutComplete, "The StatefulSet runs the current configuration")
	}

	available := desired == 0 || (obs.sts != nil && obs.sts.Status.AvailableReplicas >= desired)
	switch {
	case desired == 0:
		set(ConditionAvailable, true, ReasonScaledToZero, "replicas is 0: the server is stopped, volumes are kept")
	case available:
		set(ConditionAvailable, true, ReasonReplicasAvailable, fmt.Sprintf("%d/%d replicas available", st.AvailableReplicas, desired))
	default:
		set(ConditionAvailable, false, ReasonReplicasUnavailable, fmt.Sprintf("%d/%d replicas available", st.AvailableReplicas, desired))
	}

	progressing = progressing && !blocked
	ready := configReady && dbReady && available && !progressing
	if ready {
		set(ConditionReady, true, ReasonReady, "The DittoFS server is ready")
	} else {
		msg := notReadyMessage(configReady, dbReady, available, progressing)
		if configReady && dbReady && len(obs.podProblems) > 0 {
			msg = "A server pod reports a problem: see PodsHealthy"
		}
		set(ConditionReady, false, ReasonNotReady, msg)
	}

	failed := !configReady || (obs.db != nil && obs.db.failed) || (obs.paused && ds.Status.Phase == dittov1alpha1.PhaseFailed)
	switch {
	case failed:
		st.Phase = dittov1alpha1.PhaseFailed
	case desired == 0 && !progressing && st.Replicas == 0:
		st.Phase = dittov1alpha1.PhaseStopped
	case ready:
		st.Phase = dittov1alpha1.PhaseRunning
	default:
		st.Phase = dittov1alpha1.PhasePending
	}
	return st
}

// rolloutInProgress tells whether the StatefulSet is still converging.
func rolloutInProgress(obs observation, desired int32) (bool, string) {
	sts := obs.sts
	switch {
	case sts == nil:
		return true, "Waiting for the StatefulSet"
	case sts.Status.ObservedGeneration < sts.Generation || sts.Status.Replicas != desired:
		// One message whether the StatefulSet controller has not yet
		// observed the spec or has not yet made the pods: its first status
		// often comes in two steps, which would otherwise cost two status
		// writes that show the same.
		return true, fmt.Sprintf("Waiting for the StatefulSet controller: %d/%d replicas", sts.Status.Replicas, desired)
	case desired > 0 && (sts.Status.UpdatedReplicas < desired || updatePending(sts)):
		return true, fmt.Sprintf("%d/%d replicas updated", sts.Status.UpdatedReplicas, desired)
	}
	return false, ""
}

func updatePending(sts *appsv1.StatefulSet) bool {
	return sts.Status.UpdateRevision != "" && sts.Status.CurrentRevision != sts.Status.UpdateRevision
}

func notReadyMessage(configReady, dbReady, available, progressing bool) string {
	switch {
	case !configReady:
		return "Configuration is not ready: see ConfigReady"
	case !dbReady:
		return "Waiting for the database: see DatabaseReady"
	case progressing:
		return "Rollout in progress: see Progressing"
	case !available:
		return "Replicas are not available yet"
	}
	return "Not ready"
}

// updateStatus applies the computed status when this controller's part of it
// differs from the current one (applyStatus), and emits the events that mark
// a condition transition once the write succeeded, judged against the status
// the pass read: the cache, which has seen this controller's last write
// (loadDittoServer), so a transition is announced once.
func (c *Controller) updateStatus(ctx context.Context, ds *dittov1alpha1.DittoServer, obs observation) error {
	now := metav1.NewTime(c.now())
	next := computeStatus(ds, obs, now)
	if equality.Semantic.DeepEqual(ownedStatus(&ds.Status), ownedStatus(&next)) {
		return nil
	}
	written, err := c.applyStatus(ctx, ds, &next)
	if err != nil || written == nil {
		return err
	}
	c.emitTransitionEvents(ds, next)
	c.emitPauseEvents(ds, next)
	return nil
}

// emitTransitionEvents marks condition transitions with events: one Warning
// when ConfigReady or DatabaseReady turns False (again when ConfigReady names
// another problem, or DatabaseReady another reason), and one Normal event
// when the database becomes ready. A repeat of the same state is silent.
func (c *Controller) emitTransitionEvents(ds *dittov1alpha1.DittoServer, next dittov1alpha1.DittoServerStatus) {
	for _, t := range []string{ConditionConfigReady, ConditionDatabaseReady} {
		n := meta.FindStatusCondition(next.Conditions, t)
		if n == nil {
			continue
		}
		o := meta.FindStatusCondition(ds.Status.Conditions, t)
		switch {
		case n.Status == metav1.ConditionFalse:
			if o != nil && o.Status == n.Status && o.Reason == n.Reason && (t == ConditionDatabaseReady || o.Message == n.Message) {
				continue
			}
			c.recorder.Event(ds, corev1.EventTypeWarning, n.Reason, n.Message)
		case t == ConditionDatabaseReady && o != nil && o.Status == metav1.ConditionFalse:
			c.recorder.Event(ds, corev1.EventTypeNormal, ReasonDatabaseReady, n.Message)
		}
	}
	c.emitResizeEvents(ds, next)
}
