// Package contract proves the operator's output against the real DittoFS
// server (dfs v0.29.0, run by test/dfs as its pod would run it) and a real
// PostgreSQL (test/pgtest). For each sample of artifacts/examples, the real
// controller renders the StatefulSet, ConfigMap and Secrets into fake
// clientsets (operator_test.go); the test then starts dfs with exactly that
// output, runs the declared probes, compares the declared and the listened
// ports, logs in as the admin, stops the server with SIGTERM within its
// budget, and restarts it on the same volumes.
//
// The tests need root, the dfs binary (hack/build-dfs.sh) and the PostgreSQL
// server programs. dfs runs are serialized machine-wide by the harness
// (the server's NFS and SMB ports are fixed), so nothing here is parallel.
package contract

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// dbKind is where a sample keeps the server's control plane.
type dbKind int

const (
	sqliteOnVolume dbKind = iota
	externalPostgres
	perconaPostgres
)

func (k dbKind) String() string {
	return [...]string{"SQLite on a volume", "an external PostgreSQL", "a Percona PostgreSQL"}[k]
}

type contractSample struct {
	name string
	db   dbKind
}

// contractSamples are the samples run against the real server: all of them.
var contractSamples = []contractSample{
	{"minimal", sqliteOnVolume},
	{"metrics", sqliteOnVolume},
	{"smb", sqliteOnVolume},
	{"shares", sqliteOnVolume},
	{"user-secrets", sqliteOnVolume},
	{"s3", sqliteOnVolume},
	{"tuned", sqliteOnVolume},
	{"loadbalancer", sqliteOnVolume},
	{"placement", sqliteOnVolume},
	{"monitoring", sqliteOnVolume},
	{"external-postgres", externalPostgres},
	{"percona", perconaPostgres},
	{"percona-backup", perconaPostgres},
}

const (
	pgPassword   = "Contract-Pg-Pa55word-7f3c"
	testUser     = "contract-user"
	testPassword = "Contract-User-Pa55word"
)

// TestEverySampleIsRun: a new sample cannot be added without this test
// running it.
func TestEverySampleIsRun(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", examplesDir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if !slices.ContainsFunc(contractSamples, func(s contractSample) bool { return s.name == name }) {
			t.Errorf("sample %s is not run against the real server: add it to contractSamples", name)
		}
	}
}

// TestSamples runs every sample's pod, as the operator renders it, with the
// real server.
func TestSamples(t *testing.T) {
	dfsBinary(t)
	for _, tc := range contractSamples {
		t.Run(tc.name, func(t *testing.T) {
			s := loadSample(t, tc.name)
			p, db := renderPod(t, s, tc.db, pgPassword)
			if dbType := databaseType(t, p); (dbType == "postgres") != (db != nil) {
				t.Fatalf("config.yaml database type %q for a sample whose control plane is in %s", dbType, tc.db)
			}
			requireS3Env(t, s, p)
			runInitContainers(t, p)
			runLifecycle(t, p, db)
		})
	}
}

// renderPod runs the operator on sample s, whose control plane is in a
// database of kind, and returns the server pod it renders and the database
// (nil for SQLite). The database Secret holds secretPassword, while the
// PostgreSQL role's password is pgPassword: a test of a wrong password
// passes another one.
func renderPod(t *testing.T, s sample, kind dbKind, secretPassword string) (*pod, *database) {
	t.Helper()
	s.usePortsFreeHere(t)
	var db *database
	var percona *perconaDB
	var playPercona perconaUser
	switch kind {
	case externalPostgres:
		db = newDatabase(t, startPostgres(t), "contract_ext_user", pgPassword, "contract_ext_db")
		db.pointAt(s.secret(t, s.ds.Spec.Database.PostgresSecretRef.Name), secretPassword)
	case perconaPostgres:
		percona = &perconaDB{pg: startPostgres(t), password: pgPassword, secretPassword: secretPassword}
		playPercona = percona.userSecret(t)
	}
	out := runOperator(t, s.ds, s.objects(), playPercona)
	if percona != nil {
		if db = percona.db; db == nil {
			t.Fatal("the operator created no PerconaPGCluster")
		}
	}
	requireNoSecretInConfigMap(t, out)
	return newPod(t, out), db
}

