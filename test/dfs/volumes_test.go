package dfs

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// TestEveryClaimHasAJob runs the pod the operator renders for the minimal and
// the S3 sample against the real server, with one host directory per volume
// claim, declares the stores and a share through the REST API as the
// operator does (badger metadata store at MetadataStorePath, fs local block
// store at LocalBlockStorePath), and checks what lands where:
//   - the SQLite database in the metadata claim's controlplane subdirectory;
//   - the badger files in the metadata claim;
//   - the block store's files in the content claim;
//   - no claim left without data, and at most two claims.
//
// The server is then restarted on the same directories and still has the
// share and its stores: the claims hold the server's state.
func TestEveryClaimHasAJob(t *testing.T) {
	for _, sample := range []string{"minimal", "s3"} {
		t.Run(sample, func(t *testing.T) {
			ds, secrets := loadSample(t, sample)
			apiPort := proc.FreePortForTest(t)
			// Plain HTTP: this test reads the claims, not the API's TLS.
			ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To(int32(apiPort)),
				TLS: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}}
			in := resources.Inputs{
				JWTSecret:      resources.JWTSecretSelector(ds),
				AdminPassword:  resources.AdminPasswordSelector(ds),
				SecretVersions: map[string]string{},
			}
			cfg, err := resources.ConfigYAML(ds, in)
			if err != nil {
				t.Fatal(err)
			}
			sts, err := resources.StatefulSet(ds, in, resources.ConfigHash(cfg, in.SecretVersions))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(sts.Spec.VolumeClaimTemplates); n > 2 {
				t.Errorf("%d claims, want at most 2", n)
			}
			put(secrets, in.JWTSecret.Name, in.JWTSecret.Key, testSecret)
			put(secrets, in.AdminPassword.Name, in.AdminPassword.Key, testPassword)
			claims, base := map[string]string{}, t.TempDir()
			for _, c := range sts.Spec.VolumeClaimTemplates {
				claims[c.Name] = filepath.Join(base, c.Name)
			}
			opts, _, err := PodOptions(&sts.Spec.Template.Spec, resources.ContainerName, PodInputs{
				Binary: binary(t), PodName: sts.Name + "-0", Namespace: ds.Namespace,
				ConfigMaps: map[string]map[string]string{resources.ConfigMapName(ds): {resources.ConfigFileKey: string(cfg)}},
				Secrets:    secrets, VolumeDirs: claims,
			})
			if err != nil {
				t.Fatal(err)
			}
			if ds.Spec.S3 != nil {
				checkRemoteCacheBound(t, opts, resources.RemoteCacheSize(ds))
			}

			// First start: declare the stores and a share.
			p := StartForTest(t, opts)
			waitHealthy(t, p, apiPort, 60*time.Second)
			token := LoginForTest(t, apiPort, "admin", testPassword)
			blockPath := resources.LocalBlockStorePath()
			apiCreate(t, apiPort, token, "/api/v1/store/metadata", map[string]any{
				"name": resources.MetadataStoreName, "type": "badger",
				"config": jsonString(t, map[string]string{"path": resources.MetadataStorePath()})})
			apiCreate(t, apiPort, token, "/api/v1/store/block/local", map[string]any{
				"name": resources.LocalBlockStoreName, "type": "fs",
				"config": jsonString(t, map[string]string{"path": blockPath})})
			apiCreate(t, apiPort, token, "/api/v1/shares", map[string]any{
				"name": "/export", "metadata_store_id": resources.MetadataStoreName,
				"local_block_store": resources.LocalBlockStoreName})
			stop(t, p)

			// What each claim received.
			for what, path := range map[string]string{
				"SQLite database":   resources.SQLitePath(ds),
				"metadata store":    resources.MetadataStorePath(),
				"local block store": blockPath,
			} {
				claim, host := hostPath(t, sts, claims, path)
				files := dataFiles(t, host)
				t.Logf("%s %s: claim %s, %d files with data (%s)", what, path, claim, len(files), strings.Join(first(files, 4), ", "))
				if len(files) == 0 {
					t.Errorf("%s %s (claim %s, %s): no file with data", what, path, claim, host)
				}
			}
			if _, host := hostPath(t, sts, claims, resources.SQLitePath(ds)); !strings.HasPrefix(host, claims[resources.VolumeMetadata]+"/") {
				t.Errorf("the SQLite database is at %s, not on the metadata claim", host)
			}
			for name, dir := range claims {
				if files := dataFiles(t, dir); len(files) == 0 {
					t.Errorf("claim %s received no data: it has no job", name)
				}
			}

			// Second start on the same claims: the state is there.
			p = StartForTest(t, opts)
			waitHealthy(t, p, apiPort, 60*time.Second)
			token = LoginForTest(t, apiPort, "admin", testPassword)
			for path, want := range map[string]string{
				"/api/v1/shares":            "/export",
				"/api/v1/store/metadata":    resources.MetadataStorePath(),
				"/api/v1/store/block/local": blockPath,
			} {
				status, body := apiDo(t, apiPort, token, http.MethodGet, path, nil)
				if status != http.StatusOK || !strings.Contains(string(body), want) {
					t.Errorf("after a restart, GET %s = %d %.300s; want 200 with %q", path, status, body, want)
				}
			}
			stop(t, p)
		})
	}
}

