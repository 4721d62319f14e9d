// Package volumes decides how a server's volumes grow. spec.storage's sizes
// can grow (admission refuses a shrink). The sizes reach three places, in
// this order, each step safe to repeat after a restart:
//  1. the running server's claims (<template>-<name>-0): their requests are
//     raised, when the StorageClass allows volume expansion; the storage
//     side then grows the volume and the claim's status.capacity follows;
//  2. the StatefulSet's volume claim templates, which an update cannot
//     change: the StatefulSet is re-created with orphan deletion, so the
//     pod keeps running;
//  3. the StorageResized condition, False with the claims still growing
//     until every claim's capacity has its size, then True.
//
// When the StorageClass does not allow expansion (or no StorageClass is
// known), nothing changes: the StatefulSet keeps its templates, the claims
// their requests. This package reads the caches and plans; the controller
// writes (the claim patch, the re-creation) and reports.
package volumes

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Claim is one volume claim of the server and the size the spec asks for.
type Claim struct {
	Template string
	Name     string
	Want     resource.Quantity
	// Current is the template's request in the existing StatefulSet; nil
	// when there is no StatefulSet or it has no such template.
	Current *resource.Quantity
	// PVC is the cached claim; nil when the StatefulSet has not made it yet.
	PVC *corev1.PersistentVolumeClaim
}

// Plan is what growing the volumes takes: every claim, those that grow, and
// whether the StatefulSet's templates grow (it must then be re-created).
type Plan struct {
	Claims        []Claim
	Growing       []*Claim
	TemplatesGrow bool
}

// Reader reads the claims and StorageClasses from the informer caches.
type Reader struct {
	Claims  corelisters.PersistentVolumeClaimLister
	Classes storagelisters.StorageClassLister
}

// Plan lists desired's claim templates with what exists of each, and which
// grow. A template that would shrink is set back to the existing size in
// desired: volumes never shrink. cached is called with each cached claim's
// name and resourceVersion ("" when there is none); an error it returns (the
// cache is behind the operator's own write) ends the plan.
func (r Reader) Plan(ds *dittov1alpha1.DittoServer, desired, existing *appsv1.StatefulSet,
	cached func(claim, version string) error) (Plan, error) {
	current := map[string]resource.Quantity{}
	if existing != nil {
		for _, t := range existing.Spec.VolumeClaimTemplates {
			current[t.Name] = RequestOf(&t)
		}
	}
	var p Plan
	for i := range desired.Spec.VolumeClaimTemplates {
		t := &desired.Spec.VolumeClaimTemplates[i]
		cl := Claim{Template: t.Name, Name: resources.ClaimName(ds, t.Name), Want: RequestOf(t)}
		if cur, ok := current[t.Name]; ok {
			cl.Current = &cur
			if cl.Want.Cmp(cur) < 0 {
				t.Spec.Resources.Requests[corev1.ResourceStorage] = cur.DeepCopy()
				cl.Want = cur.DeepCopy()
			}
		}
		pvc, err := r.Claims.PersistentVolumeClaims(ds.Namespace).Get(cl.Name)
		switch {
		case apierrors.IsNotFound(err):
			err = cached(cl.Name, "")
		case err != nil:
			return Plan{}, fmt.Errorf("read PersistentVolumeClaim %s/%s from cache: %w", ds.Namespace, cl.Name, err)
		default:
			if err = cached(cl.Name, pvc.ResourceVersion); err == nil && pvc.DeletionTimestamp == nil {
				cl.PVC = pvc
			}
		}
		if err != nil {
			return Plan{}, err
		}
		p.Claims = append(p.Claims, cl)
	}
	for i := range p.Claims {
		cl := &p.Claims[i]
		templateGrows := cl.Current != nil && cl.Want.Cmp(*cl.Current) > 0
		if templateGrows || (cl.PVC != nil && cl.Want.Cmp(RequestOf(cl.PVC)) > 0) {
			p.Growing = append(p.Growing, cl)
		}
		p.TemplatesGrow = p.TemplatesGrow || templateGrows
	}
	return p, nil
}

// ExpansionClass names the StorageClass of the claims, or says why they
// cannot grow (refusal). The class is the one a claim was made with (the API
// server fills in the default class at creation), else spec.storage's, else
// the cluster's default.
func (r Reader) ExpansionClass(ds *dittov1alpha1.DittoServer, claims []Claim) (class, refusal string, err error) {
	name := ""
	for _, cl := range claims {
		if cl.PVC != nil && cl.PVC.Spec.StorageClassName != nil && *cl.PVC.Spec.StorageClassName != "" {
			name = *cl.PVC.Spec.StorageClassName
			break
		}
	}
	if name == "" && ds.Spec.Storage.StorageClassName != nil {
		name = *ds.Spec.Storage.StorageClassName
	}
	if name == "" {
		def, err := r.defaultStorageClass()
		if err != nil {
			return "", "", err
		}
		if def == nil {
			return "", "No StorageClass is known for the volumes (spec.storage.storageClassName is unset and the cluster has no default StorageClass)", nil
		}
		name = def.Name
	}
	sc, err := r.Classes.Get(name)
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
func (r Reader) defaultStorageClass() (*storagev1.StorageClass, error) {
	all, err := r.Classes.List(labels.Everything())
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

// Pending describes each claim whose capacity is below its size, with the
// claim's own conditions (FileSystemResizePending: the node grows the file
// system when the pod next mounts it). A claim not provisioned yet has
// nothing to grow.
func Pending(claims []Claim) []string {
	var pending []string
	for _, cl := range claims {
		if cl.PVC == nil {
			continue
		}
		capacity, bound := cl.PVC.Status.Capacity[corev1.ResourceStorage]
		if !bound || capacity.IsZero() {
			continue
		}
		target := cl.Want
		if r := RequestOf(cl.PVC); r.Cmp(target) > 0 {
			target = r
		}
		if capacity.Cmp(target) >= 0 {
			continue
		}
		desc := fmt.Sprintf("%s %s of %s", cl.Name, capacity.String(), target.String())
		for _, cond := range cl.PVC.Status.Conditions {
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
	return pending
}

// KeepTemplateSizes sets desired's templates back to existing's sizes.
func KeepTemplateSizes(desired, existing *appsv1.StatefulSet) {
	if existing == nil {
		return
	}
	current := map[string]resource.Quantity{}
	for _, t := range existing.Spec.VolumeClaimTemplates {
		current[t.Name] = RequestOf(&t)
	}
	for i := range desired.Spec.VolumeClaimTemplates {
		t := &desired.Spec.VolumeClaimTemplates[i]
		if cur, ok := current[t.Name]; ok {
			t.Spec.Resources.Requests[corev1.ResourceStorage] = cur.DeepCopy()
		}
	}
}

// DescribeGrowth names each growing claim, its size and the spec's.
func DescribeGrowth(growing []*Claim) string {
	var parts []string
	for _, cl := range growing {
		from := cl.Current
		if cl.PVC != nil {
			r := RequestOf(cl.PVC)
			from = &r
		}
		if from == nil {
			parts = append(parts, fmt.Sprintf("%s (spec asks %s)", cl.Name, cl.Want.String()))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (spec asks %s)", cl.Name, from.String(), cl.Want.String()))
	}
	return "volume claims " + strings.Join(parts, ", ")
}

// RequestOf is a claim's storage request.
func RequestOf(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
}
