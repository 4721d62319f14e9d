package backup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
)

type schedFixture struct {
	t        *testing.T
	ditto    *dittofake.Clientset
	s        *Scheduler
	recorder *record.FakeRecorder
	now      time.Time
	refresh  func()
}

func newSchedFixture(t *testing.T, objs ...runtime.Object) *schedFixture {
	f := &schedFixture{t: t, ditto: dittofake.NewSimpleClientset(objs...), recorder: record.NewFakeRecorder(100), now: t0}
	di := dittoinformers.NewSharedInformerFactory(f.ditto, 0)
	si, bi := di.Dittofs().V1alpha1().DittoScheduledBackups(), di.Dittofs().V1alpha1().DittoBackups()
	s, err := NewScheduler(f.ditto, si, bi, f.recorder, NewMetrics(prometheus.NewRegistry()), func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	f.refresh = func() {
		ctx := context.Background()
		l, _ := f.ditto.DittofsV1alpha1().DittoScheduledBackups("").List(ctx, metav1.ListOptions{})
		_ = si.Informer().GetIndexer().Replace(items(l.Items), "")
		b, _ := f.ditto.DittofsV1alpha1().DittoBackups("").List(ctx, metav1.ListOptions{})
		_ = bi.Informer().GetIndexer().Replace(items(b.Items), "")
	}
	return f
}

// pass runs one sync and returns the wait until the next and the writes.
func (f *schedFixture) pass() (time.Duration, []string) {
	f.refresh()
	f.ditto.ClearActions()
	wait, err := f.s.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: "nightly"})
	if err != nil {
		f.t.Fatal(err)
	}
	var writes []string
	for _, a := range f.ditto.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			writes = append(writes, v+" "+a.GetResource().Resource)
		}
	}
	return wait, writes
}

func (f *schedFixture) backupNames() []string {
	l, _ := f.ditto.DittofsV1alpha1().DittoBackups(ns).List(context.Background(), metav1.ListOptions{})
	var out []string
	for _, b := range l.Items {
		out = append(out, b.Name)
	}
	return out
}

func newSchedule(schedule string) *dittov1alpha1.DittoScheduledBackup {
	return &dittov1alpha1.DittoScheduledBackup{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns, UID: "s-uid", Generation: 1, CreationTimestamp: metav1.NewTime(t0)},
		Spec:       dittov1alpha1.DittoScheduledBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: "fs"}, Schedule: schedule},
	}
}

// Immediate takes one backup at creation; then nothing until the schedule
// is due, and a resync costs no write; at the due time the next one.
func TestScheduleImmediateThenOnTime(t *testing.T) {
	sb := newSchedule("0 3 * * *")
	sb.Spec.Immediate = true
	f := newSchedFixture(t, sb)
	wait, _ := f.pass()
	if got := f.backupNames(); len(got) != 1 || got[0] != "nightly-20261208010000" {
		t.Fatalf("backups %v, want nightly-20261208010000", got)
	}
	b, _ := f.ditto.DittofsV1alpha1().DittoBackups(ns).Get(context.Background(), "nightly-20261208010000", metav1.GetOptions{})
	if b.Labels[dittov1alpha1.ScheduledBackupLabel] != "nightly" || !metav1.IsControlledBy(b, sb) || b.Spec.Server.Name != "fs" {
		t.Fatalf("backup %+v", b.ObjectMeta)
	}
	if wait != 2*time.Hour {
		t.Fatalf("next pass in %s, want 2h (03:00)", wait)
	}
	f.now = f.now.Add(time.Hour)
	if _, writes := f.pass(); len(writes) != 0 {
		t.Fatalf("nothing due, yet wrote %v", writes)
	}
	f.now = t0.Add(2*time.Hour + time.Second)
	f.pass()
	if got := f.backupNames(); len(got) != 2 || !strings.Contains(strings.Join(got, ","), "nightly-20261208030000") {
		t.Fatalf("backups %v, want the 03:00 one", got)
	}
}

// Suspend: no backup, no next time.
func TestScheduleSuspended(t *testing.T) {
	sb := newSchedule("*/5 * * * *")
	sb.Spec.Suspend, sb.Spec.Immediate = true, true
	f := newSchedFixture(t, sb)
	f.now = t0.Add(time.Hour)
	wait, _ := f.pass()
	if len(f.backupNames()) != 0 || wait != 0 {
		t.Fatalf("suspended schedule made %v, requeue %s", f.backupNames(), wait)
	}
	st, _ := f.ditto.DittofsV1alpha1().DittoScheduledBackups(ns).Get(context.Background(), "nightly", metav1.GetOptions{})
	if st.Status.NextScheduleTime != nil || meta.FindStatusCondition(st.Status.Conditions, "Ready").Reason != ReasonSuspended {
		t.Fatalf("status %+v", st.Status)
	}
}

