package resources

import (
	"path"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// StorageLayout says which persistent volumes a server's StatefulSet claims.
// Volume claim templates cannot change once a StatefulSet exists, so a server
// keeps the layout it was created with; new servers get the current one.
type StorageLayout string

const (
	// LayoutTwoVolumes is the current layout: a metadata volume (the metadata
	// store and the control-plane SQLite database, also mounted at
	// /data/controlplane) and a content volume (the local block store: all
	// content without S3, the write-through cache tier with S3).
	LayoutTwoVolumes StorageLayout = "two-volumes"
	// LayoutLegacy is the layout of servers created before: metadata,
	// optional content, cache and controlplane volumes.
	LayoutLegacy StorageLayout = "legacy"
)

// StorageLayoutOf is the layout of an existing StatefulSet, or the current
// layout when there is none yet (nil).
func StorageLayoutOf(sts *appsv1.StatefulSet) StorageLayout {
	if sts == nil {
		return LayoutTwoVolumes
	}
	for _, t := range sts.Spec.VolumeClaimTemplates {
		if t.Name == VolumeCache || t.Name == VolumeControlPlane {
			return LayoutLegacy
		}
	}
	return LayoutTwoVolumes
}

// Stable names of the stores the operator declares through the server's REST API.
const (
	MetadataStoreName    = "default"
	LocalBlockStoreName  = "default"
	RemoteBlockStoreName = "s3"
)

// MetadataStorePath is the directory of the badger metadata store, on the
// metadata volume in every layout.
func MetadataStorePath() string { return path.Join(DataDir, VolumeMetadata, "store") }

// LocalBlockStorePath is the directory of the local block store: on the
// content volume when the server has one, else (legacy servers without
// content) on the cache volume.
func LocalBlockStorePath(sts *appsv1.StatefulSet) string {
	vol := VolumeContent
	if StorageLayoutOf(sts) == LayoutLegacy {
		vol = VolumeCache
		for _, t := range sts.Spec.VolumeClaimTemplates {
			if t.Name == VolumeContent {
				vol = VolumeContent
			}
		}
	}
	return path.Join(DataDir, vol, "blocks")
}

// ClaimName is the PersistentVolumeClaim the StatefulSet controller makes
// from the claim template named template for the server's pod (ordinal 0):
// <template>-<StatefulSet>-0. The pod keeps it across restarts and
// re-creations of the StatefulSet.
func ClaimName(ds *dittov1alpha1.DittoServer, template string) string {
	return template + "-" + StatefulSetName(ds) + "-0"
}

// StorageLayoutOfClaims is the layout of a server whose StatefulSet is gone
// (re-created with orphan deletion, or deleted behind the operator's back)
// but whose claims are kept: a claim made from a cache or controlplane
// template marks a legacy server, whose re-created StatefulSet must claim
// the same volumes again. hasClaim reports whether the server's claim from
// the named template exists.
func StorageLayoutOfClaims(hasClaim func(template string) bool) StorageLayout {
	if hasClaim(VolumeCache) || hasClaim(VolumeControlPlane) {
		return LayoutLegacy
	}
	return LayoutTwoVolumes
}
