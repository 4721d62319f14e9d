package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// NonRootID is the user and group the DittoFS image runs as; fsGroup gives it
// write access to the volumes.
const NonRootID int64 = 65532

// podSecurityContext is the user's spec.podSecurityContext with every
// hardening field the user left unset filled in, so the pod passes the
// "restricted" Pod Security Standard unless the user weakens it on purpose.
func podSecurityContext(ds *dittov1alpha1.DittoServer) *corev1.PodSecurityContext {
	sc := &corev1.PodSecurityContext{}
	if ds.Spec.PodSecurityContext != nil {
		sc = ds.Spec.PodSecurityContext.DeepCopy()
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = ptr.To(true)
	}
	if sc.RunAsUser == nil {
		sc.RunAsUser = ptr.To(NonRootID)
	}
	if sc.RunAsGroup == nil {
		sc.RunAsGroup = ptr.To(NonRootID)
	}
	if sc.FSGroup == nil {
		sc.FSGroup = ptr.To(NonRootID)
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	return sc
}

// containerSecurityContext is the user's spec.securityContext with the
// hardening fields the user left unset filled in: no privilege escalation,
// every capability dropped (capabilities the user adds are kept), non-root.
// The init container gets the same, so both pass "restricted".
func containerSecurityContext(ds *dittov1alpha1.DittoServer) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if ds.Spec.SecurityContext != nil {
		sc = ds.Spec.SecurityContext.DeepCopy()
	}
	if sc.AllowPrivilegeEscalation == nil {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{}
	}
	if len(sc.Capabilities.Drop) == 0 {
		sc.Capabilities.Drop = []corev1.Capability{"ALL"}
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = ptr.To(true)
	}
	return sc
}
