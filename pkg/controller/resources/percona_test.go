package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func specYAML(t *testing.T, u *unstructured.Unstructured, fields ...string) string {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(u.Object, append([]string{"spec"}, fields...)...)
	if err != nil || !found {
		t.Fatalf("spec.%v: found %v, %v", fields, found, err)
	}
	return string(toYAML(t, v))
}

func TestPerconaCluster(t *testing.T) {
	size := resource.MustParse("50Gi")
	for _, tc := range []struct {
		name                      string
		percona                   *dittov1alpha1.PerconaSpec
		instances, users, backups string
	}{
		{
			name:    "defaults, backups explicitly off",
			percona: &dittov1alpha1.PerconaSpec{Enabled: true},
			instances: "- dataVolumeClaimSpec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: 10Gi\n" +
				"  name: instance1\n  replicas: 1\n",
			users:   "- databases:\n  - dittofs\n  name: dittofs\n",
			backups: "enabled: false\n",
		},
		{
			name: "sized, with a class and database; backup configured but disabled",
			percona: &dittov1alpha1.PerconaSpec{Enabled: true, Replicas: ptr.To[int32](3), StorageSize: &size,
				StorageClassName: ptr.To("fast"), DatabaseName: "control",
				Backup: &dittov1alpha1.PerconaBackupSpec{Bucket: "b", Endpoint: "e"}},
			instances: "- dataVolumeClaimSpec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: 50Gi\n" +
				"    storageClassName: fast\n  name: instance1\n  replicas: 3\n",
			users:   "- databases:\n  - control\n  name: dittofs\n",
			backups: "enabled: false\n",
		},
		{
			name: "backups to S3 with the CRD's schedule and retention defaults",
			percona: &dittov1alpha1.PerconaSpec{Enabled: true, Backup: &dittov1alpha1.PerconaBackupSpec{
				Enabled: true, Bucket: "backups", Endpoint: "s3.example.com",
				CredentialsSecretRef: &corev1.LocalObjectReference{Name: "s3conf"}}},
			instances: "- dataVolumeClaimSpec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: 10Gi\n" +
				"  name: instance1\n  replicas: 1\n",
			users: "- databases:\n  - dittofs\n  name: dittofs\n",
			backups: `enabled: true
pgbackrest:
  configuration:
  - secret:
      name: s3conf
  global:
    repo1-path: /pgbackrest/storage/files-postgres/repo1
    repo1-retention-full: "7"
    repo1-retention-full-type: time
  manual:
    options:
    - --type=full
    repoName: repo1
  repos:
  - name: repo1
    s3:
      bucket: backups
      endpoint: s3.example.com
      region: us-east-1
    schedules:
      full: 0 2 * * *
      incremental: 0 * * * *
`,
		},
		{
			name: "backups with schedules, region and retention",
			percona: &dittov1alpha1.PerconaSpec{Enabled: true, Backup: &dittov1alpha1.PerconaBackupSpec{
				Enabled: true, Bucket: "b", Endpoint: "e", Region: "eu-west-3", FullSchedule: "0 4 * * 0", IncrSchedule: "30 * * * *",
				RetentionDays: ptr.To[int32](30), CredentialsSecretRef: &corev1.LocalObjectReference{Name: "c"}}},
			instances: "- dataVolumeClaimSpec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: 10Gi\n" +
				"  name: instance1\n  replicas: 1\n",
			users: "- databases:\n  - dittofs\n  name: dittofs\n",
			backups: `enabled: true
pgbackrest:
  configuration:
  - secret:
      name: c
  global:
    repo1-path: /pgbackrest/storage/files-postgres/repo1
    repo1-retention-full: "30"
    repo1-retention-full-type: time
  manual:
    options:
    - --type=full
    repoName: repo1
  repos:
  - name: repo1
    s3:
      bucket: b
      endpoint: e
      region: eu-west-3
    schedules:
      full: 0 4 * * 0
      incremental: 30 * * * *
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Percona = tc.percona })
			u := PerconaCluster(ds)
			if u.GetAPIVersion() != "pgv2.percona.com/v2" || u.GetKind() != "PerconaPGCluster" ||
				u.GetName() != "files-postgres" || u.GetNamespace() != "storage" {
				t.Errorf("%s %s %s/%s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName())
			}
			// Owned only when it goes with the server; otherwise kept.
			if refs := u.GetOwnerReferences(); PerconaDeletedWithServer(ds) != (len(refs) == 1 && equality.Semantic.DeepEqual(refs[0], OwnerReference(ds))) ||
				!PerconaDeletedWithServer(ds) && (len(refs) != 0 || u.GetLabels()[KeptForLabel] != ds.Name) {
				t.Errorf("deleteWithServer %v: owner references %+v, labels %v", PerconaDeletedWithServer(ds), refs, u.GetLabels())
			}
			if got := specYAML(t, u, "crVersion") + specYAML(t, u, "postgresVersion"); got != "2.8.0\n16\n" {
				t.Errorf("crVersion/postgresVersion %q", got)
			}
			for _, f := range []struct{ field, want string }{{"instances", tc.instances}, {"users", tc.users}, {"backups", tc.backups}} {
				if got := specYAML(t, u, f.field); got != f.want {
					t.Errorf("spec.%s:\n%s\nwant\n%s", f.field, got, f.want)
				}
			}
			_ = u.DeepCopy() // unstructured content must be JSON types
		})
	}
}

func TestPerconaState(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  string
		want string
	}{
		{"no status", `{"spec": {}}`, ""},
		{"initializing", `{"status": {"state": "initializing"}}`, "initializing"},
		{"ready", `{"status": {"state": "ready", "postgres": {"ready": 1}}}`, "ready"},
		{"malformed state", `{"status": {"state": 3}}`, ""},
		{"malformed status", `{"status": "ready"}`, ""},
	} {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(tc.obj), &m); err != nil {
			t.Fatal(err)
		}
		if got := PerconaState(&unstructured.Unstructured{Object: m}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if PerconaState(nil) != "" {
		t.Error("nil cluster has a state")
	}
}
