package operator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// Options start the operator binary.
type Options struct {
	// Binary is the operator binary (bin/dittofs-operator).
	Binary string
	// Kubeconfig of the cluster.
	Kubeconfig string
	// Args are extra flags, e.g. --resync-period=20s or --leader-elect=true.
	// Without --leader-elect in Args, leader election is off.
	Args []string
	// Env is added to the environment the operator inherits (NAME=value),
	// e.g. POD_NAMESPACE as a Deployment sets it.
	Env []string
	// Log receives the operator's output (os.Stderr in `make run`); the last
	// lines are also kept for Logs().
	Log io.Writer
}

// Process is a running operator.
type Process struct {
	PID         int
	HealthAddr  string
	MetricsAddr string

	proc *proc.Process
	mu   sync.Mutex
	logs []string
}

// Start runs the operator with free loopback ports for health and metrics and
// waits until /readyz answers 200 (caches synced).
func Start(ctx context.Context, opts Options) (*Process, error) {
	ports, err := proc.FreePorts(2)
	if err != nil {
		return nil, err
	}
	p := &Process{
		HealthAddr:  "127.0.0.1:" + strconv.Itoa(ports[0]),
		MetricsAddr: "127.0.0.1:" + strconv.Itoa(ports[1]),
	}
	args := []string{"--kubeconfig", opts.Kubeconfig,
		"--health-probe-bind-address", p.HealthAddr, "--metrics-bind-address", p.MetricsAddr}
	if !hasFlag(opts.Args, "--leader-elect") {
		args = append(args, "--leader-elect=false")
	}
	args = append(args, opts.Args...)
	cmd := exec.Command(opts.Binary, args...)
	if len(opts.Env) > 0 {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	// The operator dies with the test binary; its own process group keeps a
	// terminal's Ctrl-C from reaching it before Stop does.
	if p.proc, err = proc.Start(cmd, func() { _ = pw.Close() }); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Binary, err)
	}
	p.PID = p.proc.PID
	go p.copyLogs(pr, opts.Log)
	if err := p.waitReady(ctx, time.Minute); err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("operator not ready: %w\n%s", err, p.Logs())
	}
	return p, nil
}

func (p *Process) copyLogs(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if w != nil {
			_, _ = fmt.Fprintln(w, line)
		}
		p.mu.Lock()
		p.logs = append(p.logs, line)
		if len(p.logs) > 5000 {
			p.logs = p.logs[len(p.logs)-4000:]
		}
		p.mu.Unlock()
	}
}

// Logs returns the operator's recent output.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.proc.Done():
			return fmt.Errorf("operator exited: %v", p.proc.Err())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get("http://" + p.HealthAddr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("timed out waiting for /readyz")
}

// Get fetches a path (/healthz, /readyz, /metrics) from the operator.
func (p *Process) Get(path string) (int, string, error) {
	addr := p.HealthAddr
	if path == "/metrics" {
		addr = p.MetricsAddr
	}
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Metric returns the sum of the samples of a metric family in /metrics whose
// labels contain every given label (e.g. `result="error"`); 0 when absent.
func (p *Process) Metric(name string, labels ...string) (float64, error) {
	_, body, err := p.Get("/metrics")
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, nil
}

// RSS is the operator's resident memory in bytes.
func (p *Process) RSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("VmRSS not found")
}

// Done is closed when the operator exits.
func (p *Process) Done() <-chan struct{} { return p.proc.Done() }

// ExitCode is the exit status after Done, or -1 (also when a signal ended
// the operator).
func (p *Process) ExitCode() int {
	if p.proc.Signaled() {
		return -1
	}
	return p.proc.ExitCode()
}

// Signal sends sig to the operator; after its exit it does nothing.
func (p *Process) Signal(sig syscall.Signal) error { return p.proc.Signal(sig) }

// Stop sends SIGTERM, waits up to timeout, then kills. It returns the exit
// code (-1 when killed) and is safe to call more than once.
func (p *Process) Stop(timeout time.Duration) int {
	if err := p.proc.Stop(syscall.SIGTERM, timeout); err != nil {
		return -1
	}
	return p.ExitCode()
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}
