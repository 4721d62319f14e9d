package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// object is what the write path needs of a typed child object.
type object interface {
	metav1.Object
	comparable
}

// writer is the one write path of one kind of child. ensure creates the
// child when the cache has no such object and updates it when the desired
// object's hash differs from the one recorded on the cached object;
// createOnce only creates (update is unused); deleteOwned deletes. All three
// consult and feed the read-your-writes memory, so that no sync step has to.
type writer[T object] struct {
	kind   string
	cached func(namespace, name string) (T, error) // from the lister
	live   func(ctx context.Context, namespace, name string) (T, error)
	create func(ctx context.Context, obj T) (T, error)
	update func(ctx context.Context, obj T) (T, error)
	// preserve copies into desired what the API server or others set on
	// existing that an update must keep (a Service's cluster IP, node ports).
	preserve func(desired, existing T)
	// inSync reports whether existing still carries every field desired sets.
	// With the recorded hash it catches edits made to a child behind the
	// operator's back; fields the API server defaults are not compared.
	inSync func(desired, existing T) bool
	// adopts reports whether an existing object is this DittoServer's to
	// use; nil means controlledBy. Kept objects (resources.KeptForLabel) are
	// also adopted by a DittoServer of the name they were kept for, and
	// orphans by a DittoServer of the name they are labelled with (adopt.go).
	adopts func(obj T, ds *dittov1alpha1.DittoServer) bool
	// recorder announces an adoption by ensure (a Normal Adopted event).
	recorder record.EventRecorder
	// own remembers the operator's writes, so that a pass on a cache that
	// misses one of them stops (kit.CacheBehind) instead of writing again.
	own *kit.OwnWrites
}

// existingOrCreated returns the object named namespace/name as the cluster
// has it, creating it from build when the cache has none. created reports
// that this call created it. An object this DittoServer does not control is
// a kit.NotOwned outcome; a cache that misses the operator's own last write
// of it is kit.CacheBehind.
func (w writer[T]) existingOrCreated(ctx context.Context, ds *dittov1alpha1.DittoServer, namespace, name string,
	build func() (T, error)) (obj T, created bool, err error) {
	var zero T
	owner, key := cache.MetaObjectToName(ds), kit.ObjectKey{Kind: w.kind, Namespace: namespace, Name: name}
	existing, err := w.cached(namespace, name)
	if v, ok := cachedVersion(existing, err); ok && w.own.Behind(owner, key, v) {
		return zero, false, kit.ErrCacheBehind
	}
	if apierrors.IsNotFound(err) {
		desired, err := build()
		if err != nil {
			return zero, false, err
		}
		obj, cerr := w.create(ctx, desired)
		switch {
		case cerr == nil:
			w.own.Record(owner, key, "")
			klog.FromContext(ctx).V(2).Info("Created", w.logKey(), klog.KObj(obj))
			return obj, true, nil
		case !apierrors.IsAlreadyExists(cerr):
			return zero, false, fmt.Errorf("create %s %s/%s: %w", w.kind, namespace, name, cerr)
		}
		// Either our own create that the cache has not seen yet, or a
		// foreign object outside the label-filtered cache: look once.
		if existing, err = w.live(ctx, namespace, name); err != nil {
			return zero, false, fmt.Errorf("get %s %s/%s: %w", w.kind, namespace, name, err)
		}
	} else if err != nil {
		return zero, false, fmt.Errorf("read %s %s/%s from cache: %w", w.kind, namespace, name, err)
	}
	if existing == zero {
		return zero, false, fmt.Errorf("%s %s/%s: empty cache entry", w.kind, namespace, name)
	}
	if !w.isOurs(existing, ds) {
		return zero, false, kit.NotOwnedError(w.kind, namespace, name, "DittoServer")
	}
	return existing, false, nil
}

func (w writer[T]) isOurs(obj T, ds *dittov1alpha1.DittoServer) bool {
	if w.adopts != nil {
		return w.adopts(obj, ds)
	}
	return controlledBy(obj, ds)
}

// ownedOrKept adopts what ds controls and what was kept for its name.
func ownedOrKept[T object](obj T, ds *dittov1alpha1.DittoServer) bool {
	return controlledBy(obj, ds) || resources.KeptFor(obj, ds)
}

// ownerRefsPatch is the merge patch that makes obj carry ds's controller
// reference (owned) or none of ds's references (kept), with
// resources.KeptForLabel either way, guarded by obj's resourceVersion. It is
// nil when obj already is as wanted.
func ownerRefsPatch(obj metav1.Object, ds *dittov1alpha1.DittoServer, owned bool) ([]byte, types.PatchType, error) {
	if controlledBy(obj, ds) == owned && obj.GetLabels()[resources.KeptForLabel] == ds.Name {
		return nil, "", nil
	}
	refs := []interface{}{}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID != ds.UID && !(ref.Kind == "DittoServer" && ref.Name == ds.Name) {
			refs = append(refs, ref)
		}
	}
	if owned {
		refs = append(refs, resources.OwnerReference(ds))
	}
	return mergePatchWithVersion(obj.GetResourceVersion(), map[string]interface{}{
		"ownerReferences": refs,
		"labels":          map[string]interface{}{resources.KeptForLabel: ds.Name},
	})
}