// runLifecycle is steps 2–7 of the contract: start, probes, ports, login,
// SIGTERM within budget, restart on the same volumes with state kept.
func runLifecycle(t *testing.T, p *pod, db *database) {
	apiPort := p.port(resources.PortNameAPI)
	if apiPort == 0 {
		t.Fatalf("the container declares no %q port: %v", resources.PortNameAPI, p.container.Ports)
	}
	admin, password := p.adminCredentials(t)
	p.requireProbes(t)

	proc := p.start(t)
	healthy := firstHealthy(proc, apiPort)
	startup := p.probe(t, proc, "startup", p.container.StartupProbe)
	if !startup.Passed {
		t.FailNow()
	}
	// Once the startup probe passed, the kubelet runs liveness and readiness.
	var wg sync.WaitGroup
	var liveness, readiness dfs.ProbeResult
	wg.Go(func() { liveness = p.probe(t, proc, "liveness", p.container.LivenessProbe) })
	wg.Go(func() { readiness = p.probe(t, proc, "readiness", p.container.ReadinessProbe) })

	token := dfs.LoginForTest(t, apiPort, admin, password)
	portmapper := p.port(resources.PortNamePortmapTCP) != 0
	if portmapper {
		enablePortmapper(t, apiPort, token)
	}
	p.requirePorts(t, proc)
	requireTokenLifetime(t, token, resources.AccessTokenDuration(p.out.ds))
	if status, body, err := apiCall(apiPort, token, http.MethodPost, "/api/v1/users",
		map[string]string{"username": testUser, "password": testPassword, "role": "user"}); err != nil || status != http.StatusCreated {
		t.Errorf("create user %s through the API: %d %s %v", testUser, status, body, err)
	}
	dfs.LoginForTest(t, apiPort, testUser, testPassword)
	if port := p.port(resources.PortNameMetrics); port != 0 {
		requireMetrics(t, port, p.config(t))
	}
	if db != nil {
		requireDatabaseUsed(t, p, proc, db)
	} else {
		requireHealthReachable(t, apiPort)
		requireSQLiteOnVolume(t, p)
	}
	wg.Wait()
	took := p.stop(t, proc)
	t.Logf("first start: /health 200 after %s; startup probe passed after %s (%d attempts, budget %s); "+
		"readiness after %s, liveness after %s; SIGTERM → exit in %s (budget %s)",
		(<-healthy).Round(time.Millisecond), startup.Elapsed.Round(time.Millisecond), startup.Attempts, startup.Budget,
		readiness.Elapsed.Round(time.Millisecond), liveness.Elapsed.Round(time.Millisecond),
		took.Round(time.Millisecond), p.terminationBudget(t))
	if t.Failed() {
		t.FailNow()
	}

	// The same pod again, on the same volumes (and database).
	proc = p.start(t)
	healthy = firstHealthy(proc, apiPort)
	startup = p.probe(t, proc, "startup", p.container.StartupProbe)
	if !startup.Passed {
		t.FailNow()
	}
	if portmapper {
		// The setting is in the server's database: the restarted server
		// starts its portmapper without the operator.
		p.requirePorts(t, proc)
	}
	token = dfs.LoginForTest(t, apiPort, admin, password)
	if status, body, err := apiCall(apiPort, token, http.MethodGet, "/api/v1/users/"+testUser, nil); err != nil || status != http.StatusOK {
		t.Errorf("user %s after the restart: %d %s %v", testUser, status, body, err)
	}
	dfs.LoginForTest(t, apiPort, testUser, testPassword)
	if db != nil {
		requireDatabaseUsed(t, p, proc, db)
	}
	took = p.stop(t, proc)
	t.Logf("restart: /health 200 after %s; startup probe passed after %s; admin and %s logged in; SIGTERM → exit in %s",
		(<-healthy).Round(time.Millisecond), startup.Elapsed.Round(time.Millisecond), testUser, took.Round(time.Millisecond))
}

// requireS3Env: a sample with S3 credentials starts the server with the
// AWS SDK's variables holding the values of its Secret, and its region.
func requireS3Env(t *testing.T, s sample, p *pod) {
	t.Helper()
	s3 := s.ds.Spec.S3
	if s3 == nil || s3.CredentialsSecretRef == nil {
		return
	}
	ref := s3.CredentialsSecretRef
	data := s.secret(t, ref.SecretName).Data
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	for env, want := range map[string]string{
		"AWS_ACCESS_KEY_ID":     string(data[or(ref.AccessKeyIDKey, resources.DefaultS3AccessKeyIDKey)]),
		"AWS_SECRET_ACCESS_KEY": string(data[or(ref.SecretAccessKeyKey, resources.DefaultS3SecretAccessKeyKey)]),
		"AWS_ENDPOINT_URL":      string(data[or(ref.EndpointKey, resources.DefaultS3EndpointKey)]),
		"AWS_REGION":            or(s3.Region, resources.DefaultS3Region),
	} {
		if got, ok := p.opts.Env[env]; !ok || got != want || want == "" {
			t.Errorf("the pod's %s = %q (set: %v), want %q", env, got, ok, want)
		}
	}
}

func databaseType(t *testing.T, p *pod) string {
	d, _ := p.config(t)["database"].(map[string]any)
	typ, _ := d["type"].(string)
	return typ
}

