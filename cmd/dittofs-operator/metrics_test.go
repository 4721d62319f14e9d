package main

// docs/monitoring.md and docs/alerts.yaml cannot go stale: every metric the
// operator registers has a row in the document, and every metric an alert
// rule reads is one the operator registers.

import (
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
)

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
				if !names[name] && !names[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")] {
					t.Errorf("alert %s reads %s, which the operator does not register", r.Alert, name)
				}
			}
		}
	}
	if alerts == 0 {
		t.Errorf("%s holds no alert", alertRules)
	}
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
