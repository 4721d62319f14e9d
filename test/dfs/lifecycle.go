package dfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// LockPath is the machine-wide lock that serializes dfs processes (the
// server's NFS and SMB ports are fixed).
var LockPath = filepath.Join(os.TempDir(), "dittofs-operator-dfs.lock")

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.proc.Done() }

// Exited reports whether the process has exited, and its exit code.
func (p *Process) Exited() (exitCode int, exited bool) {
	if !p.proc.Exited() {
		return 0, false
	}
	return p.proc.ExitCode(), true
}

// Wait waits up to timeout for the process to exit by itself and returns its
// exit code (128+signal when killed by a signal, like a container runtime).
func (p *Process) Wait(timeout time.Duration) (exitCode int, exited bool) {
	select {
	case <-p.proc.Done():
		return p.proc.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Stop sends sig to the process and waits up to timeout for it to exit. When
// the timeout passes, the process is killed (SIGKILL, as the kubelet does after
// terminationGracePeriodSeconds) and an error is returned. elapsed is the time
// from the signal to the exit. The machine-wide lock is released on exit.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) (exitCode int, elapsed time.Duration, err error) {
	if p.proc.Exited() {
		p.release()
		return p.proc.ExitCode(), 0, fmt.Errorf("dfs: process %d had already exited", p.PID)
	}
	sent := time.Now()
	if err = p.proc.Stop(sig, timeout); errors.Is(err, proc.ErrKilled) {
		err = fmt.Errorf("dfs: process %d did not exit within %s after %s; killed", p.PID, timeout, sig)
	} else if err != nil {
		return 0, 0, fmt.Errorf("dfs: stop: %w", err)
	}
	<-p.proc.Done()
	p.release()
	return p.proc.ExitCode(), p.proc.ExitedAt().Sub(sent), err
}

// Close kills the process if it still runs (by PID), waits for it, releases
// the lock and removes the scratch directory. Safe to call more than once.
func (p *Process) Close() {
	if p.proc != nil {
		_ = p.proc.Kill()
	}
	p.cleanup()
}

// Logs returns everything the process wrote to stdout and stderr so far.
func (p *Process) Logs() string { return p.logs.String() }

// Root returns the host path of the container's root mountpoint. It is an
// empty directory on the host: the root exists only in the process's mount
// namespace (see /proc/<PID>/root).
func (p *Process) Root() string { return filepath.Join(p.workDir, "root") }

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