// ensure makes the cluster hold desired. It returns the object as the
// cluster now has it (the cached one when nothing was written) and whether
// it wrote. An orphan it adopts (adopt.go) is updated even when unchanged,
// so that it carries ds's owner reference again.
func ensure[T object](ctx context.Context, w writer[T], ds *dittov1alpha1.DittoServer, desired T) (T, bool, error) {
	var zero T
	hash := specHash(desired)
	setAnnotation(desired, SpecHashAnnotation, hash)
	ns, name := desired.GetNamespace(), desired.GetName()
	existing, created, err := w.existingOrCreated(ctx, ds, ns, name, func() (T, error) { return desired, nil })
	if err != nil || created {
		return existing, created, err
	}
	adopting := !controlledBy(existing, ds)
	if !adopting && existing.GetAnnotations()[SpecHashAnnotation] == hash && (w.inSync == nil || w.inSync(desired, existing)) {
		return existing, false, nil
	}
	mergeMeta(desired, existing)
	if w.preserve != nil {
		w.preserve(desired, existing)
	}
	updated, err := w.update(ctx, desired)
	if err != nil {
		return zero, false, fmt.Errorf("update %s %s/%s: %w", w.kind, ns, name, err)
	}
	w.own.Record(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: w.kind, Namespace: ns, Name: name}, existing.GetResourceVersion())
	klog.FromContext(ctx).V(2).Info("Updated", w.logKey(), klog.KObj(updated), "adopted", adopting)
	if adopting && w.recorder != nil {
		w.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonAdopted,
			"Adopted %s %s, left without an owner by an earlier DittoServer %s", w.kind, name, ds.Name)
	}
	return updated, true, nil
}

// createOnce makes sure the object exists, building it only when it must be
// created, and never writes it again: its content is fixed at creation (a
// generated secret) or later edits are the user's (a database cluster).
func createOnce[T object](ctx context.Context, w writer[T], ds *dittov1alpha1.DittoServer, namespace, name string,
	build func() (T, error)) (T, error) {
	obj, _, err := w.existingOrCreated(ctx, ds, namespace, name, build)
	return obj, err
}

// deleteOwned deletes a child that is no longer wanted, if this DittoServer
// controls it or may adopt it (an orphan of its name is deleted rather than
// adopted first). The UID precondition guards against deleting a newer namesake.
func deleteOwned[T object](ctx context.Context, w writer[T], ds *dittov1alpha1.DittoServer, namespace, name string,
	del func(ctx context.Context, name string, opts metav1.DeleteOptions) error) (bool, error) {
	owner, key := cache.MetaObjectToName(ds), kit.ObjectKey{Kind: w.kind, Namespace: namespace, Name: name}
	existing, err := w.cached(namespace, name)
	if v, ok := cachedVersion(existing, err); ok && w.own.Behind(owner, key, v) {
		return false, kit.ErrCacheBehind
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !w.isOurs(existing, ds) {
		return false, nil
	}
	uid := existing.GetUID()
	err = del(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("delete %s %s/%s: %w", w.kind, namespace, name, err)
	}
	w.own.Record(owner, key, existing.GetResourceVersion())
	klog.FromContext(ctx).V(2).Info("Deleted", w.logKey(), klog.KObj(existing))
	return true, nil
}

// cachedVersion is the resourceVersion of a lister result, "" when absent.
func cachedVersion[T object](obj T, err error) (string, bool) {
	var zero T
	switch {
	case apierrors.IsNotFound(err):
		return "", true
	case err != nil || obj == zero:
		return "", false
	}
	return obj.GetResourceVersion(), true
}

// logKey is the kind as a structured-log key, like "dittoserver" for the
// owner: "statefulset", "configmap".
func (w writer[T]) logKey() string { return strings.ToLower(w.kind) }

// controlledBy checks the controller reference by UID, not only by name.
func controlledBy(obj metav1.Object, ds *dittov1alpha1.DittoServer) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == ds.UID && ref.Kind == "DittoServer"
}

// specHash is a short hash of the desired object as the builders made it.
func specHash(obj interface{}) string { return resources.HashJSON(obj) }

func setAnnotation(obj metav1.Object, key, value string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	obj.SetAnnotations(a)
}

// mergeMeta prepares desired for an update of existing: it keeps labels,
// annotations, owner references and finalizers that others added, and the
// resourceVersion that guards the update.
func mergeMeta(desired, existing metav1.Object) {
	desired.SetResourceVersion(existing.GetResourceVersion())
	desired.SetLabels(mergeMaps(existing.GetLabels(), desired.GetLabels()))
	desired.SetAnnotations(mergeMaps(existing.GetAnnotations(), desired.GetAnnotations()))
	desired.SetFinalizers(existing.GetFinalizers())
	refs := desired.GetOwnerReferences()
	for _, ref := range existing.GetOwnerReferences() {
		if ref.Controller == nil || !*ref.Controller {
			refs = append(refs, ref)
		}
	}
	desired.SetOwnerReferences(refs)
}

func mergeMaps(base, overlay map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(overlay))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		out[k] = v
	}
	return out
}

// mergePatchWithVersion builds a JSON merge patch guarded by resourceVersion.
func mergePatchWithVersion(resourceVersion string, metadata map[string]interface{}) ([]byte, types.PatchType, error) {
	metadata["resourceVersion"] = resourceVersion
	data, err := json.Marshal(map[string]interface{}{"metadata": metadata})
	return data, types.MergePatchType, err
}
