package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
)

// Growing the server's volumes.
//
// spec.storage's sizes can grow (admission refuses a shrink). The sizes reach
// three places, in this order, each step safe to repeat after a restart:
//  1. the running server's claims (<template>-<name>-0): their requests are
//     raised, when the StorageClass allows volume expansion; the storage
//     side then grows the volume and the claim's status.capacity follows;
//  2. the StatefulSet's volume claim templates, which an update cannot
//     change: the StatefulSet is re-created with orphan deletion
//     (recreate.go), so the pod keeps running;
//  3. the StorageResized condition, False with the claims still growing
//     until every claim's capacity has its size, then True.
//
// When the StorageClass does not allow expansion (or no StorageClass is
// known), nothing changes: the StatefulSet keeps its templates, the claims
// their requests, and the condition with one Warning event says why.

// resizeState is what the StorageResized condition says.
type resizeState struct {
	done    bool
	reason  string
	message string
}

// claimSize is one volume claim of the server and the size the spec asks for.
type claimSize struct {
	template string
	claim    string
	want     resource.Quantity
	// current is the template's request in the existing StatefulSet; nil
	// when there is no StatefulSet or it has no such template.
	current *resource.Quantity
	// pvc is the cached claim; nil when the StatefulSet has not made it yet.
	pvc *corev1.PersistentVolumeClaim
}

// resizeVolumes brings the claims and desired's templates to the spec's
// sizes, before desired is written, and records the condition in obs. It
// reports whether the existing StatefulSet's templates must be replaced by
// desired's (recreateStatefulSet). desired's templates never ask for less
// than the existing ones: a StatefulSet whose templates cannot grow keeps
// them, so the update that follows leaves them alone.
func (c *Controller) resizeVolumes(ctx context.Context, ds *dittov1alpha1.DittoServer, desired *appsv1.StatefulSet, obs *observation) (bool, error) {
	claims, err := c.claimSizes(ds, desired, obs.sts)
	if err != nil {
		return false, err
	}
	var growing []*claimSize
	templatesGrow := false
	for i := range claims {
		cl := &claims[i]
		templateGrows := cl.current != nil && cl.want.Cmp(*cl.current) > 0
		if templateGrows || (cl.pvc != nil && cl.want.Cmp(requestOf(cl.pvc)) > 0) {
			growing = append(growing, cl)
		}
		templatesGrow = templatesGrow || templateGrows
	}
	if len(growing) == 0 {
		obs.resize = resizeProgress(ds, claims)
		return false, nil
	}
	class, refusal, err := c.expansionClass(ds, claims)
	if err != nil {
		return false, err
	}
	if refusal != "" {
		keepTemplateSizes(desired, obs.sts)
		obs.resize = &resizeState{reason: ReasonVolumeExpansionNotAllowed, message: fmt.Sprintf(
			"%s: %s keep their size; set allowVolumeExpansion: true on the StorageClass to grow them", refusal, describeGrowth(growing))}
		return false, nil
	}
	var raised []string
	for _, cl := range growing {
		if cl.pvc == nil || cl.want.Cmp(requestOf(cl.pvc)) <= 0 {
			continue
		}
		before := requestOf(cl.pvc)
		if cl.pvc, err = c.raiseClaimRequest(ctx, ds, cl.pvc, cl.want); err != nil {
			return false, err
		}
		raised = append(raised, fmt.Sprintf("%s %s → %s", cl.claim, before.String(), cl.want.String()))
	}
	if len(raised) > 0 {
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonResizingVolumes,
			"Raised the requests of volume claims (StorageClass %q allows expansion): %s", class, strings.Join(raised, ", "))
	}
	obs.resize = resizeProgress(ds, claims)
	return templatesGrow, nil
}

// claimSizes lists desired's claim templates with what exists of each. A
// template that would shrink is set back to the existing size: volumes never
// shrink, whatever an object stored before admission refused it says.
func (c *Controller) claimSizes(ds *dittov1alpha1.DittoServer, desired, existing *appsv1.StatefulSet) ([]claimSize, error) {
	current := map[string]resource.Quantity{}
	if existing != nil {
		for _, t := range existing.Spec.VolumeClaimTemplates {
			current[t.Name] = requestOf(&t)
		}
	}
	owner := cache.MetaObjectToName(ds)
	var claims []claimSize
	for i := range desired.Spec.VolumeClaimTemplates {
		t := &desired.Spec.VolumeClaimTemplates[i]
		cl := claimSize{template: t.Name, claim: resources.ClaimName(ds, t.Name), want: requestOf(t)}
		if cur, ok := current[t.Name]; ok {
			cl.current = &cur
			if cl.want.Cmp(cur) < 0 {
				t.Spec.Resources.Requests[corev1.ResourceStorage] = cur.DeepCopy()
				cl.want = cur.DeepCopy()
			}
		}
		pvc, err := c.pvcLister.PersistentVolumeClaims(ds.Namespace).Get(cl.claim)
		if v, ok := cachedVersion(pvc, err); ok && c.ownWrites.Behind(owner, claimKey(ds, cl.claim), v) {
			return nil, kit.ErrCacheBehind
		}
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("read PersistentVolumeClaim %s/%s from cache: %w", ds.Namespace, cl.claim, err)
		case pvc.DeletionTimestamp == nil:
			cl.pvc = pvc
		}
		claims = append(claims, cl)
	}
	return claims, nil
}

