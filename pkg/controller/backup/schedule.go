package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	clientset "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions/dittofs/v1alpha1"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"

	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// SchedulerName names the schedule controller in logs and /readyz.
const SchedulerName = "dittoscheduledbackup-controller"

// Schedule reasons and events.
const (
	ReasonScheduled       = "Scheduled"
	ReasonInvalidSchedule = "InvalidSchedule"
	ReasonSuspended       = "Suspended"
	ReasonBackupCreated   = "BackupCreated"
	ReasonBackupPruned    = "BackupPruned"
)

// Scheduler creates the DittoBackups of DittoScheduledBackups and prunes them.
type Scheduler struct {
	ditto     clientset.Interface
	schedules dittolisters.DittoScheduledBackupLister
	backups   dittolisters.DittoBackupLister
	synced    []cache.InformerSynced
	recorder  record.EventRecorder
	metrics   *Metrics
	now       func() time.Time
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]
}

// NewScheduler builds the schedule controller; it shares the backup
// controller's recorder.
func NewScheduler(ditto clientset.Interface, schedules dittoinformers.DittoScheduledBackupInformer,
	backups dittoinformers.DittoBackupInformer, recorder record.EventRecorder, metrics *Metrics, now func() time.Time) (*Scheduler, error) {
	if now == nil {
		now = time.Now
	}
	s := &Scheduler{ditto: ditto, schedules: schedules.Lister(), backups: backups.Lister(), recorder: recorder, metrics: metrics, now: now,
		synced: []cache.InformerSynced{schedules.Informer().HasSynced, backups.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: SchedulerName})}
	enqueue := func(obj interface{}) {
		if key, err := cache.DeletionHandlingObjectToName(obj); err == nil {
			s.queue.Add(key)
		}
	}
	if _, err := schedules.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o interface{}) { enqueue(o) }, DeleteFunc: enqueue}); err != nil {
		return nil, fmt.Errorf("add DittoScheduledBackup handler: %w", err)
	}
	// A schedule's backups finishing or going change its status and retention.
	owner := func(obj interface{}) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if b, ok := obj.(*dittov1alpha1.DittoBackup); ok && b.Labels[dittov1alpha1.ScheduledBackupLabel] != "" {
			s.queue.Add(cache.ObjectName{Namespace: b.Namespace, Name: b.Labels[dittov1alpha1.ScheduledBackupLabel]})
		}
	}
	if _, err := backups.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: owner, UpdateFunc: func(_, o interface{}) { owner(o) }, DeleteFunc: owner}); err != nil {
		return nil, fmt.Errorf("add DittoBackup handler: %w", err)
	}
	return s, nil
}

// HasSynced reports whether the scheduler's caches have synced.
func (s *Scheduler) HasSynced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return true
}

// Run waits for the caches and runs the workers until ctx is done.
func (s *Scheduler) Run(ctx context.Context, workers int, drainTimeout time.Duration) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("controller", SchedulerName))
	defer s.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return kit.StoppedOr(ctx, fmt.Errorf("%s: caches did not sync", SchedulerName))
	}
	kit.RunWorkers(ctx, s.queue, workers, drainTimeout, func(ctx context.Context, key cache.ObjectName) {
		next, err := s.sync(ctx, key)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Schedule pass failed", "dittoscheduledbackup", key)
			s.queue.AddRateLimited(key)
			return
		}
		s.queue.Forget(key)
		if next > 0 {
			// No polling: the next pass is when the next backup is due.
			s.queue.AddAfter(key, next)
		}
	})
	return nil
}

// sync creates the backup that is due, prunes, writes the status when it
// changed, and returns how long until the next backup is due (0: none).
func (s *Scheduler) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	sb, err := s.schedules.DittoScheduledBackups(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		s.metrics.forgetSchedule(key.Namespace, key.Name)
		return 0, nil
	}
	if err != nil || sb.DeletionTimestamp != nil {
		return 0, err
	}
	now := s.now()
	next := sb.Status.DeepCopy()
	next.ObservedGeneration = sb.Generation
	sched, err := cron.ParseStandard(sb.Spec.Schedule)
	if err != nil {
		// Waits for a fix of the spec: no requeue, one Warning.
		setScheduleReady(next, sb.Generation, metav1.ConditionFalse, ReasonInvalidSchedule, fmt.Sprintf("spec.schedule: %v", err), now)
		next.NextScheduleTime = nil
		s.metrics.forgetSchedule(sb.Namespace, sb.Name)
		return 0, s.writeStatus(ctx, sb, next)
	}
	labelled, err := s.backups.DittoBackups(sb.Namespace).List(labels.SelectorFromSet(labels.Set{dittov1alpha1.ScheduledBackupLabel: sb.Name}))
	if err != nil {
		return 0, err
	}
	// The label only finds candidates: a backup is this schedule's (counted,
	// pruned) only when the schedule controls it, so a hand-made backup
	// carrying the label is never deleted by retention.
	backups := make([]*dittov1alpha1.DittoBackup, 0, len(labelled))
	for _, b := range labelled {
		if metav1.IsControlledBy(b, sb) {
			backups = append(backups, b)
		}
	}
	if due, ok := dueTime(sb, sched, now); ok && !sb.Spec.Suspend {
		if err := s.createBackup(ctx, sb, due); err != nil {
			return 0, err
		}
		next.LastScheduleTime = &metav1.Time{Time: due}
	}
	if err := s.prune(ctx, sb, backups, now); err != nil {
		return 0, err
	}
	next.LastSuccessfulTime = lastSuccess(backups)
	var wait time.Duration
	if sb.Spec.Suspend {
		s.metrics.forgetSchedule(sb.Namespace, sb.Name)
		next.NextScheduleTime = nil
		setScheduleReady(next, sb.Generation, metav1.ConditionFalse, ReasonSuspended, "spec.suspend is true: no new backup is taken", now)
	} else {
		n := sched.Next(lastOrCreation(sb, next))
		next.NextScheduleTime = &metav1.Time{Time: n}
		wait = max(n.Sub(now), time.Second)
		setScheduleReady(next, sb.Generation, metav1.ConditionTrue, ReasonScheduled, "next backup at "+n.UTC().Format(time.RFC3339), now)
		s.metrics.schedulePeriod(sb, sched.Next(n).Sub(n))
	}
	return wait, s.writeStatus(ctx, sb, next)
}

