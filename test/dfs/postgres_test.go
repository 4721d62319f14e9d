package dfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/test/pgtest"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

func postgresDatabase(host string, port int, db, user, sslmode string) string {
	s := fmt.Sprintf("database:\n  type: postgres\n  postgres:\n    host: %s\n    port: %d\n    database: %s\n    user: %s\n", host, port, db, user)
	if sslmode != "" {
		s += "    sslmode: " + sslmode + "\n"
	}
	return s
}

// TestPostgres runs the server against a PostgreSQL that only accepts TLS
// (like Percona's default pg_hba), with the password given only through
// DITTOFS_DATABASE_POSTGRES_PASSWORD.
func TestPostgres(t *testing.T) {
	pg, err := pgtest.Start(context.Background(), pgtest.Options{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(pg.Stop)
	for _, db := range []string{"dittofs", "other"} {
		if err := pg.CreateUserAndDB(db+"_user", db+"-Pa55", db); err != nil {
			t.Fatal(err)
		}
	}
	envWith := func(kv ...string) map[string]string {
		env := baseEnv()
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}

	t.Run("password from env, sslmode require", func(t *testing.T) {
		apiPort := freePort(t)
		mounts := volumes(t)
		cfg := baseConfig(apiPort, postgresDatabase(pg.Host(), pg.Port(), "dittofs", "dittofs_user", "require"))
		p := startPod(t, cfg, envWith("DITTOFS_DATABASE_POSTGRES_PASSWORD", "dittofs-Pa55"), mounts)
		t.Logf("start → /health 200: %s", waitHealthy(t, p, apiPort, 60*time.Second))
		requireReachable(t, apiPort)
		tables, err := pg.Tables("dittofs")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d tables in database dittofs: %s", len(tables), strings.Join(tables, " "))
		if len(tables) == 0 || !contains(tables, "users") {
			t.Errorf("no control-plane tables (users) in the database: %v", tables)
		}
		if _, status, err := Login(apiPort, "admin", testPassword); err != nil {
			t.Errorf("login: status %d: %v", status, err)
		}
		requireNoSQLite(t, p, mounts)
	})

	t.Run("env overrides every postgres field of the file", func(t *testing.T) {
		apiPort := freePort(t)
		mounts := volumes(t)
		cfg := baseConfig(apiPort, postgresDatabase("wrong.invalid", 1, "nonexistent", "nobody", "disable"))
		p := startPod(t, cfg, envWith(
			"DITTOFS_DATABASE_POSTGRES_HOST", pg.Host(),
			"DITTOFS_DATABASE_POSTGRES_PORT", strconv.Itoa(pg.Port()),
			"DITTOFS_DATABASE_POSTGRES_DATABASE", "other",
			"DITTOFS_DATABASE_POSTGRES_USER", "other_user",
			"DITTOFS_DATABASE_POSTGRES_PASSWORD", "other-Pa55",
			"DITTOFS_DATABASE_POSTGRES_SSLMODE", "require",
		), mounts)
		waitHealthy(t, p, apiPort, 60*time.Second)
		requireReachable(t, apiPort)
		if tables, err := pg.Tables("other"); err != nil || !contains(tables, "users") {
			t.Errorf("tables in database other: %v, %v", tables, err)
		}
		requireNoSQLite(t, p, mounts)
	})

	// The server's default sslmode is disable; a hostssl-only server refuses it.
	t.Run("sslmode omitted", func(t *testing.T) {
		requireStartFails(t, pg, postgresDatabase(pg.Host(), pg.Port(), "dittofs", "dittofs_user", ""),
			envWith("DITTOFS_DATABASE_POSTGRES_PASSWORD", "dittofs-Pa55"), "no pg_hba.conf entry")
	})

	t.Run("wrong password", func(t *testing.T) {
		requireStartFails(t, pg, postgresDatabase(pg.Host(), pg.Port(), "dittofs", "dittofs_user", "require"),
			envWith("DITTOFS_DATABASE_POSTGRES_PASSWORD", "wrong"), "password authentication failed")
	})
}

// TestPostgresOutage: when the database goes away, /health stays 200 and
// reports degraded/unreachable, and the process keeps running.
func TestPostgresOutage(t *testing.T) {
	pg, err := pgtest.Start(context.Background(), pgtest.Options{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(pg.Stop)
	if err := pg.CreateUserAndDB("dittofs", "Pa55-word", "dittofs"); err != nil {
		t.Fatal(err)
	}
	apiPort := freePort(t)
	env := baseEnv()
	env["DITTOFS_DATABASE_POSTGRES_PASSWORD"] = "Pa55-word"
	cfg := baseConfig(apiPort, postgresDatabase(pg.Host(), pg.Port(), "dittofs", "dittofs", "require"))
	p := startPod(t, cfg, env, volumes(t))
	waitHealthy(t, p, apiPort, 60*time.Second)
	requireReachable(t, apiPort)

	pg.Stop()
	stopped := time.Now()
	for {
		h, status, err := GetHealth(apiPort, "/health")
		if err != nil || status != 200 {
			t.Fatalf("/health during the outage: %d %v", status, err)
		}
		if h.Status == "degraded" && h.Data["control_plane_db"] == "unreachable" {
			t.Logf("/health degraded %s after the database stopped", time.Since(stopped).Round(time.Millisecond))
			break
		}
		if time.Since(stopped) > 60*time.Second {
			t.Fatalf("/health still %+v 60s after the database stopped", h)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, body, err := ProbeHTTP(apiPort, "/health/ready", 5*time.Second); err != nil {
		t.Errorf("/health/ready during the outage: %v", err)
	} else {
		t.Logf("/health/ready during the outage: %d %s", status, body)
	}
	if code, exited := p.Exited(); exited {
		t.Errorf("dfs exited (code %d) during the database outage", code)
	}
}

// requireStartFails: the server must exit (non-zero) without ever serving a
// healthy API and without falling back to SQLite.
func requireStartFails(t *testing.T, pg *pgtest.Server, database string, env map[string]string, reason string) {
	t.Helper()
	apiPort := freePort(t)
	mounts := volumes(t)
	p := startPod(t, baseConfig(apiPort, database), env, mounts)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if h, status, err := GetHealth(apiPort, "/health"); err == nil {
			t.Fatalf("server serves /health (%d %+v) with an unusable database", status, h)
		}
		if code, exited := p.Exited(); exited {
			t.Logf("exited with code %d after %s", code, time.Since(p.Started))
			if code == 0 {
				t.Errorf("exit code 0")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running after 60s without serving the API")
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs := p.Logs()
	if !strings.Contains(logs, reason) {
		t.Errorf("output does not mention %q:\n%s", reason, proc.Tail(logs, 10))
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "Error") || strings.Contains(line, "error") {
			t.Logf("%s", line)
		}
	}
	requireNoSQLite(t, nil, mounts)
}

func requireReachable(t *testing.T, apiPort int) {
	t.Helper()
	h, status, err := GetHealth(apiPort, "/health")
	if err != nil || status != 200 {
		t.Fatalf("/health: %d %v", status, err)
	}
	if h.Status != "healthy" || h.Data["control_plane_db"] != "reachable" {
		t.Errorf("/health = %+v, want healthy and control_plane_db reachable", h)
	}
}

// requireNoSQLite: no SQLite database on the volumes nor in the container's
// home (the server's default sqlite path is $HOME/.config/dittofs).
func requireNoSQLite(t *testing.T, p *Process, mounts map[string]string) {
	t.Helper()
	dirs := []string{}
	for _, d := range mounts {
		dirs = append(dirs, d)
	}
	if p != nil {
		dirs = append(dirs, fmt.Sprintf("/proc/%d/root/app", p.PID))
	}
	for _, d := range dirs {
		_ = filepath.Walk(d, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.Contains(info.Name(), ".db") {
				t.Errorf("SQLite file %s exists", path)
			}
			return nil
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
