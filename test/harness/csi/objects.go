package csi

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/dittofs/dittofs-operator/test/csidriver"
)

// VolumeSnapshotClassGVR is snapshot.storage.k8s.io/v1 volumesnapshotclasses.
var VolumeSnapshotClassGVR = schema.GroupVersionResource{
	Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses",
}

func (s *Stack) createStorageClass(ctx context.Context) error {
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: StorageClass},
		Provisioner:          DriverName,
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingImmediate),
		AllowVolumeExpansion: ptr.To(true),
	}
	_, err := s.kube.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create StorageClass %s: %w", StorageClass, err)
	}
	return nil
}

// CreateSnapshotClasses creates SnapshotClass (the default class for the
// driver) and FailingSnapshotClass; the snapshot CRDs must be installed.
func (s *Stack) CreateSnapshotClasses(ctx context.Context) error {
	classes := []*unstructured.Unstructured{
		snapshotClass(SnapshotClass, true, nil),
		snapshotClass(FailingSnapshotClass, false, map[string]any{csidriver.FailParameter: "true"}),
	}
	for _, c := range classes {
		_, err := s.dyn.Resource(VolumeSnapshotClassGVR).Create(ctx, c, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create VolumeSnapshotClass %s: %w", c.GetName(), err)
		}
	}
	return nil
}

func snapshotClass(name string, isDefault bool, params map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion":     "snapshot.storage.k8s.io/v1",
		"kind":           "VolumeSnapshotClass",
		"metadata":       map[string]any{"name": name},
		"driver":         DriverName,
		"deletionPolicy": "Delete",
	}}
	if isDefault {
		u.SetAnnotations(map[string]string{"snapshot.storage.kubernetes.io/is-default-class": "true"})
	}
	if params != nil {
		u.Object["parameters"] = params
	}
	return u
}

// ClaimDir waits until the claim is Bound and returns the directory of its
// volume: where the real dfs runs for a pod that mounts the claim.
func (s *Stack) ClaimDir(ctx context.Context, namespace, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		dir, err := s.claimDir(ctx, namespace, name)
		if err == nil && dir != "" {
			return dir, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("claim %s/%s not bound to a %s volume: %v (%w)", namespace, name, DriverName, err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Stack) claimDir(ctx context.Context, namespace, name string) (string, error) {
	pvc, err := s.kube.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("phase %s", pvc.Status.Phase)
	}
	pv, err := s.kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != DriverName {
		return "", fmt.Errorf("volume %s is not provisioned by %s", pv.Name, DriverName)
	}
	return s.VolumeDir(pv.Spec.CSI.VolumeHandle), nil
}