// dueTime is the newest scheduled time at or before now not taken yet;
// with spec.immediate, now for a schedule that never ran.
func dueTime(sb *dittov1alpha1.DittoScheduledBackup, sched cron.Schedule, now time.Time) (time.Time, bool) {
	if sb.Status.LastScheduleTime == nil && sb.Spec.Immediate {
		return now.UTC().Truncate(time.Second), true
	}
	t := sched.Next(lastOrCreation(sb, &sb.Status))
	if t.After(now) {
		return time.Time{}, false
	}
	// Missed runs (the operator was down) make one backup, the latest.
	for i := 0; i < 10000; i++ {
		n := sched.Next(t)
		if n.After(now) {
			break
		}
		t = n
	}
	return t, true
}

func lastOrCreation(sb *dittov1alpha1.DittoScheduledBackup, st *dittov1alpha1.DittoScheduledBackupStatus) time.Time {
	if st.LastScheduleTime != nil {
		return st.LastScheduleTime.Time
	}
	return sb.CreationTimestamp.Time
}

// scheduledBackupName is <schedule>-<yyyymmddhhmmss> in UTC.
func scheduledBackupName(sb *dittov1alpha1.DittoScheduledBackup, at time.Time) string {
	return sb.Name + "-" + at.UTC().Format("20060102150405")
}

// newScheduledBackup is the backup a schedule takes at a time.
func newScheduledBackup(sb *dittov1alpha1.DittoScheduledBackup, at time.Time) *dittov1alpha1.DittoBackup {
	return &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{
			Name: scheduledBackupName(sb, at), Namespace: sb.Namespace,
			Labels:          map[string]string{dittov1alpha1.ScheduledBackupLabel: sb.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sb, dittov1alpha1.SchemeGroupVersion.WithKind("DittoScheduledBackup"))},
		},
		Spec: dittov1alpha1.DittoBackupSpec{
			Server:                  sb.Spec.Server,
			VolumeSnapshotClassName: sb.Spec.VolumeSnapshotClassName,
			Method:                  dittov1alpha1.BackupMethodOffline,
			RestoreNamespaces:       sb.Spec.RestoreNamespaces.DeepCopy(),
		},
	}
}

func (s *Scheduler) createBackup(ctx context.Context, sb *dittov1alpha1.DittoScheduledBackup, at time.Time) error {
	b := newScheduledBackup(sb, at)
	_, err := s.ditto.DittofsV1alpha1().DittoBackups(sb.Namespace).Create(ctx, b, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create DittoBackup %s: %w", b.Name, err)
	}
	s.recorder.Eventf(sb, corev1.EventTypeNormal, ReasonBackupCreated, "Created DittoBackup %s", b.Name)
	return nil
}

func setScheduleReady(st *dittov1alpha1.DittoScheduledBackupStatus, gen int64, status metav1.ConditionStatus, reason, msg string, now time.Time) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: dittov1alpha1.ConditionReady, Status: status,
		Reason: reason, Message: msg, ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(now)})
}

// writeStatus writes a changed status; a new Ready reason is one event.
func (s *Scheduler) writeStatus(ctx context.Context, sb *dittov1alpha1.DittoScheduledBackup, next *dittov1alpha1.DittoScheduledBackupStatus) error {
	if equality.Semantic.DeepEqual(&sb.Status, next) {
		return nil
	}
	n := sb.DeepCopy()
	n.Status = *next
	if _, err := s.ditto.DittofsV1alpha1().DittoScheduledBackups(sb.Namespace).UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update DittoScheduledBackup status: %w", err)
	}
	before := meta.FindStatusCondition(sb.Status.Conditions, dittov1alpha1.ConditionReady)
	after := meta.FindStatusCondition(next.Conditions, dittov1alpha1.ConditionReady)
	if after != nil && (before == nil || before.Reason != after.Reason) {
		kind := corev1.EventTypeNormal
		if after.Reason == ReasonInvalidSchedule {
			kind = corev1.EventTypeWarning
		}
		s.recorder.Event(sb, kind, after.Reason, after.Message)
	}
	return nil
}