// expansionClass names the StorageClass of the claims, or says why they
// cannot grow. The class is the one a claim was made with (the API server
// fills in the default class at creation), else spec.storage's, else the
// cluster's default.
func (c *Controller) expansionClass(ds *dittov1alpha1.DittoServer, claims []claimSize) (string, string, error) {
	name := ""
	for _, cl := range claims {
		if cl.pvc != nil && cl.pvc.Spec.StorageClassName != nil && *cl.pvc.Spec.StorageClassName != "" {
			name = *cl.pvc.Spec.StorageClassName
			break
		}
	}
	if name == "" && ds.Spec.Storage.StorageClassName != nil {
		name = *ds.Spec.Storage.StorageClassName
	}
	if name == "" {
		def, err := c.defaultStorageClass()
		if err != nil {
			return "", "", err
		}
		if def == nil {
			return "", "No StorageClass is known for the volumes (spec.storage.storageClassName is unset and the cluster has no default StorageClass)", nil
		}
		name = def.Name
	}
	sc, err := c.scLister.Get(name)
	switch {
	case apierrors.IsNotFound(err):
		return name, fmt.Sprintf("StorageClass %q of the volumes does not exist", name), nil
	case err != nil:
		return "", "", fmt.Errorf("read StorageClass %s from cache: %w", name, err)
	case sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion:
		return name, fmt.Sprintf("StorageClass %q does not allow volume expansion (allowVolumeExpansion is not true)", name), nil
	}
	return name, "", nil
}

// defaultStorageClass is the class the API server gives a claim without one:
// the newest marked default, as the DefaultStorageClass admission plugin
// chooses; nil when none is.
func (c *Controller) defaultStorageClass() (*storagev1.StorageClass, error) {
	all, err := c.scLister.List(everything)
	if err != nil {
		return nil, fmt.Errorf("list StorageClasses from cache: %w", err)
	}
	var def *storagev1.StorageClass
	for _, sc := range all {
		a := sc.Annotations
		if a["storageclass.kubernetes.io/is-default-class"] != "true" && a["storageclass.beta.kubernetes.io/is-default-class"] != "true" {
			continue
		}
		if def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&def.CreationTimestamp) && sc.Name < def.Name) {
			def = sc
		}
	}
	return def, nil
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
// a claim's capacity is below its size, naming each such claim with the
// claim's own conditions (FileSystemResizePending: the node grows the file
// system when the pod next mounts it); True when every claim has its size,
// once the condition exists. A server that never grew gets no condition.
func resizeProgress(ds *dittov1alpha1.DittoServer, claims []claimSize) *resizeState {
	var pending []string
	for _, cl := range claims {
		if cl.pvc == nil {
			continue
		}
		capacity, bound := cl.pvc.Status.Capacity[corev1.ResourceStorage]
		if !bound || capacity.IsZero() {
			continue // not provisioned yet: nothing to grow
		}
		target := cl.want
		if r := requestOf(cl.pvc); r.Cmp(target) > 0 {
			target = r
		}
		if capacity.Cmp(target) >= 0 {
			continue
		}
		desc := fmt.Sprintf("%s %s of %s", cl.claim, capacity.String(), target.String())
		for _, cond := range cl.pvc.Status.Conditions {
			if cond.Status == corev1.ConditionTrue {
				desc += fmt.Sprintf(" (%s", cond.Type)
				if cond.Message != "" {
					desc += ": " + cond.Message
				}
				desc += ")"
			}
		}
		pending = append(pending, desc)
	}
	switch {
	case len(pending) > 0:
		return &resizeState{reason: ReasonVolumesResizing,
			message: "Waiting for the storage to grow volume claims: " + strings.Join(pending, "; ")}
	case meta.FindStatusCondition(ds.Status.Conditions, ConditionStorageResized) != nil:
		return &resizeState{done: true, reason: ReasonVolumesResized, message: "Every volume claim has the size the spec asks for"}
	}
	return nil
}

// keepTemplateSizes sets desired's templates back to existing's sizes.
func keepTemplateSizes(desired, existing *appsv1.StatefulSet) {
	if existing == nil {
		return
	}
	current := map[string]resource.Quantity{}
	for _, t := range existing.Spec.VolumeClaimTemplates {
		current[t.Name] = requestOf(&t)
	}
	for i := range desired.Spec.VolumeClaimTemplates {
		t := &desired.Spec.VolumeClaimTemplates[i]
		if cur, ok := current[t.Name]; ok {
			t.Spec.Resources.Requests[corev1.ResourceStorage] = cur.DeepCopy()
		}
	}
}

func describeGrowth(growing []*claimSize) string {
	var parts []string
	for _, cl := range growing {
		from := cl.current
		if cl.pvc != nil {
			r := requestOf(cl.pvc)
			from = &r
		}
		if from == nil {
			parts = append(parts, fmt.Sprintf("%s (spec asks %s)", cl.claim, cl.want.String()))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (spec asks %s)", cl.claim, from.String(), cl.want.String()))
	}
	return "volume claims " + strings.Join(parts, ", ")
}

func requestOf(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
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
