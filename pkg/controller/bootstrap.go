package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// bootstrapGate restores a server created with spec.bootstrap.fromBackup
// before anything else of it exists: its credentials Secrets and its claims
// come from the backup (restore.go), so an empty server is never made in
// their place. A backup that cannot be restored (not found, not Completed,
// not admitted, another layout or larger claims) holds the server with
// ConfigReady=False, a reason saying why, and one Warning; nothing is
// created. Once the claims exist, made from a backup, the pass goes on; a
// server whose StatefulSet exists is past its bootstrap and never restored
// again.
func (c *Controller) bootstrapGate(ctx context.Context, ds *dittov1alpha1.DittoServer, obs *observation) error {
	b := ds.Spec.Bootstrap
	if b == nil || b.FromBackup == nil || obs.sts != nil {
		return nil
	}
	templates := resources.VolumeClaimTemplates(ds)
	done, uid, p := c.restoredClaims(ds, templates)
	if p == nil && done {
		if ds.Status.RestoredFrom == nil {
			obs.restoredFrom = &dittov1alpha1.RestoredFrom{Backup: b.FromBackup.Name, Namespace: backupNamespace(ds), UID: types.UID(uid)}
		}
		return nil
	}
	if p == nil {
		var err error
		var from types.UID
		if p, from, err = c.restore(ctx, ds, templates); err != nil {
			return kit.In("restore", err)
		}
		// Recorded by this pass: the next one finds the StatefulSet and
		// leaves the gate before looking at the claims.
		if p == nil && ds.Status.RestoredFrom == nil {
			obs.restoredFrom = &dittov1alpha1.RestoredFrom{Backup: b.FromBackup.Name, Namespace: backupNamespace(ds), UID: from}
		}
	}
	if p != nil {
		obs.problem = p
		return kit.Waitf("%s", p.message)
	}
	return nil
}

// restore creates the server's credentials Secrets, then its claims, from
// the backup, with one Normal event, and returns the backup's UID, which the
// pass records (status.restoredFrom).
func (c *Controller) restore(ctx context.Context, ds *dittov1alpha1.DittoServer, templates []corev1.PersistentVolumeClaim) (*problem, types.UID, error) {
	src, p, err := c.restoreSourceOf(ctx, ds, templates)
	if p != nil || err != nil {
		return p, "", err
	}
	if p, err := c.restoreSecrets(ctx, ds, src); p != nil || err != nil {
		return p, "", err
	}
	b := src.backup
	created, p, err := c.restoreClaims(ctx, ds, src, templates)
	if p != nil || err != nil || created == 0 {
		return p, b.UID, err
	}
	c.recorder.Event(ds, corev1.EventTypeNormal, ReasonRestoring,
		fmt.Sprintf("Restoring from DittoBackup %s/%s: credentials Secrets and claims created from its snapshots", b.Namespace, b.Name))
	return nil, b.UID, nil
}
