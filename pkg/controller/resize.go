package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/volumes"
)

// Growing the server's volumes: pkg/controller/volumes plans it from the
// caches; the controller raises the claims' requests (raiseClaimRequest),
// re-creates the StatefulSet when its templates grow (recreate.go), and
// reports with the StorageResized condition and its events.

// resizeState is what the StorageResized condition says.
type resizeState struct {
	done    bool
	reason  string
	message string
}

// resizeVolumes brings the claims and desired's templates to the spec's
// sizes, before desired is written, and records the condition in obs. It
// reports whether the existing StatefulSet's templates must be replaced by
// desired's (recreateStatefulSet). desired's templates never ask for less
// than the existing ones: a StatefulSet whose templates cannot grow keeps
// them, so the update that follows leaves them alone.
func (c *Controller) resizeVolumes(ctx context.Context, ds *dittov1alpha1.DittoServer, desired *appsv1.StatefulSet, obs *observation) (bool, error) {
	owner := cache.MetaObjectToName(ds)
	plan, err := c.volumeReader.Plan(ds, desired, obs.sts, func(claim, version string) error {
		if c.ownWrites.Behind(owner, claimKey(ds, claim), version) {
			return kit.ErrCacheBehind
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if len(plan.Growing) == 0 {
		obs.resize = resizeProgress(ds, plan.Claims)
		return false, nil
	}
	class, refusal, err := c.volumeReader.ExpansionClass(ds, plan.Claims)
	if err != nil {
		return false, err
	}
	if refusal != "" {
		volumes.KeepTemplateSizes(desired, obs.sts)
		obs.resize = &resizeState{reason: ReasonVolumeExpansionNotAllowed, message: fmt.Sprintf(
			"%s: %s keep their size; set allowVolumeExpansion: true on the StorageClass to grow them", refusal, volumes.DescribeGrowth(plan.Growing))}
		return false, nil
	}
	var raised []string
	for _, cl := range plan.Growing {
		if cl.PVC == nil || cl.Want.Cmp(volumes.RequestOf(cl.PVC)) <= 0 {
			continue
		}
		before := volumes.RequestOf(cl.PVC)
		if cl.PVC, err = c.raiseClaimRequest(ctx, ds, cl.PVC, cl.Want); err != nil {
			return false, err
		}
		raised = append(raised, fmt.Sprintf("%s %s → %s", cl.Name, before.String(), cl.Want.String()))
	}
	if len(raised) > 0 {
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonResizingVolumes,
			"Raised the requests of volume claims (StorageClass %q allows expansion): %s", class, strings.Join(raised, ", "))
	}
	obs.resize = resizeProgress(ds, plan.Claims)
	return plan.TemplatesGrow, nil
}

// raiseClaimRequest is the one write of a claim: its storage request, raised
// to want with a merge patch guarded by the cached resourceVersion. The
// operator never creates or deletes a claim here.
func (c *Controller) raiseClaimRequest(ctx context.Context, ds *dittov1alpha1.DittoServer, pvc *corev1.PersistentVolumeClaim,
	want resource.Quantity) (*corev1.PersistentVolumeClaim, error) {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": pvc.ResourceVersion},
		"spec":     map[string]any{"resources": map[string]any{"requests": map[string]any{string(corev1.ResourceStorage): want.String()}}},
	})
	if err != nil {
		return nil, fmt.Errorf("build the patch of PersistentVolumeClaim %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	updated, err := c.kube.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("raise the storage request of PersistentVolumeClaim %s/%s to %s: %w", pvc.Namespace, pvc.Name, want.String(), err)
	}
	c.ownWrites.Record(cache.MetaObjectToName(ds), claimKey(ds, pvc.Name), pvc.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Raised volume claim request", "persistentvolumeclaim", klog.KObj(pvc), "size", want.String())
	return updated, nil
}

func claimKey(ds *dittov1alpha1.DittoServer, name string) kit.ObjectKey {
	return kit.ObjectKey{Kind: "PersistentVolumeClaim", Namespace: ds.Namespace, Name: name}
}

// resizeProgress is the condition once the requests are raised: False while
// a claim's capacity is below its size (volumes.Pending); True when every
// claim has its size, once the condition exists. A server that never grew
// gets no condition.
func resizeProgress(ds *dittov1alpha1.DittoServer, claims []volumes.Claim) *resizeState {
	switch pending := volumes.Pending(claims); {
	case len(pending) > 0:
		return &resizeState{reason: ReasonVolumesResizing,
			message: "Waiting for the storage to grow volume claims: " + strings.Join(pending, "; ")}
	case meta.FindStatusCondition(ds.Status.Conditions, ConditionStorageResized) != nil:
		return &resizeState{done: true, reason: ReasonVolumesResized, message: "Every volume claim has the size the spec asks for"}
	}
	return nil
}

// emitResizeEvents marks StorageResized transitions: one Warning when it
// turns False because the volumes cannot grow (again only when the message
// changes: another size asked for), one Normal event when it turns True.
func (c *Controller) emitResizeEvents(ds *dittov1alpha1.DittoServer, next dittov1alpha1.DittoServerStatus) {
	n := meta.FindStatusCondition(next.Conditions, ConditionStorageResized)
	if n == nil {
		return
	}
	o := meta.FindStatusCondition(ds.Status.Conditions, ConditionStorageResized)
	switch {
	case n.Reason == ReasonVolumeExpansionNotAllowed:
		if o == nil || o.Reason != n.Reason || o.Message != n.Message {
			c.recorder.Event(ds, corev1.EventTypeWarning, ReasonVolumeExpansionNotAllowed, n.Message)
		}
	case n.Status == metav1.ConditionTrue && (o == nil || o.Status != metav1.ConditionTrue):
		c.recorder.Event(ds, corev1.EventTypeNormal, ReasonVolumesResized, n.Message)
	}
}

// registerResizeHandlers requeues a DittoServer when one of its claims
// changes (a capacity that grew) and, when a StorageClass starts or stops
// allowing expansion, every DittoServer waiting on that.
func (c *Controller) registerResizeHandlers(inf caches.Informers) error {
	if _, err := inf.PersistentVolumeClaims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.handleClaim,
		UpdateFunc: func(oldObj, newObj interface{}) {
			if !caches.Unchanged(oldObj, newObj) {
				c.handleClaim(newObj)
			}
		},
		DeleteFunc: c.handleClaim,
	}); err != nil {
		return fmt.Errorf("add PersistentVolumeClaim handler: %w", err)
	}
	if _, err := inf.StorageClasses.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.handleStorageClassUpdate,
	}); err != nil {
		return fmt.Errorf("add StorageClass update handler: %w", err)
	}
	return nil
}

