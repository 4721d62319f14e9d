package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller"
)

// measure runs the seven measurements in order, filling res as it goes.
func measure(ctx context.Context, cfg config, e *env, res *Result) error {
	conv, err := newConvergence(ctx, e.kube, e.ditto, cfg.n, cfg.trace)
	if err != nil {
		return err
	}
	if err := warmUp(ctx, e.ditto); err != nil {
		return err
	}
	if err := e.audit.poll(); err != nil {
		return err
	}
	if res.Memory.IdleRSSMiB, res.Memory.IdleHeapMiB, res.Memory.IdleLiveHeapMiB, err = memory(ctx, e); err != nil {
		return err
	}
	prof := newProfiler(cfg, e)
	prof.heap(ctx, "heap-idle.pprof")

	// 1. Create.
	res.Machine.LoadAvg[0] = loadAvg()
	cpu0, err := e.op.Metric("process_cpu_seconds_total")
	if err != nil {
		return err
	}
	t0 := time.Now()
	conv.setStart(t0)
	prof.startCPU(ctx)
	res.Requests.StartupRequests = len(e.audit.requests(time.Time{}, t0))
	logf("creating %d DittoServers", cfg.n)
	if err := createServers(ctx, e.ditto, cfg.n); err != nil {
		return err
	}
	res.Create.Seconds = seconds(time.Since(t0))
	logf("created %d DittoServers in %.2fs", cfg.n, res.Create.Seconds)

	// 2. Convergence.
	if err := conv.wait(ctx, t0); err != nil {
		return err
	}
	res.Machine.LoadAvg[1] = loadAvg()
	durs := conv.durations(t0)
	res.Convergence = ConvergenceResult{
		MedianSeconds: seconds(median(durs)),
		LastSeconds:   seconds(durs[len(durs)-1]),
		P90Seconds:    seconds(durs[(len(durs)*9+9)/10-1]),

		FirstStatus:          spread(conv.since(conv.firstStatus, t0)),
		StatefulSetCreated:   spread(conv.since(conv.stsCreated, t0)),
		StatefulSetAvailable: spread(conv.since(conv.stsAvailable, t0)),
	}
	convergedAt := t0.Add(durs[len(durs)-1])
	logf("converged: median %.2fs, last %.2fs (first status: %.2fs/%.2fs, StatefulSets created: %.2fs/%.2fs, available: %.2fs/%.2fs)",
		res.Convergence.MedianSeconds, res.Convergence.LastSeconds,
		res.Convergence.FirstStatus.MedianSeconds, res.Convergence.FirstStatus.LastSeconds,
		res.Convergence.StatefulSetCreated.MedianSeconds, res.Convergence.StatefulSetCreated.LastSeconds,
		res.Convergence.StatefulSetAvailable.MedianSeconds, res.Convergence.StatefulSetAvailable.LastSeconds)

	// 3. Requests until converged and until quiet.
	lastReq, quietAt, err := waitQuiet(ctx, e, t0, cfg.quiet)
	if err != nil {
		return err
	}
	upTo := func(t time.Time) time.Time { return t.Add(time.Nanosecond) }
	untilConverged := e.audit.requests(t0, upTo(convergedAt))
	quiet := e.audit.requests(t0, upTo(lastReq))
	n := float64(cfg.n)
	res.Requests.UntilConverged, res.Requests.UntilConvergedTotal = countByKey(untilConverged), len(untilConverged)
	res.Requests.UntilConvergedPerDS = round(float64(len(untilConverged))/n, 2)
	res.Requests.UntilQuiet, res.Requests.UntilQuietTotal = countByKey(quiet), len(quiet)
	res.Requests.UntilQuietPerDS = round(float64(len(quiet))/n, 2)
	res.Requests.QuietAfterSeconds = seconds(lastReq.Sub(t0))
	if sts := conv.since(conv.stsCreated, t0); len(sts) > 0 {
		res.Requests.PassLatency = latencyByKey(e.audit.requests(t0, upTo(t0.Add(sts[len(sts)-1]))))
	}
	res.Requests.QuietWindowSeconds = cfg.quiet.Seconds()
	if res.Requests.ReconcilesUntilQuiet, err = e.op.Metric("dittofs_operator_reconcile_total"); err != nil {
		return err
	}
	cpuQuiet, err := e.op.Metric("process_cpu_seconds_total")
	if err != nil {
		return err
	}
	res.CPU.UntilQuietSeconds = round(cpuQuiet-cpu0, 2)
	logf("quiet %.1fs after the first create: %.2f requests per DittoServer until converged, %.2f until quiet",
		res.Requests.QuietAfterSeconds, res.Requests.UntilConvergedPerDS, res.Requests.UntilQuietPerDS)

	// 4. Steady state: two resync periods after quiet.
	end := quietAt.Add(2 * cfg.resync)
	logf("steady state: watching until %s (two resync periods of %s)", end.Format("15:04:05"), cfg.resync)
	if err := sleepUntil(ctx, end.Add(time.Second)); err != nil {
		return err
	}
	if err := e.audit.poll(); err != nil {
		return err
	}
	steady := e.audit.requests(upTo(lastReq), end)
	res.Steady = SteadyResult{WindowSeconds: seconds(end.Sub(lastReq)), Requests: countByKey(steady)}
	for _, ev := range steady {
		if isEvent(ev) {
			res.Steady.Events++
		} else if isWrite(ev) {
			res.Steady.Writes++
		}
	}
	reconciles, err := e.op.Metric("dittofs_operator_reconcile_total")
	if err != nil {
		return err
	}
	res.Steady.Reconciles = reconciles - res.Requests.ReconcilesUntilQuiet
	cpuSteady, err := e.op.Metric("process_cpu_seconds_total")
	if err != nil {
		return err
	}
	res.CPU.SteadySeconds, res.CPU.SteadyWindowSeconds = round(cpuSteady-cpuQuiet, 2), seconds(time.Since(quietAt))
	logf("steady state: %d writes, %d events, %.0f reconciles", res.Steady.Writes, res.Steady.Events, res.Steady.Reconciles)

	// 5. Memory.
	if err := measureMemory(ctx, cfg, e, res, prof); err != nil {
		return err
	}

	// 6. Latency of a spec edit.
	lat, err := measureEditLatency(ctx, e, serverName(0), cfg.edits)
	for _, d := range lat {
		res.Latency.SamplesMs = append(res.Latency.SamplesMs, ms(d))
	}
	res.Latency.MedianMs = ms(median(sortedCopy(lat)))
	if err != nil {
		return err
	}
	logf("spec edit → StatefulSet template: median %.1f ms over %d edits", res.Latency.MedianMs, len(lat))

	// 7. Errors over the whole run, and what the claims cost the scheduler.
	if err := measureErrors(ctx, e, res); err != nil {
		return err
	}
	return measureClaims(ctx, e, cfg.n, res)
}

