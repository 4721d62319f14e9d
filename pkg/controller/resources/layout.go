package resources

import (
	"path"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Stable names of the stores the operator declares through the server's REST API.
const (
	MetadataStoreName    = "default"
	LocalBlockStoreName  = "default"
	RemoteBlockStoreName = "s3"
)

// MetadataStorePath is the directory of the badger metadata store, on the
// metadata volume.
func MetadataStorePath() string { return path.Join(DataDir, VolumeMetadata, "store") }

// LocalBlockStorePath is the directory of the local block store, on the
// content volume.
func LocalBlockStorePath() string { return path.Join(DataDir, VolumeContent, "blocks") }

// ClaimName is the PersistentVolumeClaim the StatefulSet controller makes
// from the claim template named template for the server's pod (ordinal 0):
// <template>-<StatefulSet>-0. The pod keeps it across restarts and
// re-creations of the StatefulSet.
func ClaimName(ds *dittov1alpha1.DittoServer, template string) string {
	return template + "-" + StatefulSetName(ds) + "-0"
}
