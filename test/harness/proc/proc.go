// Package proc starts the child processes of the test harnesses (control
// plane, operator, dfs, PostgreSQL) so that none can outlive the test binary,
// and stops them by PID.
//
// Every child gets SIGKILL from the kernel when its parent dies
// (Pdeathsig) and runs in its own process group, so a terminal's Ctrl-C
// reaches only the test, which then stops its children in order. The kernel
// sends Pdeathsig when the thread that forked the child exits, not only when
// the whole process does, and the Go runtime may end a thread that a
// goroutine locked and did not unlock; so every child is forked from one
// goroutine locked to its thread for the life of the process.
package proc

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Process is a started child process. Its exit is reaped by Start's own
// goroutine; no caller may call the command's Wait.
type Process struct {
	// PID is the process id of the child.
	PID int
	// Started is when the child was started.
	Started time.Time

	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	exitedAt time.Time
}

// Start starts cmd as a child that dies with this process (Pdeathsig
// SIGKILL, forked from the locked spawner thread) in its own process group.
// Other fields of cmd.SysProcAttr (Credential, Unshareflags, ...) are kept.
// onExit, when given, run after the child has exited and was reaped, before
// Done is closed.
func Start(cmd *exec.Cmd, onExit ...func()) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	if err := startOnSpawner(cmd); err != nil {
		return nil, err
	}
	p := &Process{PID: cmd.Process.Pid, Started: time.Now(), cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.err, p.exitedAt = err, time.Now()
		for _, f := range onExit {
			f()
		}
		close(p.done)
	}()
	return p, nil
}

// Run starts cmd like Start and waits for it: for short commands (initdb,
// scripts) that must not outlive the test either.
func Run(cmd *exec.Cmd) error {
	p, err := Start(cmd)
	if err != nil {
		return err
	}
	<-p.done
	return p.err
}

var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnReqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnReqs <- spawnReq{cmd: cmd, done: done}
	return <-done
}

// Done is closed when the child has exited and was reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the exit status as exec.Cmd.Wait returned it; nil before the exit.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ExitedAt is when the child was reaped; zero before the exit.
func (p *Process) ExitedAt() time.Time {
	if !p.Exited() {
		return time.Time{}
	}
	return p.exitedAt
}

// ExitCode is the exit status as a container runtime reports it (128+signal
// when a signal ended the child); -1 before the exit.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signaled reports whether a signal ended the child.
func (p *Process) Signaled() bool {
	if !p.Exited() {
		return false
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// Signal sends sig to the child by PID. After the exit it does nothing and
// returns ErrExited: the PID may belong to another process by then.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return ErrExited
	}
	if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill -%d %d: %w", sig, p.PID, err)
	}
	return nil
}

// ErrExited is returned for a signal to a child that has already exited.
var ErrExited = errors.New("process already exited")

// ErrKilled is wrapped by Stop's error when the child had to be killed.
var ErrKilled = errors.New("killed after the grace period")

// killWait bounds the wait for the exit after SIGKILL (a process in
// uninterruptible sleep takes a moment to go).
const killWait = 30 * time.Second

// Stop sends sig, waits up to grace for the child to exit, then sends
// SIGKILL and waits again. It returns nil when the child exited within
// grace (or had already exited), an error wrapping ErrKilled when it was
// killed, and another error when it did not exit even then. Safe to call
// more than once.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) error {
	if err := p.Signal(sig); errors.Is(err, ErrExited) {
		return nil
	} else if err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("pid %d ignored %s for %s: %w", p.PID, sig, grace, ErrKilled)
}

// Kill sends SIGKILL and waits for the exit. It returns nil once the child
// is gone (also when it already was), an error when it is not.
func (p *Process) Kill() error {
	if errors.Is(p.Signal(syscall.SIGKILL), ErrExited) {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("pid %d did not exit %s after SIGKILL", p.PID, killWait)
	}
}
