package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a parent that starts a child and
// then waits to be killed (see TestMain).
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

// runHelper starts `sleep 600` from a goroutine that locks its thread and
// returns without unlocking it, so that the Go runtime ends that thread,
// prints the child's PID and waits to be killed.
func runHelper() int {
	// The runtime never ends the main thread; keep the starting goroutine
	// off it so that its thread really ends.
	runtime.LockOSThread()
	started := make(chan *Process)
	go func() {
		runtime.LockOSThread() // never unlocked: the runtime ends this thread on return
		p, err := Start(exec.Command("sleep", "600"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		started <- p
	}()
	p := <-started
	time.Sleep(300 * time.Millisecond) // let the runtime end the starting thread
	alive := syscall.Kill(p.PID, 0) == nil && !p.Exited()
	fmt.Printf("pid %d alive %t\n", p.PID, alive)
	select {}
}

// A child outlives the thread that asked for it and dies with its parent.
func TestChildDiesWithParentOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parent := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), helperEnv+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = parent.Process.Kill()
		_ = parent.Wait()
		t.Fatalf("read the helper's report: %v", err)
	}
	var pid int
	var alive bool
	if _, err := fmt.Sscanf(line, "pid %d alive %t", &pid, &alive); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	if !alive {
		t.Errorf("the child (pid %d) died when the thread that started it ended", pid)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the child (pid %d) outlived its killed parent", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running tells whether pid is a live process (not a zombie awaiting its
// new parent's wait).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestStopEndsAChildThatHonoursTheSignal(t *testing.T) {
	p, err := Start(exec.Command("sleep", "600"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Exited() || p.ExitCode() != -1 {
		t.Fatalf("a running child reports Exited %t, ExitCode %d", p.Exited(), p.ExitCode())
	}
	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if code := p.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("ExitCode() = %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if !p.Signaled() || p.ExitedAt().Before(p.Started) {
		t.Errorf("Signaled() = %t, ExitedAt %v before Started %v", p.Signaled(), p.ExitedAt(), p.Started)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrExited) {
		t.Errorf("a signal after the exit: %v, want ErrExited (the PID may be reused)", err)
	}
	if err := p.Stop(syscall.SIGTERM, time.Second); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func TestStopKillsAChildThatIgnoresTheSignal(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
	var out Buffer
	cmd.Stdout = &out
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "ready") {
		time.Sleep(20 * time.Millisecond)
	}
	err = p.Stop(syscall.SIGTERM, 300*time.Millisecond)
	if !errors.Is(err, ErrKilled) {
		t.Fatalf("Stop: %v, want ErrKilled", err)
	}
	if code := p.ExitCode(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("ExitCode() = %d, want %d", code, 128+int(syscall.SIGKILL))
	}
}

func TestRunReportsTheExitStatus(t *testing.T) {
	if err := Run(exec.Command("true")); err != nil {
		t.Errorf("Run(true): %v", err)
	}
	var ee *exec.ExitError
	if err := Run(exec.Command("sh", "-c", "exit 3")); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Run(exit 3) = %v, want exit status 3", err)
	}
}

func TestStartKeepsOtherProcessAttributes(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 0")
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), NoSetGroups: true}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	a := cmd.SysProcAttr
	if a.Credential != cred || !a.Setpgid || a.Pdeathsig != syscall.SIGKILL {
		t.Errorf("SysProcAttr = %+v, want the Credential kept, Setpgid and Pdeathsig SIGKILL added", a)
	}
}

func TestFreePortsAreDistinctAndBindable(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d handed out twice in %v", p, ports)
		}
		seen[p] = true
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		_ = l.Close()
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	for _, tc := range []struct {
		output string
		n      int
		want   string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb", 5, "a\nb"},
		{"", 3, ""},
	} {
		if got := Tail(tc.output, tc.n); got != tc.want {
			t.Errorf("Tail(%q, %d) = %q, want %q", tc.output, tc.n, got, tc.want)
		}
	}
}
