package main

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
)

// operatorClaim tells whether pods mount the share through the claim the
// operator makes for spec.volume: not without spec.volume, nor where the
// operator may not make PersistentVolumes (the namespaced install), where
// an administrator applies the hand-made ones mount prints.
func operatorClaim(s *dittov1alpha1.DittoShare) bool {
	if s.Spec.Volume == nil {
		return false
	}
	c := meta.FindStatusCondition(s.Status.Conditions, serverstate.ConditionVolumeReady)
	return s.Status.Volume != nil || c == nil || c.Reason != serverstate.ReasonVolumeNotPermitted
}

// writeClaim tells about the claim the operator made for spec.volume, and
// prints a Deployment that mounts it.
func writeClaim(p *printer, s *dittov1alpha1.DittoShare, uids map[string]string) {
	if v := s.Status.Volume; v != nil && v.ClaimName != "" {
		p.printf("\nThe operator made the claim %s/%s (%s), bound to the PersistentVolume %s (spec.volume).\n",
			s.Namespace, v.ClaimName, orDash(v.Phase), orDash(v.PersistentVolumeName))
	} else {
		p.printf("\nspec.volume asks for the claim %s/%s; the operator has not made it yet (see the VolumeReady condition).\n",
			s.Namespace, s.Spec.Volume.ClaimName)
	}
	p.printf("A Deployment of namespace %s that mounts it (kubectl apply -f -):\n", s.Namespace)
	writeYAML(p, claimDeployment(s, uids))
}

// shareClaimName is the claim pods mount: the one made, else the one asked for.
func shareClaimName(s *dittov1alpha1.DittoShare) string {
	if v := s.Status.Volume; v != nil && v.ClaimName != "" {
		return v.ClaimName
	}
	return s.Spec.Volume.ClaimName
}

// claimDeployment is an example Deployment mounting the share's claim at
// /mnt/<export>, running as the first user granted a permission whose uid is
// known (NFSv3 acts as the uid the client claims).
func claimDeployment(s *dittov1alpha1.DittoShare, uids map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": s.Name + "-client"}
	mountPath := "/mnt" + exportOf(s)
	pod := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "infinity"},
			VolumeMounts: []corev1.VolumeMount{{Name: "share", MountPath: mountPath, ReadOnly: s.Spec.ReadOnly}},
		}},
		Volumes: []corev1.Volume{{Name: "share", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: shareClaimName(s), ReadOnly: s.Spec.ReadOnly},
		}}},
	}
	if uid, ok := firstUID(s, uids); ok {
		pod.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(uid)}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name + "-client", Namespace: s.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

// firstUID is the uid of the first user the share grants a permission to.
func firstUID(s *dittov1alpha1.DittoShare, uids map[string]string) (int64, bool) {
	for _, perm := range s.Spec.Permissions {
		if perm.User == "" {
			continue
		}
		if uid, err := strconv.ParseInt(uids[perm.User], 10, 64); err == nil {
			return uid, true
		}
	}
	return 0, false
}
