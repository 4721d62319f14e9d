// Package dfs runs the real DittoFS server (the dfs binary) the way a pod runs
// it, so that what the operator renders (config.yaml, env, command, args,
// volumes, probes) can be checked against the real server.
//
// The server runs in a private mount namespace (CLONE_NEWNS, propagation
// private) whose root is a fresh tmpfs entered with chroot: it holds the
// host's /usr, /dev, /proc and /sys (recursive bind mounts), a small /etc
// (host name-resolution files plus an /etc/passwd entry for the image's
// "dittofs" user 65532 with home /app), an empty /tmp, and /app. The container
// command path (/app/dfs) is a read-only bind mount of the real binary; every
// entry of Options.Mounts is a bind mount of its host directory at its
// container path; every entry of Options.Files is a read-only bind mount of a
// staged copy, as a ConfigMap or Secret volume would project it. Paths are
// therefore exactly those of the pod: nothing is rewritten, and no directory is
// created in the host's root filesystem. The process drops to UID/GID (default
// 65532, as the image runs) with setpriv, after the mounts are in place, with
// FSGroup as a supplementary group; the host directories of Options.Mounts are
// made group-owned and group-writable by FSGroup, as fsGroup would.
//
// The network namespace is the host's (the test binary probes 127.0.0.1). The
// server's NFS (12049) and SMB (1445) listeners are fixed by the server, so at
// most one dfs process may run on the machine at a time: Start takes a
// machine-wide file lock that is released when the process has exited.
//
// PodOptions builds Options from a pod spec (a StatefulSet's template) and the
// ConfigMaps/Secrets it references; Process.RunProbe runs its declared probes.
// Binary (or hack/build-dfs.sh) provides the real binary.
//
// Everything here requires root (mount namespaces, chroot, setpriv).
package dfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// DefaultUID and DefaultGID are the user and group the DittoFS image runs as.
const (
	DefaultUID = 65532
	DefaultGID = 65532
)

// ContainerCommand is the entrypoint of the DittoFS image.
const ContainerCommand = "/app/dfs"

// Options describes one container run.
type Options struct {
	// Binary is the host path of the dfs binary. Required.
	Binary string
	// Command is the container command; default [ContainerCommand]. Its first
	// element is the path, inside the container, at which Binary is mounted.
	Command []string
	// Args are the container args (e.g. start --foreground --config /config/config.yaml).
	Args []string
	// Env is the resolved container environment (values already taken from
	// Secrets/ConfigMaps). PATH and HOME are set as in the image unless given.
	Env map[string]string
	// Files maps a container path (e.g. /config/config.yaml) to its content;
	// each is mounted read-only, mode 0644, owned by root. A file inside one
	// of Mounts gets an empty mountpoint file created in that host directory.
	Files map[string][]byte
	// Mounts maps a container path (e.g. /data/metadata) to a host directory,
	// which is created when missing.
	Mounts map[string]string
	// UID and GID the process runs as; 0 means 65532.
	UID, GID int
	// FSGroup is added as a supplementary group and owns the Mounts
	// directories; 0 means GID.
	FSGroup int
	// WorkingDir inside the container; default /app (the image's WORKDIR).
	WorkingDir string
	// Hostname, when set, is the process's host name (own UTS namespace).
	Hostname string
	// Log receives the process's stdout and stderr (optional); they are also
	// kept in memory, see Process.Logs.
	Log io.Writer
	// LockTimeout bounds the wait for another dfs process to exit; default 5m.
	LockTimeout time.Duration
}

// Process is a running dfs server.
type Process struct {
	// PID is the dfs process id (on the host).
	PID int
	// Started is when the process was started.
	Started time.Time

	proc    *proc.Process
	workDir string
	logs    *proc.Buffer
	lock    *os.File

	once     sync.Once
	lockOnce sync.Once
}

