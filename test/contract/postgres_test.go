package contract

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
	"github.com/dittofs/dittofs-operator/test/pgtest"
)

// startPostgres starts a throw-away PostgreSQL on loopback that accepts only
// TLS connections, like Percona's default pg_hba.
func startPostgres(t *testing.T) *pgtest.Server {
	t.Helper()
	pg, err := pgtest.Start(context.Background(), pgtest.Options{})
	if err != nil {
		t.Fatalf("a throw-away PostgreSQL is a prerequisite (install the Debian postgresql package): %v", err)
	}
	t.Cleanup(pg.Stop)
	return pg
}

// database is the PostgreSQL database a sample's server must use.
type database struct {
	pg       *pgtest.Server
	name     string
	user     string
	password string
}

// newDatabase creates a login role and a database it owns.
func newDatabase(t *testing.T, pg *pgtest.Server, user, password, name string) *database {
	t.Helper()
	if err := pg.CreateUserAndDB(user, password, name); err != nil {
		t.Fatal(err)
	}
	return &database{pg: pg, name: name, user: user, password: password}
}

// pointAt rewrites an external-PostgreSQL Secret (Percona's layout: host,
// port, user, password, dbname) to this database, with password as given.
func (db *database) pointAt(secret *corev1.Secret, password string) {
	secret.Data = map[string][]byte{
		"host": []byte(db.pg.Host()), "port": []byte(strconv.Itoa(db.pg.Port())),
		"user": []byte(db.user), "password": []byte(password), "dbname": []byte(db.name),
	}
}

// perconaDB plays the Percona operator for a PerconaPGCluster: it creates
// the cluster's user and database (spec.users[0]) in pg with password, and
// writes the Secret <cluster>-pguser-<user> as Percona does (keys host, port,
// user, password, dbname, uri, jdbc-uri, verifier), pointing at pg on
// 127.0.0.1 instead of <cluster>-primary.<namespace>.svc. The Secret holds
// secretPassword: the wrong one in the negative case.
type perconaDB struct {
	pg                       *pgtest.Server
	password, secretPassword string
	// db is the database created for the cluster, once it exists.
	db *database
}

func (f *perconaDB) userSecret(t *testing.T) perconaUser {
	return func(cluster *unstructured.Unstructured) *corev1.Secret {
		users, _, _ := unstructured.NestedSlice(cluster.Object, "spec", "users")
		if len(users) == 0 {
			t.Errorf("PerconaPGCluster %s has no spec.users", cluster.GetName())
			return &corev1.Secret{}
		}
		u, _ := users[0].(map[string]any)
		user, _ := u["name"].(string)
		dbs, _ := u["databases"].([]any)
		if user == "" || len(dbs) == 0 {
			t.Errorf("PerconaPGCluster %s: spec.users[0] = %v, want a name and a database", cluster.GetName(), u)
			return &corev1.Secret{}
		}
		dbname, _ := dbs[0].(string)
		if f.db == nil {
			f.db = newDatabase(t, f.pg, user, f.password, dbname)
		}
		verifier, err := f.pg.SQL("postgres", fmt.Sprintf("SELECT rolpassword FROM pg_authid WHERE rolname = %s", pgtest.QuoteLiteral(user)))
		if err != nil {
			t.Error(err)
		}
		host, port, secretPassword := f.pg.Host(), strconv.Itoa(f.pg.Port()), f.secretPassword
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: cluster.GetName() + "-pguser-" + user, Namespace: cluster.GetNamespace(),
				Labels: map[string]string{
					"postgres-operator.crunchydata.com/cluster": cluster.GetName(),
					"postgres-operator.crunchydata.com/pguser":  user,
					"postgres-operator.crunchydata.com/role":    "pguser",
				},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{
				"host": []byte(host), "port": []byte(port), "user": []byte(user),
				"password": []byte(secretPassword), "dbname": []byte(dbname),
				"uri": []byte((&url.URL{Scheme: "postgresql", User: url.UserPassword(user, secretPassword),
					Host: host + ":" + port, Path: "/" + dbname}).String()),
				"jdbc-uri": []byte(fmt.Sprintf("jdbc:postgresql://%s:%s/%s?password=%s&user=%s",
					host, port, dbname, url.QueryEscape(secretPassword), url.QueryEscape(user))),
				"verifier": []byte(strings.TrimSpace(verifier)),
			},
		}
	}
}

// requireDatabaseUsed: /health reports the control-plane database reachable,
// the server's tables exist in the PostgreSQL database, and no SQLite file
// exists anywhere.
func requireDatabaseUsed(t *testing.T, p *pod, proc *dfs.Process, db *database) {
	t.Helper()
	requireHealthReachable(t, p.port(resources.PortNameAPI))
	tables, err := db.pg.Tables(db.name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tables, "users") {
		t.Errorf("no control-plane tables in PostgreSQL database %s: %v", db.name, tables)
	} else {
		t.Logf("PostgreSQL database %s holds %d tables of the server", db.name, len(tables))
	}
	p.requireNoSQLite(t, proc)
}

func requireHealthReachable(t *testing.T, apiPort int) {
	t.Helper()
	h, status, err := dfs.GetHealth(apiPort, resources.HealthPath)
	if err != nil || status != 200 {
		t.Fatalf("GET /health: %d %v", status, err)
	}
	if h.Data["control_plane_db"] != "reachable" {
		t.Errorf("/health = %+v, want control_plane_db reachable", h)
	}
}

// runInitContainers runs the pod's init containers on the host, in order,
// with their command and environment resolved as the kubelet would (their
// images' tools, such as pg_isready, are taken from the host's PATH).
func runInitContainers(t *testing.T, p *pod) {
	t.Helper()
	for _, ic := range p.spec.InitContainers {
		spec := p.spec.DeepCopy()
		spec.Containers = []corev1.Container{ic}
		opts, _, err := dfs.PodOptions(spec, ic.Name, dfs.PodInputs{
			Binary: dfsBinary(t), PodName: p.out.statefulSet.Name + "-0", Namespace: p.out.statefulSet.Namespace,
			ConfigMaps: p.out.configMaps, Secrets: p.out.secrets, VolumeDirs: p.claims,
		})
		if err != nil {
			t.Fatalf("init container %s: %v", ic.Name, err)
		}
		if len(ic.Command) == 0 {
			t.Fatalf("init container %s has no command; only commands are run here", ic.Name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, opts.Command[0], append(opts.Command[1:], opts.Args...)...)
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
		for k, v := range opts.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var out proc.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err = proc.Run(cmd)
		cancel()
		if err != nil {
			t.Fatalf("init container %s failed after %s: %v\n%s", ic.Name, time.Since(start).Round(time.Millisecond), err, out.String())
		}
		t.Logf("init container %s: exit 0 after %s: %s", ic.Name, time.Since(start).Round(time.Millisecond), strings.TrimSpace(out.String()))
	}
}
