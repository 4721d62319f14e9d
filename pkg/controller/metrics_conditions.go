package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"

	dittolisters "github.com/dittofs/dittofs-operator/pkg/generated/listers/dittofs/v1alpha1"
)

const conditionHelp = "1 for each condition a DittoServer's status reports, with its current status (True, False or Unknown) as a label. " +
	"One series per DittoServer and condition type; it follows the status and goes with the DittoServer."

var conditionDesc = prometheus.NewDesc("dittofs_operator_dittoserver_condition", conditionHelp,
	[]string{"namespace", "name", "type", "status"}, nil)

// conditionCollector reports the conditions of every DittoServer in the
// informer cache at scrape time, as kube-state-metrics does for built-in
// kinds. Reading the cache on scrape keeps the gauge in step with the status
// (including on a standby replica, whose cache is as warm as the leader's),
// drops a deleted DittoServer's series without any bookkeeping, and costs no
// API request.
type conditionCollector struct {
	mu     sync.Mutex
	lister dittolisters.DittoServerLister // nil until the controller is built
}

func (c *conditionCollector) setLister(l dittolisters.DittoServerLister) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lister = l
}

func (c *conditionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- conditionDesc }

func (c *conditionCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	lister := c.lister
	c.mu.Unlock()
	if lister == nil {
		return
	}
	servers, err := lister.List(labels.Everything())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(conditionDesc, err)
		return
	}
	for _, ds := range servers {
		for _, cond := range ds.Status.Conditions {
			ch <- prometheus.MustNewConstMetric(conditionDesc, prometheus.GaugeValue, 1,
				ds.Namespace, ds.Name, cond.Type, string(cond.Status))
		}
	}
}

// watchConditions makes the condition gauge read lister.
func (m *Metrics) watchConditions(l dittolisters.DittoServerLister) {
	if m == nil {
		return
	}
	m.conditions.setLister(l)
}
