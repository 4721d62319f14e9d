package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler fetches Go profiles from the operator (run with --profiling) into
// a directory: a CPU profile of the operator's pass from the first create,
// and a heap profile of the converged operator. A nil profiler does nothing.
type profiler struct {
	dir        string
	metrics    string // the operator's metrics address, which serves them
	cpuSeconds int
	cpuDone    chan error
}

func newProfiler(cfg config, e *env) *profiler {
	if cfg.profileDir == "" {
		return nil
	}
	return &profiler{dir: cfg.profileDir, metrics: e.op.MetricsAddr, cpuSeconds: int(cfg.profileCPU.Seconds())}
}

// startCPU starts the CPU profile in the background.
func (p *profiler) startCPU(ctx context.Context) {
	if p == nil {
		return
	}
	p.cpuDone = make(chan error, 1)
	go func() {
		p.cpuDone <- p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", p.cpuSeconds), "cpu.pprof")
	}()
}

// heap writes the heap profile into file, after a forced collection (the
// live objects, by allocation site), and reports how the CPU profile went if
// it has ended.
func (p *profiler) heap(ctx context.Context, file string) {
	if p == nil {
		return
	}
	select {
	case err := <-p.cpuDone:
		if err != nil {
			logf("CPU profile: %v", err)
		}
	default:
	}
	if err := p.fetch(ctx, "/debug/pprof/heap?gc=1", file); err != nil {
		logf("heap profile: %v", err)
	}
}

func (p *profiler) fetch(ctx context.Context, path, file string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.cpuSeconds)*time.Second+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metrics+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	out := filepath.Join(p.dir, file)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("GET %s: %w", path, err)
	}
	logf("wrote %s", out)
	return f.Close()
}
