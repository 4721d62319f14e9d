package resources

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Paths inside the server container.
const (
	ConfigDir  = "/config"
	ConfigPath = ConfigDir + "/" + ConfigFileKey
	DataDir    = "/data"
)

// Names of the volume claim templates, also their directories under DataDir.
// They are part of every PVC's name (<volume>-<name>-0), so they never change.
const (
	VolumeMetadata = "metadata"
	VolumeContent  = "content"
	volumeConfig   = "config"
)

// The control-plane directory: SQLite's file lives here (spec.database.sqlite.path
// must be under it), on the metadata volume, mounted a second time at this
// path from its subdirectory controlPlaneSubPath. The kubelet creates a
// missing subPath directory with the volume root's mode (setgid,
// group-writable under fsGroup), so the non-root server can write there.
const (
	ControlPlaneDir     = DataDir + "/controlplane"
	controlPlaneSubPath = "controlplane"
)

// defaultContentSize is the CRD's default of spec.storage.contentSize.
var defaultContentSize = resource.MustParse("5Gi")

// dataVolume is one persistent volume claim of the server.
type dataVolume struct {
	name string
	size resource.Quantity
}

// dataVolumes are the claims of a server, in a fixed order: metadata (the
// badger metadata store and, when the server uses SQLite, the control-plane
// database) and content (the local block store). Every server needs both,
// so a minimal server claims two volumes.
func dataVolumes(ds *dittov1alpha1.DittoServer) []dataVolume {
	return []dataVolume{{VolumeMetadata, ds.Spec.Storage.MetadataSize}, {VolumeContent, ContentVolumeSize(ds)}}
}

// ContentVolumeSize is the size of the volume that holds the local block
// store: spec.storage.contentSize (default 5Gi; 0 also means the default).
func ContentVolumeSize(ds *dittov1alpha1.DittoServer) resource.Quantity {
	if q := ds.Spec.Storage.ContentSize; q != nil && !q.IsZero() {
		return q.DeepCopy()
	}
	return defaultContentSize.DeepCopy()
}

// RemoteCacheSize is the bound, in bytes, of the local block store's
// write-through cache when the server has S3 credentials: the content volume
// less a headroom of 10% of it, at least 1 GiB (the floor of the server's
// per-share append-log budget, which lives in the same directory), at most
// half. 5Gi gives 4Gi; 100Gi gives 90Gi; 1Gi gives 512Mi. Shares that set
// their own local size, and shares without a remote store, ignore it.
func RemoteCacheSize(ds *dittov1alpha1.DittoServer) int64 {
	size := ContentVolumeSize(ds)
	bytes := size.Value()
	headroom := min(bytes/2, max(int64(1)<<30, bytes/10))
	return bytes - headroom
}

func quantityOr(q *resource.Quantity, def resource.Quantity) resource.Quantity {
	if q == nil {
		return def.DeepCopy()
	}
	return q.DeepCopy()
}

// VolumeClaimTemplates are the claim templates of ds's StatefulSet: a
// restore creates the claims they name before the StatefulSet.
func VolumeClaimTemplates(ds *dittov1alpha1.DittoServer) []corev1.PersistentVolumeClaim {
	return volumeClaimTemplates(ds)
}

// volumeClaimTemplates cannot be updated once the StatefulSet exists: a
// grown size reaches the templates
// by re-creating the StatefulSet with orphan deletion (pkg/controller,
// resize.go); the pod keeps running. The fields the API server would default are written out so the desired
// object equals the stored one.
func volumeClaimTemplates(ds *dittov1alpha1.DittoServer) []corev1.PersistentVolumeClaim {
	var claims []corev1.PersistentVolumeClaim
	for _, v := range dataVolumes(ds) {
		claims = append(claims, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:   v.name,
				Labels: Labels(ds, ComponentStorage),
			},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: v.size},
				},
				StorageClassName: ds.Spec.Storage.StorageClassName,
				VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
			},
		})
	}
	return claims
}

// volumes are the pod's own volumes: the configuration and, with TLS, the
// server certificate.
func volumes(ds *dittov1alpha1.DittoServer) []corev1.Volume {
	return append([]corev1.Volume{{
		Name: volumeConfig,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(ds)},
			Items:                []corev1.KeyToPath{{Key: ConfigFileKey, Path: ConfigFileKey}},
			DefaultMode:          ptr.To[int32](0o644),
		}},
	}}, tlsVolume(ds)...)
}

// volumeMounts mount the configuration read-only and each claim at
// /data/<claim>, where the stores' paths point (MetadataStorePath,
// LocalBlockStorePath, SQLitePath). The metadata claim is mounted a second
// time at /data/controlplane from its subdirectory "controlplane", only when
// the server keeps its database in SQLite. With TLS the certificate is mounted read-only at /tls.
func volumeMounts(ds *dittov1alpha1.DittoServer) []corev1.VolumeMount {
	mounts := append([]corev1.VolumeMount{{Name: volumeConfig, MountPath: ConfigDir, ReadOnly: true}}, tlsVolumeMount(ds)...)
	for _, v := range dataVolumes(ds) {
		mounts = append(mounts, corev1.VolumeMount{Name: v.name, MountPath: path.Join(DataDir, v.name)})
		if v.name == VolumeMetadata && !UsesPostgres(ds) {
			mounts = append(mounts, corev1.VolumeMount{Name: VolumeMetadata, MountPath: ControlPlaneDir, SubPath: controlPlaneSubPath})
		}
	}
	return mounts
}
