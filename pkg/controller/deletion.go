package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// CleanupTimeout bounds how long a failing cleanup holds the finalizer.
const CleanupTimeout = 60 * time.Second

// finalize runs the deletion path: phase Deleting, the PostgreSQL cluster
// deleted or kept as the spec says, then the finalizer released so that
// garbage collection removes the owned children. Volume claims, generated
// Secrets and a kept Percona cluster stay, unless deletionPolicy is Delete.
func (c *Controller) finalize(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	if !hasFinalizer(ds) {
		return nil
	}
	logger := klog.FromContext(ctx)
	if ds.Status.Phase != dittov1alpha1.PhaseDeleting {
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonDeleting, "DittoServer is being deleted, cleaning up resources")
		status := ds.Status.DeepCopy()
		status.Phase = dittov1alpha1.PhaseDeleting
		written, err := c.applyStatus(ctx, ds, status)
		switch {
		case err != nil:
			logger.V(2).Info("Could not record the Deleting phase", "err", err)
		case written != nil:
			// The finalizer patch is guarded by the new resourceVersion.
			ds = written
		}
	}

	kept, err := c.cleanupPercona(ctx, ds)
	if err == nil && deletesData(ds) {
		err = c.deleteData(ctx, ds)
	}
	if err != nil {
		elapsed := c.now().Sub(ds.DeletionTimestamp.Time)
		if elapsed < CleanupTimeout {
			return kit.In("cleanup", err)
		}
		if kept != "" {
			// Releasing the finalizer now would let the garbage collector
			// delete a database the user asked to keep.
			c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonDeletionBlocked,
				"Deletion blocked: PerconaPGCluster %s must be kept (deleteWithServer=false) but still has this DittoServer as owner (%v). "+
					"Remove its ownerReference to this DittoServer, or set spec.percona.deleteWithServer=true to delete it",
				kept, err)
			return kit.Waitf("deletion blocked: PerconaPGCluster %s must be kept: %v", kept, err)
		}
		c.recorder.Eventf(ds, corev1.EventTypeWarning, ReasonCleanupTimeout,
			"Cleanup timeout exceeded (%v), forcing finalizer removal: %v", CleanupTimeout, err)
	}
	if err := c.removeFinalizer(ctx, ds); err != nil {
		return kit.In("remove finalizer", err)
	}
	if kept != "" {
		// Said once per deletion: only the pass that releases the finalizer
		// gets here, and no pass follows it (nor one of a restarted operator).
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonPerconaOrphaned,
			"PerconaPGCluster %s kept, with its data (deleteWithServer=false); a DittoServer created again as %s uses it, "+
				"or delete it when no longer needed: kubectl -n %s delete perconapgcluster %s", kept, ds.Name, ds.Namespace, kept)
	}
	return nil
}

// cleanupPercona deletes the DittoServer's PerconaPGCluster when it goes
// with the server (deleteWithServer, or deletionPolicy Delete), and
// otherwise makes sure the cluster is kept. It returns the name of the
// cluster kept, "" when none is. A kept cluster carries no owner reference,
// except when deleteWithServer was true until just before the deletion and
// no pass has removed it since: it is removed here, before the finalizer
// is, else the garbage collector would delete the database. On an error, a
// non-empty name says that the cluster must be kept and may still be owned
// by this DittoServer.
func (c *Controller) cleanupPercona(ctx context.Context, ds *dittov1alpha1.DittoServer) (kept string, err error) {
	// The cluster is looked for even when spec.percona is no longer enabled
	// (which also clears status.perconaClusterName): a cluster created earlier
	// may still be there, kept for this DittoServer.
	name := ds.Status.PerconaClusterName
	if name == "" {
		name = resources.PerconaClusterName(ds)
	}
	usedPercona := ds.Status.PerconaClusterName != "" || ds.Spec.Percona != nil
	keep := !resources.PerconaDeletedWithServer(ds) && !deletesData(ds)
	mustKeep := ""
	if keep {
		mustKeep = name
	}
	lister, state := c.percona.Lister()
	switch state {
	case crdwatch.NotInstalled:
		return "", nil
	case crdwatch.Syncing:
		if !usedPercona {
			return "", nil // never ran a cluster: nothing to wait for
		}
		return mustKeep, fmt.Errorf("the PerconaPGCluster cache has not synced yet")
	}
	obj, err := lister.ByNamespace(ds.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return mustKeep, fmt.Errorf("read PerconaPGCluster %s: %w", name, err)
	}
	cluster, ok := obj.(*unstructured.Unstructured)
	if !ok || !ownedOrKept(cluster, ds) {
		return "", nil // never ours
	}
	client := c.dyn.Resource(resources.PerconaGVR).Namespace(ds.Namespace)
	if !keep {
		uid := cluster.GetUID()
		err := client.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("delete PerconaPGCluster %s: %w", name, err)
		}
		// The user asked for it: a Normal event, not an alarm.
		why := "deleteWithServer=true"
		if deletesData(ds) {
			why = "deletionPolicy=Delete"
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonPerconaDeleted, "PerconaPGCluster %s deleted (%s)", name, why)
		return "", nil
	}
	if !controlledBy(cluster, ds) {
		return name, nil // no reference the garbage collector could follow
	}
	data, pt, err := ownerRefsPatch(cluster, ds, false)
	if err != nil {
		return name, err
	}
	if _, err := client.Patch(ctx, name, pt, data, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return name, fmt.Errorf("orphan PerconaPGCluster %s: %w", name, err)
	}
	return name, nil
}
