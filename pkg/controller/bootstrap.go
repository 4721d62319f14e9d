package controller

import (
	"fmt"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// ReasonBackupNotReady: spec.bootstrap.fromBackup names a backup the server
// cannot be created from (yet).
const ReasonBackupNotReady = "BackupNotReady"

// bootstrapGate holds back a server created with spec.bootstrap.fromBackup
// before anything of it exists: its claims must come from the backup's
// snapshots, so an empty server must never be made in their place. This
// operator build does not restore yet (docs/backup.md): such a server waits
// with ConfigReady=False, reason BackupNotReady, and one Warning. A server
// whose StatefulSet exists already is past its bootstrap and runs as usual.
func bootstrapGate(ds *dittov1alpha1.DittoServer, obs *observation) error {
	b := ds.Spec.Bootstrap
	if b == nil || b.FromBackup == nil || obs.sts != nil {
		return nil
	}
	ns := b.FromBackup.Namespace
	if ns == "" {
		ns = ds.Namespace
	}
	msg := fmt.Sprintf("spec.bootstrap.fromBackup: restoring DittoBackup %s/%s is not supported by this operator version; nothing is created", ns, b.FromBackup.Name)
	obs.problem = &problem{ReasonBackupNotReady, msg}
	return kit.Waitf("%s", msg)
}
