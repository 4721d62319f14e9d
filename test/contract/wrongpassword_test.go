package contract

import (
	"strings"
	"testing"
	"time"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestWrongPostgresPassword: with a wrong password in the PostgreSQL Secret,
// the pod the operator renders must fail visibly (the server exits non-zero,
// or serves /health with the database unreachable), never run on a SQLite
// database of its own.
func TestWrongPostgresPassword(t *testing.T) {
	dfsBinary(t)
	const wrong = "Not-The-Pa55word"
	for _, tc := range []contractSample{{"external-postgres", externalPostgres}, {"percona", perconaPostgres}} {
		t.Run(tc.name, func(t *testing.T) {
			p, db := renderPod(t, loadSample(t, tc.name), tc.db, wrong)
			if got := p.opts.Env["DITTOFS_DATABASE_POSTGRES_PASSWORD"]; got != wrong {
				t.Fatalf("the pod's DITTOFS_DATABASE_POSTGRES_PASSWORD is %q, want the Secret's %q", got, wrong)
			}
			requireFailsVisibly(t, p, db)
		})
	}
}

// requireFailsVisibly waits, for at most the startup probe's budget, for the
// server to exit or to answer /health, and requires that it exited non-zero
// or reports the database unreachable, wrote nothing to the database, and
// created no SQLite file.
func requireFailsVisibly(t *testing.T, p *pod, db *database) {
	t.Helper()
	apiPort := p.port(resources.PortNameAPI)
	p.requireProbes(t)
	srv := p.start(t)
	sp := p.container.StartupProbe
	budget := time.Duration(sp.InitialDelaySeconds+sp.FailureThreshold*sp.PeriodSeconds) * time.Second
	deadline := srv.Started.Add(budget)
	for {
		p.requireNoSQLite(t, srv)
		if code, exited := srv.Exited(); exited {
			if code == 0 {
				t.Errorf("dfs exited with code 0 on a wrong database password")
			}
			t.Logf("dfs exited with code %d after %s: %s", code, time.Since(srv.Started).Round(time.Millisecond), lastError(srv.Logs()))
			break
		}
		if h, status, err := dfs.GetHealth(apiPort, resources.HealthPath); err == nil {
			if h.Data["control_plane_db"] == "reachable" {
				t.Fatalf("dfs serves /health (%d) with control_plane_db reachable on a wrong PostgreSQL password: %+v", status, h)
			}
			t.Logf("dfs serves /health %d with the database %v", status, h.Data["control_plane_db"])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dfs neither exited nor served /health within the startup budget %s", budget)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.requireNoSQLite(t, srv)
	if tables, err := db.pg.Tables(db.name); err != nil || len(tables) != 0 {
		t.Errorf("tables in %s after a refused login: %v %v", db.name, tables, err)
	}
	if !strings.Contains(srv.Logs(), "password authentication failed") {
		t.Errorf("the server's output does not say why it failed:\n%s", proc.Tail(srv.Logs(), 10))
	}
}

// lastError is the last output line that mentions an error.
func lastError(logs string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(lines[i]), "error") {
			return lines[i]
		}
	}
	return proc.Tail(logs, 1)
}
