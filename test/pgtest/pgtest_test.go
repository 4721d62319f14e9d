package pgtest

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServer(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(s.Stop)
	t.Logf("PostgreSQL pid %d on %s:%d", s.PID, s.Host(), s.Port())

	if err := s.CreateUserAndDB("dittofs", "s3cret'pw", "dittofs"); err != nil {
		t.Fatal(err)
	}
	env := func(mode string) map[string]string {
		return map[string]string{"PGUSER": "dittofs", "PGPASSWORD": "s3cret'pw", "PGDATABASE": "dittofs", "PGSSLMODE": mode}
	}

	out, err := s.PSQL(env("disable"), "-c", "SELECT 1")
	if err == nil {
		t.Fatalf("sslmode=disable over TCP was accepted: %s", out)
	}
	if !strings.Contains(out, "no pg_hba.conf entry") {
		t.Errorf("sslmode=disable refused for an unexpected reason: %s", out)
	}

	out, err = s.PSQL(env("require"), "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	if err != nil {
		t.Fatalf("sslmode=require: %v", err)
	}
	if strings.TrimSpace(out) != "t" {
		t.Errorf("sslmode=require connection is not TLS: %q", out)
	}
	verify := env("verify-full")
	verify["PGSSLROOTCERT"] = s.CACertFile()
	if out, err := s.PSQL(verify, "-c", "SELECT 1"); err != nil {
		t.Errorf("sslmode=verify-full with CACertFile: %v: %s", err, out)
	}
	bad := env("require")
	bad["PGPASSWORD"] = "wrong"
	if out, err := s.PSQL(bad, "-c", "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("wrong password: err=%v out=%s", err, out)
	}

	if _, err := s.PSQL(env("require"), "-c", "CREATE TABLE things (id int)"); err != nil {
		t.Fatalf("create table as the database owner: %v", err)
	}
	tables, err := s.Tables("dittofs")
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0] != "things" {
		t.Errorf("Tables = %v, want [things]", tables)
	}

	pid, dir := s.PID, s.Dir
	s.Stop()
	select {
	case <-s.Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres process group %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if fileExists(dir) {
		t.Errorf("%s not removed", dir)
	}
}
