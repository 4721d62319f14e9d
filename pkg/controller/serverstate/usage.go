package serverstate

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
)

// Usage. The server reports each share's logical size (used_bytes, what the
// quota caps) and the space its blocks take (physical_bytes) in the share
// list the pass reads anyway, so usage costs no request of its own. It goes
// into the DittoShare's status.usage only when it moved by a meaningful
// step, and at most once per DefaultUsageInterval, so that a share being
// written to does not turn every pass into a status write; it never causes
// an event. The metrics read the status from the cache at scrape time.

// DefaultUsageInterval is the least time between two writes of a share's
// usage: the informers' default resync period.
const DefaultUsageInterval = 10 * time.Minute

// usageStepNoQuota is the step of a share without a quota (64 MiB); with a
// quota the step is 1% of it.
const usageStepNoQuota int64 = 64 << 20

// observedUsage is a share's usage as the server reports it.
func observedUsage(got dfsapi.Share) *dittov1alpha1.ShareUsage {
	return &dittov1alpha1.ShareUsage{UsedBytes: got.UsedBytes, PhysicalBytes: got.PhysicalBytes, QuotaBytes: got.QuotaBytes}
}

// nextUsage is the usage a status carries after a pass that saw seen (nil:
// the pass did not read the share, the status keeps cur). A first figure or
// a changed quota is written at once; otherwise a move of at least one step
// in used or physical bytes, once interval has passed since the last write.
func nextUsage(cur, seen *dittov1alpha1.ShareUsage, now metav1.Time, interval time.Duration) *dittov1alpha1.ShareUsage {
	if seen == nil {
		return cur
	}
	fresh := *seen
	fresh.ObservedTime = now
	// Quotas compare as the server reports them (two decimals of a binary
	// unit), so a quota that is not a round number does not look changed.
	if cur == nil || reportedQuota(cur.QuotaBytes) != reportedQuota(seen.QuotaBytes) {
		return &fresh
	}
	step := usageStepNoQuota
	if seen.QuotaBytes > 0 {
		step = max(seen.QuotaBytes/100, 1)
	}
	moved := abs(seen.UsedBytes-cur.UsedBytes) >= step || abs(seen.PhysicalBytes-cur.PhysicalBytes) >= step
	if moved && now.Sub(cur.ObservedTime.Time) >= interval {
		return &fresh
	}
	return cur
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

var (
	shareUsedDesc = prometheus.NewDesc("dittofs_operator_dittoshare_used_bytes",
		"Logical size of a DittoShare's files (what its quota caps), from status.usage: the server's figure, rewritten when it moves by 1% of the quota (64 MiB without one).",
		[]string{"namespace", "name", "dittoserver"}, nil)
	sharePhysicalDesc = prometheus.NewDesc("dittofs_operator_dittoshare_physical_bytes",
		"Space a DittoShare's blocks take in its block store on the server's volume, from status.usage.",
		[]string{"namespace", "name", "dittoserver"}, nil)
	shareQuotaDesc = prometheus.NewDesc("dittofs_operator_dittoshare_quota_bytes",
		"Quota of a DittoShare in bytes, from status.usage; absent for a share without a quota.",
		[]string{"namespace", "name", "dittoserver"}, nil)
)

// usageCollector reports the usage in every DittoShare's status at scrape
// time from the informer cache: no request, and a deleted share's series go
// with it.
type usageCollector struct {
	mu     sync.Mutex
	lister dittolisters.DittoShareLister // nil until the controller is built
}

func (c *usageCollector) setLister(l dittolisters.DittoShareLister) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lister = l
}

func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- shareUsedDesc
	ch <- sharePhysicalDesc
	ch <- shareQuotaDesc
}

func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	lister := c.lister
	c.mu.Unlock()
	if lister == nil {
		return
	}
	shares, err := lister.List(labels.Everything())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(shareUsedDesc, err)
		return
	}
	for _, s := range shares {
		u := s.Status.Usage
		if u == nil {
			continue
		}
		server := s.Spec.ServerRef.Name
		ch <- prometheus.MustNewConstMetric(shareUsedDesc, prometheus.GaugeValue, float64(u.UsedBytes), s.Namespace, s.Name, server)
		ch <- prometheus.MustNewConstMetric(sharePhysicalDesc, prometheus.GaugeValue, float64(u.PhysicalBytes), s.Namespace, s.Name, server)
		if u.QuotaBytes > 0 {
			ch <- prometheus.MustNewConstMetric(shareQuotaDesc, prometheus.GaugeValue, float64(u.QuotaBytes), s.Namespace, s.Name, server)
		}
	}
}
