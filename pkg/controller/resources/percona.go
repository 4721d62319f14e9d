package resources

import (
	"fmt"
	"path"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// PerconaCRDName is the CRD whose presence turns the Percona watch on.
const PerconaCRDName = "perconapgclusters.pgv2.percona.com"

// PerconaGVR is the resource of the Percona Operator for PostgreSQL's clusters.
var PerconaGVR = schema.GroupVersionResource{Group: "pgv2.percona.com", Version: "v2", Resource: "perconapgclusters"}

// The Percona cluster the operator asks for.
const (
	PerconaAPIVersion      = "pgv2.percona.com/v2"
	PerconaKind            = "PerconaPGCluster"
	PerconaCRVersion       = "2.8.0"
	PerconaPostgresVersion = 16
	PerconaInstanceSet     = "instance1"
	PerconaBackupRepo      = "repo1"

	// PerconaStateReady is status.state of a cluster that serves.
	PerconaStateReady = "ready"
)

var defaultPerconaStorageSize = resource.MustParse("10Gi")

// Defaults of spec.percona and spec.percona.backup (the CRD's).
const (
	DefaultPerconaDatabase     = "dittofs"
	DefaultBackupRegion        = "us-east-1"
	DefaultBackupFullSchedule  = "0 2 * * *"
	DefaultBackupIncrSchedule  = "0 * * * *"
	DefaultBackupRetentionDays = 7
	defaultPerconaReplicas     = 1
)

// PerconaCluster is the PerconaPGCluster <name>-postgres holding the control
// plane's database. The controller creates it when missing and does not
// overwrite later edits. Numbers are int64: unstructured content must hold
// JSON-compatible types to be deep-copied.
func PerconaCluster(ds *dittov1alpha1.DittoServer) *unstructured.Unstructured {
	p := ds.Spec.Percona
	if p == nil {
		p = &dittov1alpha1.PerconaSpec{}
	}
	database := orDefault(p.DatabaseName, DefaultPerconaDatabase)
	replicas := int64(defaultPerconaReplicas)
	if p.Replicas != nil {
		replicas = int64(*p.Replicas)
	}
	size := quantityOr(p.StorageSize, defaultPerconaStorageSize)

	claim := map[string]any{
		"accessModes": []any{"ReadWriteOnce"},
		"resources":   map[string]any{"requests": map[string]any{"storage": size.String()}},
	}
	if p.StorageClassName != nil {
		claim["storageClassName"] = *p.StorageClassName
	}
	spec := map[string]any{
		"crVersion":       PerconaCRVersion,
		"postgresVersion": int64(PerconaPostgresVersion),
		"instances": []any{map[string]any{
			"name":                PerconaInstanceSet,
			"replicas":            replicas,
			"dataVolumeClaimSpec": claim,
		}},
		"users": []any{map[string]any{
			"name":      PerconaUser,
			"databases": []any{database},
		}},
		"backups": perconaBackups(ds, p.Backup),
	}

	// A kept cluster (deleteWithServer false) has no owner reference, so
	// that no deletion of the DittoServer lets the garbage collector take it.
	meta := keptMeta(ds, PerconaClusterName(ds), ComponentDatabase)
	if PerconaDeletedWithServer(ds) {
		meta.OwnerReferences = []metav1.OwnerReference{OwnerReference(ds)}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(PerconaAPIVersion)
	u.SetKind(PerconaKind)
	u.SetName(meta.Name)
	u.SetNamespace(meta.Namespace)
	u.SetLabels(meta.Labels)
	u.SetOwnerReferences(meta.OwnerReferences)
	return u
}

// perconaBackups is {enabled: false} unless backups are configured: since
// Percona 2.8 enabled backups (nil means enabled) need a repository. With a
// backup, pgBackRest writes to repo1 on S3 under a path of its own, with the
// credentials from the user's s3.conf Secret, full and incremental schedules,
// and full backups kept for retentionDays.
func perconaBackups(ds *dittov1alpha1.DittoServer, b *dittov1alpha1.PerconaBackupSpec) map[string]any {
	if b == nil || !b.Enabled {
		return map[string]any{"enabled": false}
	}
	retention := int64(DefaultBackupRetentionDays)
	if b.RetentionDays != nil {
		retention = int64(*b.RetentionDays)
	}
	pgbackrest := map[string]any{
		"global": map[string]any{
			"repo1-path":                path.Join("/pgbackrest", ds.Namespace, PerconaClusterName(ds), PerconaBackupRepo),
			"repo1-retention-full":      fmt.Sprint(retention),
			"repo1-retention-full-type": "time",
		},
		"manual": map[string]any{
			"repoName": PerconaBackupRepo,
			"options":  []any{"--type=full"},
		},
		"repos": []any{map[string]any{
			"name": PerconaBackupRepo,
			"s3": map[string]any{
				"bucket":   b.Bucket,
				"endpoint": b.Endpoint,
				"region":   orDefault(b.Region, DefaultBackupRegion),
			},
			"schedules": map[string]any{
				"full":        orDefault(b.FullSchedule, DefaultBackupFullSchedule),
				"incremental": orDefault(b.IncrSchedule, DefaultBackupIncrSchedule),
			},
		}},
	}
	if b.CredentialsSecretRef != nil && b.CredentialsSecretRef.Name != "" {
		pgbackrest["configuration"] = []any{map[string]any{
			"secret": map[string]any{"name": b.CredentialsSecretRef.Name},
		}}
	}
	return map[string]any{"enabled": true, "pgbackrest": pgbackrest}
}

// PerconaDeletedWithServer reports whether the Percona cluster goes with the
// DittoServer: Percona enabled with deleteWithServer. Only then does the
// cluster carry an owner reference.
func PerconaDeletedWithServer(ds *dittov1alpha1.DittoServer) bool {
	return PerconaEnabled(ds) && ds.Spec.Percona.DeleteWithServer
}

// PerconaState is the cluster's status.state: "", initializing, ready,
// paused or stopping. Missing or malformed status reads as "".
func PerconaState(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	state, _, _ := unstructured.NestedString(u.Object, "status", "state")
	return state
}
