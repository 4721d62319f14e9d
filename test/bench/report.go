package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// row is one line of the summary: a figure, its target and what the
// controller-runtime implementation of the same operator measured (issue 6).
type row struct {
	what, value, target, baseline string
	ok                            *bool
}

func check(ok bool) *bool { return &ok }

func summaryRows(r *Result) []row {
	lat := r.Latency.MedianMs
	return []row{
		{"create N DittoServers", fmt.Sprintf("%.2f s", r.Create.Seconds), "", "", nil},
		{"first status shown, median / last", fmt.Sprintf("%.2f / %.2f s",
			r.Convergence.FirstStatus.MedianSeconds, r.Convergence.FirstStatus.LastSeconds), "", "", nil},
		{"StatefulSets created (operator), median / last", fmt.Sprintf("%.2f / %.2f s",
			r.Convergence.StatefulSetCreated.MedianSeconds, r.Convergence.StatefulSetCreated.LastSeconds), "", "", nil},
		{"StatefulSets available (control plane), median / last", fmt.Sprintf("%.2f / %.2f s",
			r.Convergence.StatefulSetAvailable.MedianSeconds, r.Convergence.StatefulSetAvailable.LastSeconds), "", "", nil},
		{"claims per DittoServer", fmt.Sprintf("%.2f", r.Claims.ClaimsPerServer), "≤ 2", "", check(r.Claims.ClaimsPerServer <= 2)},
		{"scheduler FailedScheduling events", fmt.Sprint(r.Claims.FailedScheduling), "", "", nil},
		{"converged, median", fmt.Sprintf("%.2f s", r.Convergence.MedianSeconds), "", "", nil},
		{"converged, last", fmt.Sprintf("%.2f s", r.Convergence.LastSeconds), "≤ 10 s", "20–24 s",
			check(r.Convergence.LastSeconds <= 10)},
		{"requests/DittoServer until converged", fmt.Sprintf("%.2f", r.Requests.UntilConvergedPerDS), "", "15", nil},
		{"requests/DittoServer until quiet", fmt.Sprintf("%.2f", r.Requests.UntilQuietPerDS), "≤ 10", "29–34",
			check(r.Requests.UntilQuietPerDS <= 10)},
		{"steady-state writes", fmt.Sprint(r.Steady.Writes), "0", "", check(r.Steady.Writes == 0)},
		{"steady-state events", fmt.Sprint(r.Steady.Events), "0", "", check(r.Steady.Events == 0)},
		{"RSS converged", fmt.Sprintf("%.1f MiB", r.Memory.ConvergedRSSMiB), "≤ 40 MB", "70 MB",
			check(r.Memory.ConvergedRSSMiB*1.048576 <= 40)},
		{"RSS added by unrelated objects", fmt.Sprintf("%+.1f MiB", r.Memory.DeltaMiB), "≤ 3 MB", "+32 MB",
			check(r.Memory.DeltaMiB*1.048576 <= 3)},
		{"spec edit → StatefulSet, median", fmt.Sprintf("%.1f ms", lat), "≤ 25 ms", "23 ms",
			check(len(r.Latency.SamplesMs) > 0 && lat <= 25)},
		{"reconcile errors", fmt.Sprintf("%.0f", r.Errors.ReconcileErrors), "0", "", check(r.Errors.ReconcileErrors == 0)},
		{"409 conflicts", fmt.Sprintf("%.0f", r.Errors.Conflicts), "0", "", check(r.Errors.Conflicts == 0)},
		{"operator Warning events", fmt.Sprint(r.Errors.OperatorWarnings), "0", "", check(r.Errors.OperatorWarnings == 0)},
	}
}

