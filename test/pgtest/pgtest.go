// Package pgtest runs a throw-away PostgreSQL server on 127.0.0.1 for tests,
// configured like the Percona operator's default: TCP connections are allowed
// only over TLS (pg_hba "hostssl all all 127.0.0.1/32 scram-sha-256"), so a
// client must use sslmode=require or stricter. The server certificate is
// self-signed (CN and SAN 127.0.0.1/localhost), see Server.CACertFile.
//
// The server runs as an unprivileged user (the "postgres" system user when it
// exists, else nobody) because PostgreSQL refuses to run as root; its data
// directory is a temporary directory owned by that user. It is started with
// `postgres -D` as a direct child (no pg_ctl daemon), so its PID is known and
// it is killed when the test binary dies (see test/harness/proc). Administrative commands
// run through psql as the superuser "postgres" over the Unix socket in the
// temporary directory (trust authentication for local connections only).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// Options configure Start. All fields are optional.
type Options struct {
	// BinDir holds initdb and postgres; default: the highest
	// /usr/lib/postgresql/*/bin, else the directory of initdb on PATH.
	BinDir string
	// User is the OS user the server runs as when the caller is root;
	// default "postgres", falling back to "nobody".
	User string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives the server's output (it is also kept, see Server.Logs).
	Log io.Writer
	// StartTimeout bounds initdb + startup; default 2m.
	StartTimeout time.Duration
}

// Server is a running PostgreSQL server.
type Server struct {
	// PID of the postgres postmaster.
	PID int
	// Dir is the temporary directory (data dir, socket, certificate).
	Dir string

	binDir string
	port   int
	cred   *syscall.Credential
	proc   *proc.Process
	logs   *proc.Buffer
}

// Start initializes a new cluster in a temporary directory and starts it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir, port: opts.Port, logs: &proc.Buffer{}}
	if s.port == 0 {
		if s.port, err = proc.FreePort(); err != nil {
			return nil, err
		}
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		if uid, gid, err = lookupUser(opts.User); err != nil {
			return nil, err
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if s.Dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	// Other users must reach the socket directory; the data dir stays 0700.
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(s.Dir, uid, gid); err != nil {
		return nil, err
	}
	data := s.dataDir()
	if out, err := s.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
		"--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := writeCertificate(data, uid, gid); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
`, s.port, s.Dir)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return nil, err
	}
	hba := "# TCP only over TLS, as the Percona operator's default.\n" +
		"local all all trust\n" +
		"hostssl all all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if err := os.Chown(filepath.Join(data, "pg_hba.conf"), uid, gid); err != nil {
		return nil, err
	}

	cmd := exec.Command(filepath.Join(binDir, "postgres"), "-D", data)
	var out io.Writer = s.logs
	if opts.Log != nil {
		out = io.MultiWriter(s.logs, opts.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if s.proc, err = proc.Start(cmd); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.PID = s.proc.PID
	for {
		if _, err := s.SQL("postgres", "SELECT 1"); err == nil {
			break
		}
		select {
		case <-s.proc.Done():
			return nil, fmt.Errorf("postgres exited during startup:\n%s", s.Logs())
		case <-ctx.Done():
			return nil, fmt.Errorf("postgres not accepting connections: %w\n%s", ctx.Err(), s.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
	ok = true
	return s, nil
}

// Host is the TCP address the server listens on.
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// SocketDir is the directory of the Unix socket.
func (s *Server) SocketDir() string { return s.Dir }

// CACertFile is the server's self-signed certificate (for sslmode=verify-*).
func (s *Server) CACertFile() string { return filepath.Join(s.dataDir(), "server.crt") }

// Logs returns the server output so far.
func (s *Server) Logs() string { return s.logs.String() }

// ConnString returns a libpq keyword/value connection string over TCP.
func (s *Server) ConnString(user, password, db, sslmode string) string {
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=%s",
		s.Host(), s.port, quoteConn(user), quoteConn(password), quoteConn(db), sslmode)
}

// CreateUserAndDB creates a login role with password and a database it owns.
func (s *Server) CreateUserAndDB(user, password, db string) error {
	if _, err := s.SQL("postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s",
		QuoteIdent(user), QuoteLiteral(password))); err != nil {
		return err
	}
	_, err := s.SQL("postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", QuoteIdent(db), QuoteIdent(user)))
	return err
}

// Tables lists the tables of the public schema of db, sorted.
func (s *Server) Tables(db string) ([]string, error) {
	out, err := s.SQL(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			tables = append(tables, l)
		}
	}
	sort.Strings(tables)
	return tables, nil
}

// SQL runs statements in db as the superuser over the Unix socket and returns
// psql's unaligned, tuples-only output.
func (s *Server) SQL(db, sql string) (string, error) {
	cmd := exec.Command(s.psqlPath(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", s.Dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", db, "-c", sql)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "PGCONNECT_TIMEOUT=5"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := proc.Run(cmd); err != nil {
		return "", fmt.Errorf("psql %q: %w: %s", sql, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// PSQL runs psql over TCP as a client would (no Unix socket), with the given
// PG* environment (PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE...) and args.
func (s *Server) PSQL(env map[string]string, args ...string) (string, error) {
	cmd := exec.Command(s.psqlPath(), append([]string{"-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "PGCONNECT_TIMEOUT=5",
		"PGHOST=" + s.Host(), "PGPORT=" + strconv.Itoa(s.port)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := proc.Run(cmd); err != nil {
		return out.String(), fmt.Errorf("psql: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Stop shuts the server down (fast shutdown, SIGINT), kills it by PID after
// 30 s, and removes its directory. Safe to call more than once.
func (s *Server) Stop() {
	if s.proc != nil {
		_ = s.proc.Stop(syscall.SIGINT, 30*time.Second)
	}
	if s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
}

// Done is closed when the postmaster has exited.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

func (s *Server) psqlPath() string {
	if p := filepath.Join(s.binDir, "psql"); fileExists(p) {
		return p
	}
	return "psql"
}

// run executes a PostgreSQL program from binDir as the server's user.
func (s *Server) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, prog), args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := proc.Run(cmd)
	return out.Bytes(), err
}

func findBinDir(dir string) (string, error) {
	if dir != "" {
		if !fileExists(filepath.Join(dir, "postgres")) {
			return "", fmt.Errorf("pgtest: no postgres in %s", dir)
		}
		return dir, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, m := range matches {
		if fileExists(filepath.Join(m, "postgres")) && fileExists(filepath.Join(m, "initdb")) {
			return m, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL server binaries not found (apt-get install postgresql)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func lookupUser(name string) (int, int, error) {
	names := []string{name}
	if name == "" {
		names = []string{"postgres", "nobody"}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			return 0, 0, fmt.Errorf("pgtest: user %q is root", n)
		}
		return uid, gid, nil
	}
	return 0, 0, fmt.Errorf("pgtest: none of the users %v exists", names)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// QuoteIdent quotes a PostgreSQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes a PostgreSQL string literal.
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func quoteConn(s string) string {
	return `'` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + `'`
}