// requireTokenLifetime: the access token lives as long as the spec says
// (the server read the jwt section of config.yaml).
func requireTokenLifetime(t *testing.T, token string, want time.Duration) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims struct{ Iat, Exp int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	if got := time.Duration(claims.Exp-claims.Iat) * time.Second; got != want {
		t.Errorf("access token lifetime %s, want %s", got, want)
	}
}

// requireMetrics: the declared metrics port serves Prometheus text on the
// configured path.
func requireMetrics(t *testing.T, port int, cfg map[string]any) {
	t.Helper()
	m, _ := cfg["metrics"].(map[string]any)
	path, _ := m["path"].(string)
	if path == "" {
		path = "/metrics" // the server's default
	}
	status, body, err := dfs.ProbeHTTP(port, path, 5*time.Second)
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), "# HELP") {
		t.Errorf("GET %s on the metrics port %d: %d %v: %.200s", path, port, status, err, body)
	}
}

// requireSQLiteOnVolume: the control-plane database is a file on a volume
// claim, so it outlives the pod.
func requireSQLiteOnVolume(t *testing.T, p *pod) {
	t.Helper()
	d, _ := p.config(t)["database"].(map[string]any)
	sq, _ := d["sqlite"].(map[string]any)
	path, _ := sq["path"].(string)
	if path == "" {
		t.Fatalf("config.yaml sets no database.sqlite.path: the server would keep its database in $HOME, inside the container")
	}
	host, onClaim := p.hostPath(path)
	if !onClaim {
		t.Fatalf("SQLite database %s is not on a volume claim (mounts: %v)", path, p.container.VolumeMounts)
	}
	if _, err := os.Stat(host); err != nil {
		t.Errorf("SQLite database %s is not on its volume: %v", path, err)
	}
}

// requireNoSecretInConfigMap: no value of any Secret of the namespace (the
// generated ones, the sample's, the test's) appears anywhere in a ConfigMap:
// name, labels, annotations or data. Values published in the clear elsewhere
// are not secrets and are exempt: string fields of the DittoServer spec and
// the user and database names of a PerconaPGCluster's spec.users.
func requireNoSecretInConfigMap(t *testing.T, out *rendered) {
	t.Helper()
	public := publicValues(t, out)
	checked, exempt := 0, map[string]bool{}
	for _, cm := range out.configMapObjects {
		var fields []string
		fields = append(fields, cm.Name)
		for k, v := range cm.Labels {
			fields = append(fields, k, v)
		}
		for k, v := range cm.Annotations {
			fields = append(fields, k, v)
		}
		for k, v := range cm.Data {
			fields = append(fields, k, v)
		}
		for k, v := range cm.BinaryData {
			fields = append(fields, k, string(v))
		}
		for _, name := range sortedKeys(out.secrets) {
			for _, key := range sortedKeys(out.secrets[name]) {
				v := string(out.secrets[name][key])
				if v == "" || public[v] {
					exempt[name+"."+key] = true
					continue
				}
				checked++
				for _, f := range fields {
					if strings.Contains(f, v) {
						t.Errorf("the value of Secret %s key %s appears in ConfigMap %s", name, key, cm.Name)
						break
					}
				}
			}
		}
	}
	if len(out.configMapObjects) == 0 {
		t.Errorf("the operator created no ConfigMap")
	}
	t.Logf("no Secret value in the ConfigMap: %d values of %d Secrets checked; public or empty: [%s]",
		checked, len(out.secrets), keys(exempt))
}

func publicValues(t *testing.T, out *rendered) map[string]bool {
	public := map[string]bool{}
	raw, err := json.Marshal(out.ds.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var spec any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			public[v] = true
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(spec)
	for _, c := range out.perconaClusters {
		users, _, _ := unstructured.NestedSlice(c.Object, "spec", "users")
		for _, u := range users {
			if m, ok := u.(map[string]any); ok {
				walk(m["name"])
				walk(m["databases"])
			}
		}
	}
	return public
}

// enablePortmapper does what the server-state controller does for
// spec.portmapper.enabled (that controller does not run here): store the
// setting, then restart the NFS adapter, which reads it when it starts.
func enablePortmapper(t *testing.T, apiPort int, token string) {
	t.Helper()
	for _, call := range []struct {
		method, path string
		body         map[string]any
	}{
		{http.MethodPut, "/api/v1/adapters/nfs", map[string]any{"enabled": false}},
		{http.MethodPatch, "/api/v1/adapters/nfs/settings", map[string]any{"portmapper_enabled": true, "portmapper_port": resources.ContainerPortmapPort}},
		{http.MethodPut, "/api/v1/adapters/nfs", map[string]any{"enabled": true}},
	} {
		if status, body, err := apiCall(apiPort, token, call.method, call.path, call.body); err != nil || status != http.StatusOK {
			t.Fatalf("%s %s: %d %s %v", call.method, call.path, status, body, err)
		}
	}
}
