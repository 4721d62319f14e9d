package main

// docs/monitoring.md and docs/alerts.yaml cannot go stale: every metric the
// operator registers has a row in the document, and every metric an alert
// rule reads is one the operator registers.

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"
)

const (
	monitoringDoc = "../../docs/monitoring.md"
	alertRules    = "../../docs/alerts.yaml"
	dashboard     = "../../docs/grafana/dittofs-operator.json"
)

// externalMetrics are the only series the alerts and the dashboard may read
// that the operator does not export: the kubelet's volume statistics (DittoFS
// does not report its disks, docs/monitoring.md) and Prometheus' own up.
var externalMetrics = map[string]bool{
	"kubelet_volume_stats_available_bytes": true,
	"kubelet_volume_stats_capacity_bytes":  true,
	"up":                                   true,
}

// knownMetric tells whether a query may read name.
func knownMetric(names map[string]bool, name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
	return names[name] || names[base] || externalMetrics[name]
}

// recordingRegisterer registers on a real registry and remembers the name
// of every metric described by what it registers.
type recordingRegisterer struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

var (
	registeredOnce  sync.Once
	registeredNames map[string]bool
)

// registered are the names of every metric the operator's /metrics serves,
// registered as run() registers them (once per process: client-go takes one
// metrics registration).
func registered(t *testing.T) map[string]bool {
	t.Helper()
	registeredOnce.Do(func() {
		r := &recordingRegisterer{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
		registerMetrics(r)
		registeredNames = r.names
	})
	if len(registeredNames) == 0 {
		t.Fatal("no metric registered")
	}
	return registeredNames
}

// runtimeMetric: the Go and process collectors' standard series, documented
// as a family rather than one by one.
func runtimeMetric(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

var firstCellName = regexp.MustCompile("^\\|\\s*`([a-z_:]+)`")

func TestMonitoringDocListsEveryMetric(t *testing.T) {
	raw, err := os.ReadFile(monitoringDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if m := firstCellName.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			documented[m[1]] = true
		}
	}
	var missing, stale []string
	for name := range registered(t) {
		if !runtimeMetric(name) && !documented[name] {
			missing = append(missing, name)
		}
	}
	for name := range documented {
		if !registered(t)[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("%s has no row (first cell `name`) for:\n  %s", monitoringDoc, strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("%s documents metrics the operator does not register:\n  %s", monitoringDoc, strings.Join(stale, "\n  "))
	}
}

// prometheusRule is the part of a PrometheusRule the test reads.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func TestAlertRulesReadOnlyRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
		t.Fatalf("%s: %v", alertRules, err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("%s is a %s %s, want a monitoring.coreos.com/v1 PrometheusRule", alertRules, pr.APIVersion, pr.Kind)
	}
	names := registered(t)
	alerts := 0
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %q lacks an alert name, expr, severity label, summary or description", r.Alert)
			}
			used := metricNames(r.Expr)
			if len(used) == 0 {
				t.Errorf("alert %s reads no metric: %q", r.Alert, r.Expr)
			}
			for _, name := range used {
				if !knownMetric(names, name) {
					t.Errorf("alert %s reads %s, which the operator does not register", r.Alert, name)
				}
			}
		}
	}
	if alerts == 0 {
		t.Errorf("%s holds no alert", alertRules)
	}
}

// The capacity alerts and the operator-down alert exist: a file that lost
// them would still pass the test above.
func TestAlertRulesCoverCapacityAndTheOperatorItself(t *testing.T) {
	raw, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
		}
	}
	for alert, must := range map[string][]string{
		"DittoShareNearQuota":        {"dittofs_operator_dittoshare_used_bytes", "dittofs_operator_dittoshare_quota_bytes", "> 0.9"},
		"DittoServerVolumeFillingUp": {"predict_linear(kubelet_volume_stats_available_bytes", "[6h]", "24 * 3600"},
		"DittoFSOperatorDown":        {"absent(up{job="},
	} {
		for _, part := range must {
			if !strings.Contains(exprs[alert], part) {
				t.Errorf("alert %s: expr %q lacks %q", alert, exprs[alert], part)
			}
		}
	}
}

// grafanaDashboard is the part of a Grafana dashboard the test reads.
type grafanaDashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func TestDashboardQueriesReadOnlyRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: a dashboard needs a title, a uid and panels", dashboard)
	}
	names := registered(t)
	queries := 0
	read := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			used := metricNames(q.Expr)
			if len(used) == 0 {
				t.Errorf("panel %q: query reads no metric: %q", p.Title, q.Expr)
			}
			for _, name := range used {
				read[name] = true
				if !knownMetric(names, name) {
					t.Errorf("panel %q reads %s, which the operator does not register", p.Title, name)
				}
			}
		}
	}
	for _, name := range []string{"dittofs_operator_dittoshare_used_bytes", "dittofs_operator_dittoshare_quota_bytes", "kubelet_volume_stats_available_bytes", "dittofs_operator_dittoserver_condition"} {
		if !read[name] {
			t.Errorf("no panel of %s reads %s", dashboard, name)
		}
	}
	t.Logf("%d panels, %d queries", len(d.Panels), queries)
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlFunctions = regexp.MustCompile(`^\s*\(`)
	promqlKeywords  = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}
)

// metricNames are the metric names a PromQL expression reads: identifiers
// that are neither functions, aggregations, keywords nor label names.
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promqlIdent.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		if loc[0] > 0 && (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9' || e[loc[0]-1] == '.') {
			continue // a unit of a number (1e3) or a duration
		}
		if promqlFunctions.MatchString(e[loc[1]:]) || slices.Contains(promqlKeywords, strings.ToLower(name)) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func TestMetricNamesOfPromQL(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (namespace, name) (dittofs_operator_dittoserver_condition{type="Ready",status="False"}) > 0`:                                  {"dittofs_operator_dittoserver_condition"},
		`rate(controller_runtime_reconcile_errors_total{controller="dittoservers"}[5m]) / rate(controller_runtime_reconcile_total[5m]) > 0.1`: {"controller_runtime_reconcile_errors_total", "controller_runtime_reconcile_total"},
		`histogram_quantile(0.99, sum without (instance) (rate(workqueue_queue_duration_seconds_bucket[10m]))) > 1e3`:                         {"workqueue_queue_duration_seconds_bucket"},
		`max(leader_election_master_status) == 0 unless on () absent(up)`:                                                                     {"leader_election_master_status", "up"},
		`predict_linear(kubelet_volume_stats_available_bytes{persistentvolumeclaim=~"a-.+-0"}[6h], 24 * 3600) < 0`:                            {"kubelet_volume_stats_available_bytes"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// The live heap, the figure the memory limit is sized by, is served.
func TestLiveHeapIsServed(t *testing.T) {
	if !registered(t)["go_gc_heap_live_bytes"] {
		t.Error("go_gc_heap_live_bytes is not registered")
	}
}
