package main

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// pvCapacity is what a PersistentVolume of a share without a quota claims:
// NFS ignores it, Kubernetes requires one.
var pvCapacity = resource.MustParse("1Gi")

// persistentVolume is a statically provisioned NFS volume of the share,
// pre-bound to the claim persistentVolumeClaim makes, kept when the claim
// goes (the files stay on the server either way).
func persistentVolume(s *dittov1alpha1.DittoShare, svc *corev1.Service) *corev1.PersistentVolume {
	capacity := pvCapacity
	if s.Spec.Quota != nil {
		capacity = *s.Spec.Quota
	}
	return &corev1.PersistentVolume{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: metav1.ObjectMeta{Name: "dittofs-" + s.Namespace + "-" + s.Name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: capacity},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{accessMode(s)},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "",
			MountOptions:                  nfsOptions(servicePort(svc, resources.PortNameNFS)),
			ClaimRef:                      &corev1.ObjectReference{Namespace: s.Namespace, Name: claimName(s)},
			PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{
				Server:   inClusterHost(svc),
				Path:     exportOf(s),
				ReadOnly: s.Spec.ReadOnly,
			}},
		},
	}
}

func persistentVolumeClaim(s *dittov1alpha1.DittoShare) *corev1.PersistentVolumeClaim {
	capacity := pvCapacity
	if s.Spec.Quota != nil {
		capacity = *s.Spec.Quota
	}
	empty := ""
	return &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: claimName(s), Namespace: s.Namespace},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{accessMode(s)},
			StorageClassName: &empty,
			VolumeName:       "dittofs-" + s.Namespace + "-" + s.Name,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: capacity}},
		},
	}
}

// claimName is the claim of the hand-made PersistentVolume: the one
// spec.volume names, else <share>-share.
func claimName(s *dittov1alpha1.DittoShare) string {
	if s.Spec.Volume != nil {
		return s.Spec.Volume.ClaimName
	}
	return s.Name + "-share"
}

func accessMode(s *dittov1alpha1.DittoShare) corev1.PersistentVolumeAccessMode {
	if s.Spec.ReadOnly {
		return corev1.ReadOnlyMany
	}
	return corev1.ReadWriteMany
}

// writeYAML prints objects as one YAML stream, without the empty
// creationTimestamp and status that the types marshal.
func writeYAML(p *printer, objs ...runtime.Object) {
	for _, o := range objs {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			p.err = errors.Join(p.err, err)
			return
		}
		delete(u, "status")
		if m, ok := u["metadata"].(map[string]any); ok {
			delete(m, "creationTimestamp")
		}
		data, err := yaml.Marshal(u)
		if err != nil {
			p.err = errors.Join(p.err, err)
			return
		}
		p.printf("---\n%s", data)
	}
}
