package dfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// LockPath is the machine-wide lock that serializes dfs processes (the
// server's NFS and SMB ports are fixed).
var LockPath = filepath.Join(os.TempDir(), "dittofs-operator-dfs.lock")

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and its exit code.
func (p *Process) Exited() (exitCode int, exited bool) {
	select {
	case <-p.done:
		return p.exitCode(), true
	default:
		return 0, false
	}
}

// Wait waits up to timeout for the process to exit by itself and returns its
// exit code (128+signal when killed by a signal, like a container runtime).
func (p *Process) Wait(timeout time.Duration) (exitCode int, exited bool) {
	select {
	case <-p.done:
		return p.exitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Stop sends sig to the process and waits up to timeout for it to exit. When
// the timeout passes, the process is killed (SIGKILL, as the kubelet does after
// terminationGracePeriodSeconds) and an error is returned. elapsed is the time
// from the signal to the exit. The machine-wide lock is released on exit.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) (exitCode int, elapsed time.Duration, err error) {
	select {
	case <-p.done:
		p.release()
		return p.exitCode(), 0, fmt.Errorf("dfs: process %d had already exited", p.PID)
	default:
	}
	sent := time.Now()
	if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return 0, 0, fmt.Errorf("dfs: kill %d: %w", p.PID, err)
	}
	select {
	case <-p.done:
		err = nil
	case <-time.After(timeout):
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
		<-p.done
		err = fmt.Errorf("dfs: process %d did not exit within %s after %s; killed", p.PID, timeout, sig)
	}
	elapsed = p.exited.Sub(sent)
	p.release()
	return p.exitCode(), elapsed, err
}

// Close kills the process if it still runs (by PID), waits for it, releases
// the lock and removes the scratch directory. Safe to call more than once.
func (p *Process) Close() {
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
			}
		}
	}
	p.cleanup()
}

// Logs returns everything the process wrote to stdout and stderr so far.
func (p *Process) Logs() string { return p.logs.String() }

// Root returns the host path of the container's root mountpoint. It is an
// empty directory on the host: the root exists only in the process's mount
// namespace (see /proc/<PID>/root).
func (p *Process) Root() string { return filepath.Join(p.workDir, "root") }

func (p *Process) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		return -1
	}
	return 0
}

func (p *Process) release() {
	p.lockOnce.Do(func() {
		if p.lock != nil {
			_ = syscall.Flock(int(p.lock.Fd()), syscall.LOCK_UN)
			_ = p.lock.Close()
		}
	})
}

func (p *Process) cleanup() {
	p.once.Do(func() {
		p.release()
		if p.workDir == "" {
			return
		}
		// The container root is mounted only inside the (now gone) mount
		// namespace; never remove through a mount that is visible here.
		root := filepath.Join(p.workDir, "root")
		if isMountPoint(root) {
			return
		}
		_ = os.RemoveAll(p.workDir)
	})
}

func isMountPoint(dir string) bool {
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &a) != nil || syscall.Stat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

func acquireLock(ctx context.Context, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("dfs: lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("dfs: lock %s: %w", LockPath, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, fmt.Errorf("dfs: another dfs process held %s for %s", LockPath, timeout)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
