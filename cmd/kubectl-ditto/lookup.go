package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// attached says whether an object in namespace ns with ref names ds: a
// reference without a namespace names a server in the object's own one.
func attached(ds *dittov1alpha1.DittoServer, ns string, ref dittov1alpha1.ServerReference) bool {
	if ref.Namespace != "" {
		ns = ref.Namespace
	}
	return ref.Name == ds.Name && ns == ds.Namespace
}

// serverShares are the DittoShares that name ds, from every namespace the
// user may list (shares of tenants live in other namespaces), else from ds's.
func serverShares(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) ([]dittov1alpha1.DittoShare, error) {
	list, err := e.ditto.DittofsV1alpha1().DittoShares(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		list, err = e.ditto.DittofsV1alpha1().DittoShares(ds.Namespace).List(ctx, metav1.ListOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("list DittoShares: %w", err)
	}
	var out []dittov1alpha1.DittoShare
	for _, s := range list.Items {
		if attached(ds, s.Namespace, s.Spec.ServerRef) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b dittov1alpha1.DittoShare) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// serverUsers are the DittoUsers that name ds, found like serverShares.
func serverUsers(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) ([]dittov1alpha1.DittoUser, error) {
	list, err := e.ditto.DittofsV1alpha1().DittoUsers(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		list, err = e.ditto.DittofsV1alpha1().DittoUsers(ds.Namespace).List(ctx, metav1.ListOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("list DittoUsers: %w", err)
	}
	var out []dittov1alpha1.DittoUser
	for _, u := range list.Items {
		if attached(ds, u.Namespace, u.Spec.ServerRef) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b dittov1alpha1.DittoUser) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// serverClaims are the PersistentVolumeClaims of ds's StatefulSet.
func serverClaims(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) ([]corev1.PersistentVolumeClaim, error) {
	sel := labels.SelectorFromSet(resources.SelectorLabels(ds)).String()
	list, err := e.kube.CoreV1().PersistentVolumeClaims(ds.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list PersistentVolumeClaims: %w", err)
	}
	out := list.Items
	slices.SortFunc(out, func(a, b corev1.PersistentVolumeClaim) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// readiness is an object's Ready condition as "status reason", or "-".
func readiness(conds []metav1.Condition) (status, reason string) {
	c := meta.FindStatusCondition(conds, dittov1alpha1.ConditionReady)
	if c == nil {
		return "-", "-"
	}
	return string(c.Status), orDash(c.Reason)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// name is namespace/name when the namespace differs from the one shown.
func qualified(ns, name, shown string) string {
	if ns == shown {
		return name
	}
	return ns + "/" + name
}