// An invalid schedule (past the CRD's shape check): one Warning, no requeue.
func TestScheduleInvalid(t *testing.T) {
	f := newSchedFixture(t, newSchedule("61 * * * *"))
	wait, _ := f.pass()
	if wait != 0 {
		t.Fatal("invalid schedule requeued")
	}
	if ev := <-f.recorder.Events; !strings.HasPrefix(ev, "Warning InvalidSchedule") {
		t.Fatalf("event %q", ev)
	}
	if _, writes := f.pass(); len(writes) != 0 {
		t.Fatalf("second pass wrote %v", writes)
	}
}

func scheduled(name string, age time.Duration, phase dittov1alpha1.BackupPhase) *dittov1alpha1.DittoBackup {
	b := newBackup(name)
	b.UID = types.UID("uid-" + b.Name)
	b.Labels = map[string]string{dittov1alpha1.ScheduledBackupLabel: "nightly"}
	b.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(newSchedule(""), dittov1alpha1.SchemeGroupVersion.WithKind("DittoScheduledBackup"))}
	b.CreationTimestamp = metav1.NewTime(t0.Add(-age))
	b.Status.Phase = phase
	if phase == dittov1alpha1.BackupCompleted {
		b.Status.CompletedAt = &metav1.Time{Time: t0.Add(-age + time.Minute)}
	}
	return b
}

// Retention by count keeps the newest Completed backup even when only
// failed ones are newer, and never prunes a running one.
func TestRetentionKeepsNewestCompleted(t *testing.T) {
	sb := newSchedule("0 3 * * *")
	sb.Spec.Retention = &dittov1alpha1.BackupRetention{Keep: ptr.To[int32](1)}
	f := newSchedFixture(t, sb,
		scheduled("n-1", 1*time.Hour, dittov1alpha1.BackupRunning),
		scheduled("n-2", 2*time.Hour, dittov1alpha1.BackupFailed),
		scheduled("n-3", 3*time.Hour, dittov1alpha1.BackupCompleted),
		scheduled("n-4", 4*time.Hour, dittov1alpha1.BackupCompleted))
	f.pass()
	got := strings.Join(f.backupNames(), ",")
	if got != "n-1,n-3" {
		t.Fatalf("left %s, want n-1 (running) and n-3 (newest Completed)", got)
	}
	st, _ := f.ditto.DittofsV1alpha1().DittoScheduledBackups(ns).Get(context.Background(), "nightly", metav1.GetOptions{})
	if st.Status.LastSuccessfulTime == nil || !st.Status.LastSuccessfulTime.Time.Equal(t0.Add(-3*time.Hour+time.Minute)) {
		t.Fatalf("lastSuccessfulTime %v", st.Status.LastSuccessfulTime)
	}
}

// Retention by age.
func TestRetentionByAge(t *testing.T) {
	sb := newSchedule("0 3 * * *")
	sb.Spec.Retention = &dittov1alpha1.BackupRetention{MaxAge: &metav1.Duration{Duration: 48 * time.Hour}}
	f := newSchedFixture(t, sb,
		scheduled("n-1", 24*time.Hour, dittov1alpha1.BackupCompleted),
		scheduled("n-2", 72*time.Hour, dittov1alpha1.BackupCompleted))
	f.pass()
	if got := strings.Join(f.backupNames(), ","); got != "n-1" {
		t.Fatalf("left %s, want n-1", got)
	}
}

// A hand-made backup carrying the schedule's label is not the schedule's:
// retention neither counts nor deletes it.
func TestRetentionLeavesALookAlikeBackup(t *testing.T) {
	sb := newSchedule("0 3 * * *")
	sb.Spec.Retention = &dittov1alpha1.BackupRetention{Keep: ptr.To[int32](1)}
	lookalike := scheduled("hand-made", 5*time.Hour, dittov1alpha1.BackupCompleted)
	lookalike.OwnerReferences = nil
	f := newSchedFixture(t, sb,
		scheduled("n-1", 1*time.Hour, dittov1alpha1.BackupCompleted),
		scheduled("n-2", 2*time.Hour, dittov1alpha1.BackupCompleted),
		lookalike)
	f.pass()
	if got := strings.Join(f.backupNames(), ","); got != "hand-made,n-1" {
		t.Fatalf("left %s, want the hand-made backup and n-1", got)
	}
}