// printReport writes the human-readable tables. Best effort: the figures are
// also written to the JSON result, whose write is checked.
//
//nolint:errcheck // a failed write to the terminal has nowhere better to go
func printReport(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\nDittoFS operator benchmark — %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %d cores, %s, %d MiB, %s, %s; load average %.2f before, %.2f when converged\n", r.Machine.Cores,
		r.Machine.CPU, r.Machine.MemoryMiB, r.Machine.OS, r.Machine.GoVersion, r.Machine.LoadAvg[0], r.Machine.LoadAvg[1])
	fmt.Fprintf(w, "cluster: kube-apiserver %s (local, kwok node, fast pods: %v); N = %d DittoServers\n", r.KubeVersion, r.FastPods, r.N)
	fmt.Fprintf(w, "operator flags: %s (everything else default)\n\n", strings.Join(r.OperatorArgs, " "))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tcontroller-runtime\t")
	for _, x := range summaryRows(r) {
		mark := ""
		if x.ok != nil {
			mark = "ok"
			if !*x.ok {
				mark = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.what, x.value, x.target, x.baseline, mark)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nrequests by the operator (from the audit log; %d more before the first create: initial lists and watches)\n",
		r.Requests.StartupRequests)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\tuntil converged\tper DS\tuntil quiet\tper DS\tsteady state\t")
	n := float64(r.N)
	for _, k := range unionKeys(r.Requests.UntilConverged, r.Requests.UntilQuiet, r.Steady.Requests) {
		c, q := r.Requests.UntilConverged[k], r.Requests.UntilQuiet[k]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%d\t%.2f\t%d\t\n", k, c, float64(c)/n, q, float64(q)/n, r.Steady.Requests[k])
	}
	fmt.Fprintf(tw, "total\t%d\t%.2f\t%d\t%.2f\t%d\t\n", r.Requests.UntilConvergedTotal, r.Requests.UntilConvergedPerDS,
		r.Requests.UntilQuietTotal, r.Requests.UntilQuietPerDS, r.Steady.Writes+r.Steady.Events)
	tw.Flush()
	fmt.Fprintf(w, "last request %.1f s after the first create; quiet window %.0f s; %.0f reconciles until quiet\n",
		r.Requests.QuietAfterSeconds, r.Requests.QuietWindowSeconds, r.Requests.ReconcilesUntilQuiet)
	if len(r.Requests.PassLatency) > 0 {
		keys := make([]string, 0, len(r.Requests.PassLatency))
		for k := range r.Requests.PassLatency {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			l := r.Requests.PassLatency[k]
			parts = append(parts, fmt.Sprintf("%s %.0f/%.0f (%d)", k, l.MedianMs, l.P90Ms, l.Count))
		}
		fmt.Fprintf(w, "API server time on the operator's requests during its pass, median/p90 ms (count): %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "steady state: %.0f s window, %.0f reconciles (resyncs), %d writes, %d events\n",
		r.Steady.WindowSeconds, r.Steady.Reconciles, r.Steady.Writes, r.Steady.Events)
	fmt.Fprintf(w, "memory: RSS idle %.1f MiB, converged %.1f MiB, after %d unrelated objects of %d bytes %.1f MiB; Go heap in use (lowest reading) %.1f / %.1f / %.1f MiB; operator requests meanwhile: %s\n",
		r.Memory.IdleRSSMiB, r.Memory.ConvergedRSSMiB, r.Memory.UnrelatedObjects, r.Memory.UnrelatedBytes, r.Memory.AfterUnrelatedRSSMiB,
		r.Memory.IdleHeapMiB, r.Memory.ConvergedHeapMiB, r.Memory.AfterUnrelatedHeap, formatCounts(r.Memory.RequestsDuring))
	fmt.Fprintf(w, "operator CPU: %.1f s until quiet (%.1f ms per DittoServer); %.1f s over the %.0f s steady-state window\n",
		r.CPU.UntilQuietSeconds, r.CPU.UntilQuietSeconds*1000/float64(max(r.N, 1)), r.CPU.SteadySeconds, r.CPU.SteadyWindowSeconds)
	fmt.Fprintf(w, "Go heap per DittoServer: %.1f KiB in use (lowest reading)", r.Memory.HeapPerDSKiB)
	if r.Memory.ConvergedLiveHeapMiB > 0 {
		fmt.Fprintf(w, "; live heap (go_gc_heap_live_bytes) idle %.1f MiB, converged %.1f MiB, after unrelated %.1f MiB: %.1f KiB per DittoServer",
			r.Memory.IdleLiveHeapMiB, r.Memory.ConvergedLiveHeapMiB, r.Memory.AfterUnrelatedLiveHeapMiB, r.Memory.LiveHeapPerDSKiB)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "latency samples (ms): %v\n", r.Latency.SamplesMs)
	fmt.Fprintf(w, "reconciles: %.0f success, %.0f waiting, %.0f error; failed operator requests: %s\n",
		r.Errors.ReconcileSuccess, r.Errors.ReconcileWaiting, r.Errors.ReconcileErrors, formatCounts(r.Errors.FailedRequests))
	fmt.Fprintf(w, "Warning events from other components: %s\n\n", formatCounts(r.Errors.OtherWarnings))
}

func unionKeys(ms ...map[string]int) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range unionKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// writeJSON writes the result to dir/bench-<date>.json.
func writeJSON(dir string, r *Result) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "bench-"+r.Date.Format("2006-01-02T15-04-05Z")+".json")
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}
