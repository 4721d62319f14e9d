package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// Re-creating a StatefulSet without restarting its pod.
//
// Some StatefulSet fields cannot be updated (the volume claim templates, the
// pod management policy). The way to change them is to delete the
// StatefulSet with orphan propagation — the garbage collector removes the
// StatefulSet's owner reference from its pod and ControllerRevisions instead
// of deleting them, so the pod keeps running and its claims stay bound — and
// to create it again with the new fields. The new StatefulSet selects the
// same pod, adopts it, and, its pod template being the same, finds the pod at
// its update revision: nothing restarts.
//
// It takes two passes, and an operator that stops anywhere in between
// resumes on the next one:
//  1. recreateStatefulSet deletes the StatefulSet (guarded by UID and
//     resourceVersion) and ends the pass;
//  2. while the garbage collector orphans the pod, the StatefulSet carries a
//     deletionTimestamp: waitForStatefulSetDeletion ends the pass;
//  3. once it is gone, the usual write path (ensure) creates it from the
//     builder, with the new fields.
//
// A crash before 1 decides again on the next pass; after 1 the next pass
// finds the StatefulSet deleting (2) or gone (3). Nothing here deletes a pod
// or a claim.

// recreateStatefulSet deletes existing with orphan propagation, so that the
// next pass creates it with fields an update cannot change, and says why in
// one Normal event. It ends the pass (Waiting); the informer's delete event
// requeues the DittoServer.
func (c *Controller) recreateStatefulSet(ctx context.Context, ds *dittov1alpha1.DittoServer, existing *appsv1.StatefulSet, why string) error {
	owner, key := cache.MetaObjectToName(ds), kit.ObjectKey{Kind: "StatefulSet", Namespace: existing.Namespace, Name: existing.Name}
	if c.ownWrites.Behind(owner, key, existing.ResourceVersion) {
		return kit.ErrCacheBehind
	}
	uid, version := existing.UID, existing.ResourceVersion
	err := c.kube.AppsV1().StatefulSets(existing.Namespace).Delete(ctx, existing.Name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan),
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &version},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete StatefulSet %s/%s with orphan propagation: %w", existing.Namespace, existing.Name, err)
	}
	c.ownWrites.Record(owner, key, version)
	klog.FromContext(ctx).Info("Deleted StatefulSet with orphan propagation, to re-create it", "statefulset", klog.KObj(existing), "why", why)
	c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonRecreatingStatefulSet,
		"Re-creating StatefulSet %s without restarting its pod: %s", existing.Name, why)
	return kit.Waitf("StatefulSet %s deleted with orphan propagation; it is re-created once gone", existing.Name)
}

// waitForStatefulSetDeletion ends a pass that finds the StatefulSet being
// deleted: it can be neither updated nor created again until it is gone.
func waitForStatefulSetDeletion(sts *appsv1.StatefulSet) error {
	return kit.Waitf("StatefulSet %s is being deleted; it is re-created once gone", sts.Name)
}
