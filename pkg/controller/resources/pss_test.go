package resources

import (
	corev1 "k8s.io/api/core/v1"
)

// checkRestrictedPod applies the "restricted" Pod Security Standard.
func checkRestrictedPod(fail failFunc, pod corev1.PodSpec) {
	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		fail("pod seccompProfile is not RuntimeDefault")
	}
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		fail("pod runs as root")
	}
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil && v.Secret == nil && v.EmptyDir == nil && v.PersistentVolumeClaim == nil && v.Projected == nil {
			fail("volume %s of a type restricted forbids", v.Name)
		}
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			fail("%s may escalate privileges", c.Name)
			continue
		}
		nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		if !nonRoot || (sc.RunAsUser != nil && *sc.RunAsUser == 0) {
			fail("%s may run as root", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			fail("%s is privileged", c.Name)
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			fail("%s does not drop ALL capabilities", c.Name)
		}
		for _, a := range sc.Capabilities.Add {
			if a != "NET_BIND_SERVICE" {
				fail("%s adds capability %s", c.Name, a)
			}
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				fail("%s uses a host port", c.Name)
			}
		}
	}
}