// Start launches dfs as described by opts and returns without waiting for it
// to serve (probe it, e.g. with Process.RunProbe or WaitHTTP). ctx bounds only
// the wait for the machine-wide lock. The caller must Close the process.
func Start(ctx context.Context, opts Options) (*Process, error) {
	if opts.Binary == "" {
		return nil, errors.New("dfs: Options.Binary is required")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("dfs: the harness needs root (mount namespace, chroot, setpriv)")
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("dfs: binary: %w", err)
	}
	if len(opts.Command) == 0 {
		opts.Command = []string{ContainerCommand}
	}
	if opts.UID == 0 {
		opts.UID = DefaultUID
	}
	if opts.GID == 0 {
		opts.GID = DefaultGID
	}
	if opts.FSGroup == 0 {
		opts.FSGroup = opts.GID
	}
	if opts.WorkingDir == "" {
		opts.WorkingDir = "/app"
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 5 * time.Minute
	}
	if err := checkContainerPaths(opts); err != nil {
		return nil, err
	}

	lock, err := acquireLock(ctx, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	p := &Process{lock: lock, logs: &proc.Buffer{}}
	ok := false
	defer func() {
		if !ok {
			p.cleanup()
		}
	}()

	if p.workDir, err = os.MkdirTemp("", "dfs-pod-"); err != nil {
		return nil, err
	}
	for _, host := range opts.Mounts {
		if err := prepareVolumeDir(host, opts.FSGroup); err != nil {
			return nil, err
		}
	}
	script, err := p.buildScript(opts)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = containerEnv(opts.Env)
	cmd.Dir = "/"
	var out io.Writer = p.logs
	if opts.Log != nil {
		out = io.MultiWriter(p.logs, opts.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	flags := uintptr(syscall.CLONE_NEWNS)
	if opts.Hostname != "" {
		flags |= syscall.CLONE_NEWUTS
	}
	// Go makes the whole mount tree private (MS_REC|MS_PRIVATE) when
	// Unshareflags contains CLONE_NEWNS, so no mount leaks to the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: flags}
	// The lock is released as soon as the process has exited: the ports
	// are free again.
	if p.proc, err = proc.Start(cmd, p.release); err != nil {
		return nil, fmt.Errorf("dfs: start: %w", err)
	}
	p.PID, p.Started = p.proc.PID, p.proc.Started
	ok = true
	return p, nil
}

// checkContainerPaths rejects container paths that would land in a directory
// shared with the host (bind mounts of /usr, /dev, /proc, /sys).
func checkContainerPaths(opts Options) error {
	var paths []string
	paths = append(paths, opts.Command[0], opts.WorkingDir)
	for p := range opts.Mounts {
		paths = append(paths, p)
	}
	for p := range opts.Files {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return fmt.Errorf("dfs: container path %q must be absolute and clean", p)
		}
		top := strings.Split(p, "/")[1]
		for _, shared := range sharedDirs {
			if top == shared {
				return fmt.Errorf("dfs: container path %q is under the host's /%s", p, shared)
			}
		}
	}
	return nil
}

// sharedDirs are bound from the host into the container root.
var sharedDirs = []string{"usr", "dev", "proc", "sys"}

// etcEntries are taken from the host's /etc when present.
var etcEntries = []string{"hosts", "resolv.conf", "nsswitch.conf", "services", "protocols", "localtime", "ssl", "ca-certificates", "ca-certificates.conf"}

// buildScript writes the staged files and returns the shell script that sets
// up the mount namespace and execs dfs.
func (p *Process) buildScript(opts Options) (string, error) {
	root := filepath.Join(p.workDir, "root")
	stage := filepath.Join(p.workDir, "stage")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	var s strings.Builder
	line := func(args ...string) {
		for i, a := range args {
			if i > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(a)
		}
		s.WriteByte('\n')
	}
	q := shellQuote
	in := func(path string) string { return q(root + path) }
	ro := func(src, dst string, dir bool) {
		if dir {
			line("mkdir -p", in(dst))
		} else {
			line("mkdir -p", in(filepath.Dir(dst)), "&& : >", in(dst))
		}
		line("mount --bind", q(src), in(dst), "&& mount -o remount,bind,ro", in(dst))
	}

	line("set -eu")
	if opts.Hostname != "" {
		line("hostname", q(opts.Hostname))
	}
	line("mount -t tmpfs -o mode=0755 dfs-root", q(root))
	for _, d := range sharedDirs {
		line("mkdir", in("/"+d), "&& mount --rbind", q("/"+d), in("/"+d))
	}
	// bin, lib, sbin...: keep the host's layout (symlinks into /usr or dirs).
	entries, err := os.ReadDir("/")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "bin") && !strings.HasPrefix(name, "lib") && name != "sbin" {
			continue
		}
		if target, err := os.Readlink("/" + name); err == nil {
			line("ln -s", q(target), in("/"+name))
		} else if e.IsDir() {
			line("mkdir", in("/"+name), "&& mount --rbind", q("/"+name), in("/"+name))
		}
	}
	line("mkdir -m 1777", in("/tmp"))
	line("mkdir", in("/etc"))
	for _, name := range etcEntries {
		st, err := os.Stat("/etc/" + name)
		if err != nil {
			continue
		}
		ro("/etc/"+name, "/etc/"+name, st.IsDir())
	}
	passwd, group := identityFiles(opts)
	staged := map[string][]byte{"/etc/passwd": passwd, "/etc/group": group}
	for k, v := range opts.Files {
		staged[k] = v
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", err
	}
	// The home and working directory of the image's user, owned by it.
	for _, d := range []string{"/app", opts.WorkingDir} {
		line("mkdir -p", in(d), "&& chown", fmt.Sprintf("%d:%d", opts.UID, opts.GID), in(d))
	}
	ro(opts.Binary, opts.Command[0], false)

	mounts := sortedKeys(opts.Mounts)
	for _, c := range mounts {
		host, err := filepath.Abs(opts.Mounts[c])
		if err != nil {
			return "", err
		}
		line("mkdir -p", in(c), "&& mount --bind", q(host), in(c))
	}
	files := sortedKeys(staged)
	for i, c := range files {
		src := filepath.Join(stage, fmt.Sprintf("%03d-%s", i, filepath.Base(c)))
		if err := os.WriteFile(src, staged[c], 0o644); err != nil {
			return "", err
		}
		ro(src, c, false)
	}

	groups := fmt.Sprintf("%d", opts.GID)
	if opts.FSGroup != opts.GID {
		groups += fmt.Sprintf(",%d", opts.FSGroup)
	}
	// env -u: the shell exported PWD, which a container runtime does not set.
	exe := []string{"exec chroot", q(root), "env"}
	for _, v := range []string{"PWD", "OLDPWD"} {
		if _, set := opts.Env[v]; !set {
			exe = append(exe, "-u", v)
		}
	}
	exe = append(exe, "-C", q(opts.WorkingDir),
		"setpriv", fmt.Sprintf("--reuid=%d --regid=%d --groups=%s", opts.UID, opts.GID, groups),
		"--pdeathsig=SIGKILL --")
	for _, a := range append(append([]string{}, opts.Command...), opts.Args...) {
		exe = append(exe, q(a))
	}
	line(exe...)
	return s.String(), nil
}

