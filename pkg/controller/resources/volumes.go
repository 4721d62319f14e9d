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
	VolumeMetadata     = "metadata"
	VolumeContent      = "content"
	VolumeCache        = "cache"
	VolumeControlPlane = "controlplane"
	volumeConfig       = "config"
)

var (
	defaultCacheSize        = resource.MustParse("5Gi")
	defaultControlPlaneSize = resource.MustParse("1Gi")
)

// dataVolume is one persistent volume of the server.
type dataVolume struct {
	name string
	size resource.Quantity
}

// dataVolumes are the server's persistent volumes in a fixed order; content
// exists only when sized.
func dataVolumes(ds *dittov1alpha1.DittoServer) []dataVolume {
	st := ds.Spec.Storage
	vols := []dataVolume{{VolumeMetadata, st.MetadataSize}}
	if st.ContentSize != nil && !st.ContentSize.IsZero() {
		vols = append(vols, dataVolume{VolumeContent, *st.ContentSize})
	}
	vols = append(vols,
		dataVolume{VolumeCache, quantityOr(st.CacheSize, defaultCacheSize)},
		dataVolume{VolumeControlPlane, quantityOr(st.ControlPlaneSize, defaultControlPlaneSize)},
	)
	return vols
}

func quantityOr(q *resource.Quantity, def resource.Quantity) resource.Quantity {
	if q == nil {
		return def.DeepCopy()
	}
	return q.DeepCopy()
}

// volumeClaimTemplates are immutable once the StatefulSet exists, which is why
// spec.storage is immutable too. The fields the API server would default are
// written out so the desired object equals the stored one.
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

// volumes are the pod's own volumes: only the configuration.
func volumes(ds *dittov1alpha1.DittoServer) []corev1.Volume {
	return []corev1.Volume{{
		Name: volumeConfig,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(ds)},
			Items:                []corev1.KeyToPath{{Key: ConfigFileKey, Path: ConfigFileKey}},
			DefaultMode:          ptr.To[int32](0o644),
		}},
	}}
}

// volumeMounts mount the configuration read-only and each data volume at
// /data/<name>, where the default paths of the server's stores point.
func volumeMounts(ds *dittov1alpha1.DittoServer) []corev1.VolumeMount {
	mounts := []corev1.VolumeMount{{Name: volumeConfig, MountPath: ConfigDir, ReadOnly: true}}
	for _, v := range dataVolumes(ds) {
		mounts = append(mounts, corev1.VolumeMount{Name: v.name, MountPath: path.Join(DataDir, v.name)})
	}
	return mounts
}
