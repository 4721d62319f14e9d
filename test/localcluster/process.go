package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// process is one control-plane child process, with its log file.
type process struct {
	name    string
	logPath string
	p       *proc.Process
}

// startProcess starts path with args (see proc.Start: it dies with this
// process and has its own process group). Output goes to dir/<name>.log and,
// when log is not nil, to log with a "[name] " prefix on every line.
func startProcess(name, path string, args []string, dir string, log io.Writer) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the log of %s: %w", name, err)
	}
	var out io.Writer = f
	if log != nil {
		out = io.MultiWriter(f, &prefixWriter{prefix: "[" + name + "] ", w: log})
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = os.Environ()
	p, err := proc.Start(cmd, func() { _ = f.Close() })
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &process{name: name, logPath: logPath, p: p}, nil
}

func (p *process) pid() int { return p.p.PID }

func (p *process) exited() bool { return p.p.Exited() }

// stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits again.
func (p *process) stop(grace time.Duration) error {
	if err := p.p.Stop(syscall.SIGTERM, grace); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	return nil
}

// tail returns the last n lines of the process log, for error messages.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	return proc.Tail(string(data), n)
}

// exitError describes an unexpected exit with the end of the process log.
func (p *process) exitError() error {
	var status error
	if p.p != nil {
		status = p.p.Err()
	}
	tail := p.tail(30)
	err := fmt.Errorf("%s exited: %v; last log lines (%s):\n%s", p.name, status, p.logPath, tail)
	if strings.Contains(tail, "address already in use") {
		return errors.Join(errPortInUse, err)
	}
	return err
}

// errPortInUse marks a component that could not bind its port.
var errPortInUse = errors.New("port already in use")

// prefixWriter prefixes every line written to w.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    []byte
}

func (pw *prefixWriter) Write(b []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.buf = append(pw.buf, b...)
	for {
		i := bytes.IndexByte(pw.buf, '\n')
		if i < 0 {
			break
		}
		line := make([]byte, 0, len(pw.prefix)+i+1)
		line = append(line, pw.prefix...)
		line = append(line, pw.buf[:i+1]...)
		pw.buf = pw.buf[i+1:]
		if _, err := pw.w.Write(line); err != nil {
			// The log destination is best effort; the file copy is complete.
			pw.buf = nil
			break
		}
	}
	return len(b), nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free when checked.
func FreePort() (int, error) { return proc.FreePort() }
