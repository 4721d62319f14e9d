package controller

// The endpoints a client outside the cluster uses, as status.nfsEndpoint and
// status.smbEndpoint report them: read from the file Service the cluster
// holds, written when they change and only then.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestFileEndpoints(t *testing.T) {
	const inClusterNFS, inClusterSMB = "nas-file.storage.svc.cluster.local:2049", "nas-file.storage.svc.cluster.local:445"
	service := func(typ corev1.ServiceType, nodePorts bool, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "nas-file", Namespace: testNamespace},
			Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{
				{Name: "nfs", Port: 2049}, {Name: "smb", Port: 445},
			}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}},
		}
		if nodePorts {
			svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort = 31049, 31445
		}
		return svc
	}
	smb := func(ds *dittov1alpha1.DittoServer) { ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true} }
	for _, tc := range []struct {
		name     string
		ds       *dittov1alpha1.DittoServer
		svc      *corev1.Service
		nfs, smb string
	}{
		{"no Service yet", newDittoServer(), nil, inClusterNFS, ""},
		{"ClusterIP", newDittoServer(smb), service(corev1.ServiceTypeClusterIP, false), inClusterNFS, inClusterSMB},
		{"LoadBalancer with an IP", newDittoServer(smb),
			service(corev1.ServiceTypeLoadBalancer, true, corev1.LoadBalancerIngress{IP: "192.0.2.10"}), "192.0.2.10:2049", "192.0.2.10:445"},
		{"LoadBalancer with a hostname", newDittoServer(),
			service(corev1.ServiceTypeLoadBalancer, true, corev1.LoadBalancerIngress{Hostname: "nas.elb.example.com"}), "nas.elb.example.com:2049", ""},
		{"LoadBalancer with an IPv6 address", newDittoServer(),
			service(corev1.ServiceTypeLoadBalancer, true, corev1.LoadBalancerIngress{IP: "2001:db8::10"}), "[2001:db8::10]:2049", ""},
		{"LoadBalancer whose first ingress has neither", newDittoServer(),
			service(corev1.ServiceTypeLoadBalancer, true, corev1.LoadBalancerIngress{}, corev1.LoadBalancerIngress{IP: "192.0.2.11"}), "192.0.2.11:2049", ""},
		{"LoadBalancer waiting for its address: the node port", newDittoServer(smb),
			service(corev1.ServiceTypeLoadBalancer, true), "<node-address>:31049", "<node-address>:31445"},
		{"LoadBalancer without node ports, waiting", newDittoServer(),
			service(corev1.ServiceTypeLoadBalancer, false), inClusterNFS, ""},
		{"NodePort", newDittoServer(smb), service(corev1.ServiceTypeNodePort, true), "<node-address>:31049", "<node-address>:31445"},
		{"NodePort before its ports are allocated", newDittoServer(), service(corev1.ServiceTypeNodePort, false), inClusterNFS, ""},
		{"ClusterIP with a load balancer status left from before", newDittoServer(),
			service(corev1.ServiceTypeClusterIP, false, corev1.LoadBalancerIngress{IP: "192.0.2.10"}), inClusterNFS, ""},
		{"SMB enabled before the Service carries its port", newDittoServer(smb),
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nas-file", Namespace: testNamespace},
				Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "nfs", Port: 2049}}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}}}},
			"192.0.2.10:2049", inClusterSMB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nfs, smb := fileEndpoints(tc.ds, tc.svc)
			if nfs != tc.nfs || smb != tc.smb {
				t.Errorf("endpoints = %q, %q; want %q, %q", nfs, smb, tc.nfs, tc.smb)
			}
		})
	}
}

// The load balancer controller's address reaches the status in one write;
// passes that find the same address write nothing.
func TestLoadBalancerAddressReachesStatusOnce(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
		ds.Spec.Service = &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}
	}))
	f.converge()
	if st := f.dittoServer().Status; st.NFSEndpoint != "nas-file.storage.svc.cluster.local:2049" || st.SMBEndpoint != "nas-file.storage.svc.cluster.local:445" {
		t.Errorf("before an address: endpoints %q, %q; want the in-cluster name", st.NFSEndpoint, st.SMBEndpoint)
	}

	setIngress := func(in corev1.LoadBalancerIngress) {
		svc := f.get(f.kube, gvrServices, "nas-file").(*corev1.Service).DeepCopy()
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{in}
		f.put(svc)
		f.catchUp()
	}
	setIngress(corev1.LoadBalancerIngress{IP: "192.0.2.10", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events())
	if st := f.dittoServer().Status; st.NFSEndpoint != "192.0.2.10:2049" || st.SMBEndpoint != "192.0.2.10:445" {
		t.Errorf("endpoints %q, %q; want the load balancer's address", st.NFSEndpoint, st.SMBEndpoint)
	}
	f.expectQuiet(t)

	// The same address again (the load balancer controller rewrote its
	// status, a resync): nothing to write.
	setIngress(corev1.LoadBalancerIngress{IP: "192.0.2.10", IPMode: ptr.To(corev1.LoadBalancerIPModeProxy)})
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())

	// A new address: one write.
	setIngress(corev1.LoadBalancerIngress{Hostname: "nas.elb.example.com"})
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	if got := f.dittoServer().Status.NFSEndpoint; got != "nas.elb.example.com:2049" {
		t.Errorf("status.nfsEndpoint = %q, want the new hostname", got)
	}
	f.expectQuiet(t)
}

// Back to ClusterIP: the pass that changes the Service reports the
// in-cluster name from the Service it wrote, not the load balancer's address
// from the cache, so the status is written once.
func TestServiceTypeChangeRewritesEndpointInOnePass(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Service = &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}
	}))
	f.converge()
	svc := f.get(f.kube, gvrServices, "nas-file").(*corev1.Service).DeepCopy()
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	f.put(svc)
	f.converge()
	if got := f.dittoServer().Status.NFSEndpoint; got != "192.0.2.10:2049" {
		t.Fatalf("status.nfsEndpoint = %q, want the load balancer's address", got)
	}

	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Service.Type = corev1.ServiceTypeClusterIP }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "update services nas-file", "apply dittoservers/status nas")
	if got := f.dittoServer().Status.NFSEndpoint; got != "nas-file.storage.svc.cluster.local:2049" {
		t.Errorf("status.nfsEndpoint = %q, want the in-cluster name", got)
	}
	f.expectQuiet(t)
}
