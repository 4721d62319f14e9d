package controller

// What the API server allocates on a Service is not drift: a converged
// DittoServer whose Services carry node ports and cluster IPs costs no
// request on resync.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestAllocatedServiceFieldsAreNotDrift(t *testing.T) {
	for _, typ := range []corev1.ServiceType{corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
				ds.Spec.Service = &dittov1alpha1.ServiceSpec{Type: typ}
			}))
			f.converge()

			// As the API server stores it: a cluster IP, a node port per
			// port, and the defaults of a Service with node ports.
			svc := f.get(f.kube, gvrServices, "nas-file").(*corev1.Service).DeepCopy()
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.0.0.42", []string{"10.0.0.42"}
			for i := range svc.Spec.Ports {
				svc.Spec.Ports[i].NodePort = 30000 + int32(i)
			}
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			svc.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
			svc.Spec.SessionAffinity = corev1.ServiceAffinityNone
			if typ == corev1.ServiceTypeLoadBalancer {
				svc.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
			}
			f.put(svc)
			f.catchUp()

			// The Services are not written again; the status shows the
			// allocated node port once (the load balancer has no address).
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions(), "apply dittoservers/status nas")
			expectEvents(t, f.events())
			if got := f.dittoServer().Status.NFSEndpoint; got != NodeAddressPlaceholder+":30000" {
				t.Errorf("status.nfsEndpoint = %q, want the node port", got)
			}
			f.expectQuiet(t)
		})
	}
}
