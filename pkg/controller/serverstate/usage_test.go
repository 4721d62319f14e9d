package serverstate

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestNextUsageWritesOnlyMeaningfulStepsOncePerInterval(t *testing.T) {
	const mib = int64(1) << 20
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	u := func(used, physical, quota int64, when time.Duration) *dittov1alpha1.ShareUsage {
		return &dittov1alpha1.ShareUsage{UsedBytes: used, PhysicalBytes: physical, QuotaBytes: quota, ObservedTime: at(when)}
	}
	seen := func(used, physical, quota int64) *dittov1alpha1.ShareUsage { return u(used, physical, quota, 0) }
	interval := 10 * time.Minute
	for _, tc := range []struct {
		name      string
		cur, seen *dittov1alpha1.ShareUsage
		now       time.Duration
		want      *dittov1alpha1.ShareUsage
	}{
		{"not read in this pass: kept", u(5, 5, 0, 0), nil, time.Hour, u(5, 5, 0, 0)},
		{"first figure: written at once", nil, seen(5, 6, 0), time.Second, u(5, 6, 0, time.Second)},
		{"quota changed: written at once", u(5, 6, 0, 0), seen(5, 6, 1000*mib), time.Second, u(5, 6, 1000*mib, time.Second)},
		{"no quota, below 64 MiB: kept", u(0, 0, 0, 0), seen(63*mib, 63*mib, 0), time.Hour, u(0, 0, 0, 0)},
		{"no quota, 64 MiB after the interval: written", u(0, 0, 0, 0), seen(64*mib, 0, 0), interval, u(64*mib, 0, 0, interval)},
		{"no quota, 64 MiB within the interval: kept", u(0, 0, 0, 0), seen(64*mib, 0, 0), interval - time.Second, u(0, 0, 0, 0)},
		{"quota 1000 MiB, 9 MiB: kept", u(100*mib, 0, 1000*mib, 0), seen(109*mib, 0, 1000*mib), time.Hour, u(100*mib, 0, 1000*mib, 0)},
		{"quota 1000 MiB, 10 MiB down: written", u(100*mib, 0, 1000*mib, 0), seen(90*mib, 0, 1000*mib), time.Hour, u(90*mib, 0, 1000*mib, time.Hour)},
		{"physical bytes move by a step: written", u(0, 0, 0, 0), seen(0, 100*mib, 0), time.Hour, u(0, 100*mib, 0, time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nextUsage(tc.cur, tc.seen, at(tc.now), interval)
			if (got == nil) != (tc.want == nil) || got != nil && (*got != *tc.want) {
				t.Errorf("nextUsage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A pass reports the usage the server's share list carries, without a
// request of its own; a later pass with a small change writes nothing.
func TestShareUsageIsReportedWithoutNoise(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	if u := f.share("projects").Status.Usage; u == nil || u.UsedBytes != 0 || u.QuotaBytes != 10<<30 {
		t.Fatalf("first status.usage = %+v, want 0 of 10 GiB", u)
	}
	// A step is written once the interval has passed since the last write.
	f.c.now = func() time.Time { return t0.Add(DefaultUsageInterval) }
	sh := f.srv.shares["/projects"]
	sh.UsedBytes, sh.PhysicalBytes = 3<<30, 1<<30
	f.srv.shares["/projects"] = sh
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	got := f.share("projects").Status.Usage
	if got == nil || got.UsedBytes != 3<<30 || got.PhysicalBytes != 1<<30 || got.QuotaBytes != 10<<30 {
		t.Fatalf("status.usage = %+v, want 3 GiB used of 10 GiB, 1 GiB physical", got)
	}
	if reads := f.srv.calls; strings.Contains(strings.Join(reads, " "), "status") {
		t.Errorf("usage cost requests of its own: %v", reads)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("usage made events: %v", ev)
	}
	// 50 MiB more is below 1% of 10 GiB: no write, even an hour later.
	sh.UsedBytes += 50 << 20
	f.srv.shares["/projects"] = sh
	f.c.now = func() time.Time { return t0.Add(time.Hour) }
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if w := f.kubeWrites(); len(w) != 0 {
		t.Errorf("a usage change below the step wrote: %v", w)
	}
	// 1 GiB more is a step: one status write, no event.
	sh.UsedBytes += 1 << 30
	f.srv.shares["/projects"] = sh
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if w := f.kubeWrites(); len(w) != 1 || !strings.Contains(w[0], "dittoshares/status") {
		t.Errorf("a usage step: writes %v, want one DittoShare status update", w)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("usage made events: %v", ev)
	}

	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	m.watchShares(f.c.shareLister)
	want := `
# HELP dittofs_operator_dittoshare_quota_bytes Quota of a DittoShare in bytes, from status.usage; absent for a share without a quota.
# TYPE dittofs_operator_dittoshare_quota_bytes gauge
dittofs_operator_dittoshare_quota_bytes{dittoserver="` + testServer + `",name="projects",namespace="` + testNamespace + `"} 1.073741824e+10
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dittofs_operator_dittoshare_quota_bytes"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.usage); n != 3 {
		t.Errorf("usage series = %d, want 3 (used, physical, quota)", n)
	}
}

// A share created in a pass gets its first (empty) usage with the creation's
// status write: the next pass has nothing to write.
func TestNewShareUsageCostsNoWriteOfItsOwn(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if u := f.share("projects").Status.Usage; u == nil || u.UsedBytes != 0 || u.QuotaBytes != 10<<30 {
		t.Fatalf("status.usage after the creating pass = %+v, want 0 of 10 GiB", u)
	}
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if w := f.kubeWrites(); len(w) != 0 {
		t.Errorf("the pass after the creation wrote %v", w)
	}
}
