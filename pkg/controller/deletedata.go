package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// What a DittoServer keeps by default, and deletes with deletionPolicy
// Delete: the volume claims of its StatefulSet (files and metadata), the
// generated credentials Secrets (the server on those volumes remembers the
// admin password, the JWT secret and the operator's account) and a Percona
// cluster kept with deleteWithServer false. They carry no owner reference
// (see resources.KeptForLabel), so the garbage collector never takes them;
// the finalizer deletes them when the user asked for it.

// deletesData reports whether deleting ds deletes its data.
func deletesData(ds *dittov1alpha1.DittoServer) bool {
	return ds.Spec.DeletionPolicy == dittov1alpha1.DeletionDelete
}

// keptSecretNames are the generated Secrets ds may have; deleteData skips
// those that do not exist or were not made for ds.
func keptSecretNames(ds *dittov1alpha1.DittoServer) []string {
	return []string{resources.CredentialsSecretName(ds), resources.OperatorSecretName(ds)}
}

// deleteData deletes the volume claims and the generated Secrets of ds
// (the Percona cluster is cleanupPercona's). Each delete is guarded by the
// object's UID; a Secret that was not made for ds (a user's Secret of the
// same name) is left alone. It says what it deleted in one Normal event.
func (c *Controller) deleteData(ctx context.Context, ds *dittov1alpha1.DittoServer) error {
	var deleted []string
	claims := c.kube.CoreV1().PersistentVolumeClaims(ds.Namespace)
	selector := labels.SelectorFromSet(resources.Labels(ds, resources.ComponentStorage)).String()
	list, err := claims.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("list volume claims of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	for i := range list.Items {
		pvc := &list.Items[i]
		if pvc.DeletionTimestamp != nil {
			continue
		}
		uid := pvc.UID
		if err := claims.Delete(ctx, pvc.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete PersistentVolumeClaim %s/%s: %w", ds.Namespace, pvc.Name, err)
		}
		deleted = append(deleted, "PersistentVolumeClaim "+pvc.Name)
	}
	w := c.secretWriter()
	for _, name := range keptSecretNames(ds) {
		secret, err := w.cached(ds.Namespace, name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read Secret %s/%s from cache: %w", ds.Namespace, name, err)
		}
		if !ownedOrKept(secret, ds) {
			continue
		}
		uid := secret.UID
		err = c.kube.CoreV1().Secrets(ds.Namespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Secret %s/%s: %w", ds.Namespace, name, err)
		}
		deleted = append(deleted, "Secret "+name)
	}
	if len(deleted) > 0 {
		sort.Strings(deleted)
		klog.FromContext(ctx).V(2).Info("Deleted the server's data", "dittoserver", klog.KObj(ds), "objects", deleted)
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonDataDeleted, "Deleted %s (deletionPolicy=Delete)", strings.Join(deleted, ", "))
	}
	return nil
}