// loadSample reads artifacts/examples/<name>.yaml: its DittoServer (in
// namespace default unless set) and the Secrets it ships, by name and key.
func loadSample(t *testing.T, name string) (*dittov1alpha1.DittoServer, map[string]map[string][]byte) {
	t.Helper()
	file, err := proc.FindUp(filepath.Join("artifacts", "examples", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ds *dittov1alpha1.DittoServer
	secrets := map[string]map[string][]byte{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var kind struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			StringData map[string]string `json:"stringData"`
		}
		if err := yaml.Unmarshal([]byte(doc), &kind); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch kind.Kind {
		case "DittoServer":
			ds = &dittov1alpha1.DittoServer{}
			if err := yaml.UnmarshalStrict([]byte(doc), ds); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case "Secret":
			for k, v := range kind.StringData {
				put(secrets, kind.Metadata.Name, k, v)
			}
		}
	}
	if ds == nil {
		t.Fatalf("%s: no DittoServer", name)
	}
	if ds.Namespace == "" {
		ds.Namespace = "default"
	}
	ds.UID = "00000000-0000-0000-0000-000000000013"
	return ds, secrets
}

func put(secrets map[string]map[string][]byte, name, key, value string) {
	if secrets[name] == nil {
		secrets[name] = map[string][]byte{}
	}
	secrets[name][key] = []byte(value)
}

func stop(t *testing.T, p *Process) {
	t.Helper()
	if code, took, err := p.Stop(syscall.SIGTERM, 105*time.Second); err != nil || code != 0 {
		t.Fatalf("stop: exit %d after %s: %v\n%s", code, took, err, proc.Tail(p.Logs(), 20))
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apiCreate POSTs body and expects 201 Created (or 200).
func apiCreate(t *testing.T, apiPort int, token, path string, body any) {
	t.Helper()
	status, resp := apiDo(t, apiPort, token, http.MethodPost, path, body)
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("POST %s: %d %.500s", path, status, resp)
	}
}

// apiDo sends body as JSON (none when nil) and returns the status and the
// response body.
func apiDo(t *testing.T, apiPort int, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = b
	}
	status, resp, err := Request(apiPort, token, method, path, raw)
	if err != nil {
		t.Fatal(err)
	}
	return status, resp
}

// hostPath maps a path inside the container to the host directory of the
// claim mounted there (the deepest mount holding it, subPath included).
func hostPath(t *testing.T, sts *appsv1.StatefulSet, claims map[string]string, path string) (claim, host string) {
	t.Helper()
	best := -1
	for _, m := range sts.Spec.Template.Spec.Containers[0].VolumeMounts {
		dir, ok := claims[m.Name]
		if !ok || !strings.HasPrefix(path, m.MountPath+"/") || len(m.MountPath) <= best {
			continue
		}
		best, claim = len(m.MountPath), m.Name
		host = filepath.Join(dir, m.SubPath, strings.TrimPrefix(path, m.MountPath))
	}
	if best < 0 {
		t.Fatalf("%s is on no claim", path)
	}
	return claim, host
}

// dataFiles lists the regular files under dir that hold bytes.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil && info.Size() > 0 {
				rel, _ := filepath.Rel(dir, p)
				if rel == "." { // dir is the file itself
					rel = filepath.Base(p)
				}
				files = append(files, rel)
			}
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// checkRemoteCacheBound: the server's own configuration loader (dfs config
// show, run on the rendered config.yaml with the pod's environment) reads
// the local-cache bound the operator renders for an S3 server.
func checkRemoteCacheBound(t *testing.T, opts Options, want int64) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, opts.Files[resources.ConfigPath], 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(opts.Binary, "config", "show", "--config", cfgFile, "--output", "json")
	cmd.Env = append(containerEnv(opts.Env), "HOME="+t.TempDir()) // the last HOME wins: the image's /app is not on this host
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dfs config show: %v\n%s", err, out)
	}
	var shown struct {
		Blockstore struct {
			Local struct {
				DefaultRemoteCacheSize int64 `json:"default_remote_cache_size"`
			} `json:"local"`
		} `json:"blockstore"`
	}
	if err := json.Unmarshal(out, &shown); err != nil {
		t.Fatalf("dfs config show: %v: %.500s", err, out)
	}
	if got := shown.Blockstore.Local.DefaultRemoteCacheSize; got != want {
		t.Errorf("the server reads blockstore.local.default_remote_cache_size = %d, want %d", got, want)
	}
	t.Logf("the server bounds its S3 write-through cache to %d bytes", want)
}