// identityFiles returns /etc/passwd and /etc/group: the host's entries plus the
// image's user (dittofs, home /app) and group.
func identityFiles(opts Options) (passwd, group []byte) {
	passwd, _ = os.ReadFile("/etc/passwd")
	group, _ = os.ReadFile("/etc/group")
	if !bytes.Contains(passwd, fmt.Appendf(nil, ":x:%d:", opts.UID)) {
		passwd = fmt.Appendf(ensureNL(passwd), "dittofs:x:%d:%d:Linux User,,,:/app:/sbin/nologin\n", opts.UID, opts.GID)
	}
	if !bytes.Contains(group, fmt.Appendf(nil, ":x:%d:", opts.GID)) {
		group = fmt.Appendf(ensureNL(group), "dittofs:x:%d:dittofs\n", opts.GID)
	}
	return passwd, group
}

func ensureNL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(b, '\n')
	}
	return b
}

// containerEnv is the process environment: the image's PATH and HOME, then env.
func containerEnv(env map[string]string) []string {
	base := map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME": "/app",
	}
	for k, v := range env {
		base[k] = v
	}
	out := make([]string, 0, len(base))
	for _, k := range sortedKeys(base) {
		out = append(out, k+"="+base[k])
	}
	return out
}

// prepareVolumeDir creates dir and makes it group-owned and group-writable by
// gid (setgid directories), as the kubelet does for fsGroup.
func prepareVolumeDir(dir string, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
		mode := info.Mode().Perm() | 0o060
		if info.IsDir() {
			mode |= 0o010 | os.ModeSetgid
		}
		return os.Chmod(path, mode)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