// handleClaim requeues the DittoServer a claim belongs to: claims have no
// owner (they outlive the DittoServer), their template labels name it.
func (c *Controller) handleClaim(obj interface{}) {
	m, ok := metaOf(obj)
	if !ok {
		return
	}
	l := m.GetLabels()
	if l[resources.ComponentLabel] != resources.ComponentStorage || l[resources.InstanceLabel] == "" {
		return
	}
	if _, err := c.dsLister.DittoServers(m.GetNamespace()).Get(l[resources.InstanceLabel]); err != nil {
		return
	}
	c.enqueue(cache.ObjectName{Namespace: m.GetNamespace(), Name: l[resources.InstanceLabel]})
}

func (c *Controller) handleStorageClassUpdate(oldObj, newObj interface{}) {
	o, ok1 := oldObj.(*storagev1.StorageClass)
	n, ok2 := newObj.(*storagev1.StorageClass)
	if !ok1 || !ok2 || (o.AllowVolumeExpansion != nil && *o.AllowVolumeExpansion) == (n.AllowVolumeExpansion != nil && *n.AllowVolumeExpansion) {
		return
	}
	c.enqueueServersWhere(func(ds *dittov1alpha1.DittoServer) bool {
		return meta.IsStatusConditionFalse(ds.Status.Conditions, ConditionStorageResized)
	})
}