// waitQuiet waits until the operator has made no request for quiet, reading
// the audit log once a second. It returns when the last request arrived and
// when the quiet period was confirmed.
func waitQuiet(ctx context.Context, e *env, since time.Time, quiet time.Duration) (last, confirmed time.Time, err error) {
	deadline := time.Now().Add(10*time.Minute + quiet)
	for {
		if err := e.audit.poll(); err != nil {
			return last, confirmed, err
		}
		last = e.audit.lastRequest()
		if last.Before(since) {
			last = since
		}
		now := time.Now()
		if now.Sub(last) >= quiet {
			return last, now, nil
		}
		if now.After(deadline) {
			return last, now, fmt.Errorf("the operator never went quiet for %s (last request %s)", quiet, last.Format(time.RFC3339Nano))
		}
		if err := sleepUntil(ctx, now.Add(time.Second)); err != nil {
			return last, now, err
		}
	}
}

// measureErrors reads the operator's counters, its failed requests and the
// Warning events of the bench namespace.
func measureErrors(ctx context.Context, e *env, res *Result) error {
	var err error
	r := &res.Errors
	for _, m := range []struct {
		into   *float64
		name   string
		labels []string
	}{
		{&r.ReconcileErrors, "dittofs_operator_reconcile_total", []string{`result="error"`}},
		{&r.ReconcileWaiting, "dittofs_operator_reconcile_total", []string{`result="waiting"`}},
		{&r.ReconcileSuccess, "dittofs_operator_reconcile_total", []string{`result="success"`}},
		{&r.Conflicts, "dittofs_operator_conflicts_total", nil},
	} {
		if *m.into, err = e.op.Metric(m.name, m.labels...); err != nil {
			return err
		}
	}
	if err := e.audit.poll(); err != nil {
		return err
	}
	r.FailedRequests = failedByCode(e.audit.requests(time.Time{}, time.Now().Add(time.Hour)))

	events, err := e.kube.CoreV1().Events(benchNamespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return err
	}
	r.OtherWarnings = map[string]int{}
	for _, ev := range events.Items {
		count := eventCount(ev)
		if ev.Source.Component == controller.EventComponent || ev.ReportingController == controller.EventComponent {
			r.OperatorWarnings += count
			logf("operator Warning event: %s %s: %s", ev.InvolvedObject.Name, ev.Reason, ev.Message)
			continue
		}
		// events.k8s.io events (the scheduler's) name their reporter in
		// reportingController, core/v1 recorders in source.component.
		component := ev.Source.Component
		if component == "" {
			component = ev.ReportingController
		}
		r.OtherWarnings[component+" "+ev.Reason] += count
	}
	logf("errors: %.0f reconcile errors, %.0f conflicts, %d operator Warning events", r.ReconcileErrors, r.Conflicts, r.OperatorWarnings)
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-time.After(time.Until(t)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
