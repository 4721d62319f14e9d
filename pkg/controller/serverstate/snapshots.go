package serverstate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// convergeSnapshotPolicy makes the share's snapshot policy the declared one
// and returns whether the operator's policy is now set on the server.
//
// The policy is read only for shares that declare one, so shares without a
// policy cost no extra call per resync. A policy removed from the spec is
// deleted once: status.snapshotPolicyApplied remembers that the operator set
// one. A policy someone set on the server by hand for a share that never
// declared one is left alone.
func (c *Controller) convergeSnapshotPolicy(ctx context.Context, p *pass, api dfsapi.API, decl ShareDecl, created bool) (bool, error) {
	s, export := decl.Obj, decl.Share.Name
	want := decl.SnapshotPolicy
	if want == nil {
		if !s.Status.SnapshotPolicyApplied {
			return false, nil
		}
		if err := api.DeleteSnapshotPolicy(ctx, export); err != nil {
			return true, fmt.Errorf("deleting the snapshot policy of share %s: %w", export, err)
		}
		c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonDeleted, "Deleted the snapshot policy of share %s on DittoServer %q", export, p.ds.Name)
		return false, nil
	}
	// A share created in this pass has no policy yet.
	if !created {
		got, err := api.GetSnapshotPolicy(ctx, export)
		if err != nil {
			return s.Status.SnapshotPolicyApplied, fmt.Errorf("reading the snapshot policy of share %s: %w", export, err)
		}
		if got != nil && *got == *want {
			return true, nil
		}
	}
	if err := api.PutSnapshotPolicy(ctx, export, *want); err != nil {
		return s.Status.SnapshotPolicyApplied, fmt.Errorf("setting the snapshot policy of share %s: %w", export, err)
	}
	c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonUpdated, "Set the snapshot policy of share %s on DittoServer %q: every %s", export, p.ds.Name, want.Interval)
	return true, nil
}
