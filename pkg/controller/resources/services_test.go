package resources

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// ports renders a Service's or container's ports as name=port[→target].
func servicePorts(svc *corev1.Service) []string {
	var out []string
	for _, p := range svc.Spec.Ports {
		out = append(out, fmt.Sprintf("%s=%d→%s", p.Name, p.Port, p.TargetPort.String()))
	}
	return out
}

func containerPortList(ds *dittov1alpha1.DittoServer) []string {
	var out []string
	for _, p := range containerPorts(ds) {
		out = append(out, fmt.Sprintf("%s=%d", p.Name, p.ContainerPort))
	}
	return out
}

// SMB and metrics appear on the Services only when enabled. The container
// always declares SMB, on which the server always listens; metrics only
// when enabled.
func TestPortsOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		mutate               func(*dittov1alpha1.DittoServer)
		container, file, api []string
		metricsService       bool
	}{
		{
			name:      "defaults: API and NFS",
			mutate:    func(*dittov1alpha1.DittoServer) {},
			container: []string{"api=8080", "nfs=12049", "smb=1445"}, file: []string{"nfs=2049→nfs"}, api: []string{"api=8080→api"},
		},
		{
			name:      "SMB configured but disabled",
			mutate:    func(ds *dittov1alpha1.DittoServer) { ds.Spec.SMB = &dittov1alpha1.SMBSpec{Port: ptr.To[int32](4450)} },
			container: []string{"api=8080", "nfs=12049", "smb=1445"}, file: []string{"nfs=2049→nfs"}, api: []string{"api=8080→api"},
		},
		{
			name: "SMB enabled on a custom port, custom NFS port",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true, Port: ptr.To[int32](4450)}
				ds.Spec.NFSPort = ptr.To[int32](20490)
			},
			container: []string{"api=8080", "nfs=12049", "smb=1445"},
			file:      []string{"nfs=20490→nfs", "smb=4450→smb"}, api: []string{"api=8080→api"},
		},
		{
			name: "metrics disabled",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Port: ptr.To[int32](9100)}
			},
			container: []string{"api=8080", "nfs=12049", "smb=1445"}, file: []string{"nfs=2049→nfs"}, api: []string{"api=8080→api"},
		},
		{
			name: "metrics enabled, API moved",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true, Port: ptr.To[int32](9100)}
				ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](8443)}
			},
			container: []string{"api=8443", "nfs=12049", "smb=1445", "metrics=9100"},
			file:      []string{"nfs=2049→nfs"}, api: []string{"api=8443→api"}, metricsService: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(tc.mutate)
			if got := containerPortList(ds); fmt.Sprint(got) != fmt.Sprint(tc.container) {
				t.Errorf("container ports %v, want %v", got, tc.container)
			}
			if got := servicePorts(FileService(ds)); fmt.Sprint(got) != fmt.Sprint(tc.file) {
				t.Errorf("file Service ports %v, want %v", got, tc.file)
			}
			if got := servicePorts(APIService(ds)); fmt.Sprint(got) != fmt.Sprint(tc.api) {
				t.Errorf("API Service ports %v, want %v", got, tc.api)
			}
			if MetricsEnabled(ds) != tc.metricsService {
				t.Errorf("MetricsEnabled = %v, want %v", MetricsEnabled(ds), tc.metricsService)
			}
			if tc.metricsService {
				m := MetricsService(ds)
				if got := servicePorts(m); fmt.Sprint(got) != "[metrics=9100→metrics]" || m.Spec.Type != corev1.ServiceTypeClusterIP || m.Labels[ComponentLabel] != ComponentMetrics {
					t.Errorf("metrics Service %v type %s labels %v", got, m.Spec.Type, m.Labels)
				}
			}
		})
	}
}

func TestFileServiceTypeAndAnnotations(t *testing.T) {
	for _, tc := range []struct {
		name        string
		service     *dittov1alpha1.ServiceSpec
		wantType    corev1.ServiceType
		annotations map[string]string
	}{
		{name: "no service section", wantType: corev1.ServiceTypeClusterIP},
		{name: "empty type", service: &dittov1alpha1.ServiceSpec{}, wantType: corev1.ServiceTypeClusterIP},
		{name: "NodePort", service: &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeNodePort}, wantType: corev1.ServiceTypeNodePort},
		{
			name: "LoadBalancer with annotations",
			service: &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				Annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
			wantType: corev1.ServiceTypeLoadBalancer, annotations: map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Service = tc.service })
			svc := FileService(ds)
			if svc.Spec.Type != tc.wantType || fmt.Sprint(svc.Annotations) != fmt.Sprint(tc.annotations) {
				t.Errorf("type %s annotations %v, want %s %v", svc.Spec.Type, svc.Annotations, tc.wantType, tc.annotations)
			}
			if svc.Name != "files-file" || fmt.Sprint(svc.Spec.Selector) != fmt.Sprint(SelectorLabels(ds)) {
				t.Errorf("name %s selector %v", svc.Name, svc.Spec.Selector)
			}
			if tc.annotations != nil {
				svc.Annotations["changed"] = "x"
				if _, leaked := ds.Spec.Service.Annotations["changed"]; leaked {
					t.Error("the Service shares its annotations map with the spec")
				}
			}
			// The other Services never take the file Service's type.
			for _, other := range []*corev1.Service{APIService(ds), HeadlessService(ds)} {
				if other.Spec.Type != corev1.ServiceTypeClusterIP || len(other.Annotations) > 0 {
					t.Errorf("%s: type %s annotations %v", other.Name, other.Spec.Type, other.Annotations)
				}
			}
		})
	}
}

// The headless Service resolves the pod before it is ready and, since its
// clients reach the pod directly, lists the container's own ports.
func TestHeadlessService(t *testing.T) {
	svc := HeadlessService(newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.NFSPort = ptr.To[int32](3049) }))
	if svc.Name != "files-headless" || svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("%s clusterIP %q publishNotReady %v", svc.Name, svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
	}
	if got := fmt.Sprint(servicePorts(svc)); got != "[api=8080→api nfs=12049→nfs]" {
		t.Errorf("ports %s", got)
	}
}

// protocolPorts renders ports as name=port/protocol[→target].
func protocolPorts(svc *corev1.Service) []string {
	var out []string
	for _, p := range svc.Spec.Ports {
		out = append(out, fmt.Sprintf("%s=%d/%s→%s", p.Name, p.Port, p.Protocol, p.TargetPort.String()))
	}
	return out
}

// The portmapper is on 111, TCP and UDP, of the file Service and on 10111 of
// the container; it answers with the container's NFS port, 12049, so the
// Service carries that port too unless nfsPort already is 12049. The
// headless and API Services never carry it.
func TestPortmapperPorts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mutate    func(*dittov1alpha1.DittoServer)
		file      []string
		container []string
	}{
		{
			name:      "disabled",
			mutate:    func(ds *dittov1alpha1.DittoServer) { ds.Spec.Portmapper = &dittov1alpha1.PortmapperSpec{} },
			file:      []string{"nfs=2049/TCP→nfs"},
			container: []string{"api=8080/TCP", "nfs=12049/TCP", "smb=1445/TCP"},
		},
		{
			name: "enabled with SMB",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Portmapper = &dittov1alpha1.PortmapperSpec{Enabled: true}
				ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
			},
			file: []string{"nfs=2049/TCP→nfs", "smb=445/TCP→smb", "portmap=111/TCP→portmap", "portmap-udp=111/UDP→portmap-udp",
				"nfs-advertised=12049/TCP→nfs"},
			container: []string{"api=8080/TCP", "nfs=12049/TCP", "smb=1445/TCP", "portmap=10111/TCP", "portmap-udp=10111/UDP"},
		},
		{
			name: "enabled, NFS already on the advertised port",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Portmapper = &dittov1alpha1.PortmapperSpec{Enabled: true}
				ds.Spec.NFSPort = ptr.To[int32](12049)
			},
			file:      []string{"nfs=12049/TCP→nfs", "portmap=111/TCP→portmap", "portmap-udp=111/UDP→portmap-udp"},
			container: []string{"api=8080/TCP", "nfs=12049/TCP", "smb=1445/TCP", "portmap=10111/TCP", "portmap-udp=10111/UDP"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(tc.mutate)
			if got := protocolPorts(FileService(ds)); fmt.Sprint(got) != fmt.Sprint(tc.file) {
				t.Errorf("file Service ports\n got %v\nwant %v", got, tc.file)
			}
			var container []string
			for _, p := range containerPorts(ds) {
				container = append(container, fmt.Sprintf("%s=%d/%s", p.Name, p.ContainerPort, p.Protocol))
			}
			if fmt.Sprint(container) != fmt.Sprint(tc.container) {
				t.Errorf("container ports\n got %v\nwant %v", container, tc.container)
			}
			for _, svc := range []*corev1.Service{HeadlessService(ds), APIService(ds)} {
				for _, p := range svc.Spec.Ports {
					if p.Port == PortmapServicePort || p.Port == ContainerPortmapPort {
						t.Errorf("%s carries the portmapper: %v", svc.Name, protocolPorts(svc))
					}
				}
			}
		})
	}
}

// Only the file Service, which clients mount, has a cluster IP. The API and
// metrics Services are addressed by name and by endpoints: headless, of the
// ready pod only, on the container's own ports.
func TestOnlyTheFileServiceHasAClusterIP(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true, Port: ptr.To[int32](9100)}
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](8443)}
	})
	if got := FileService(ds).Spec.ClusterIP; got != "" {
		t.Errorf("file Service clusterIP %q, want one allocated", got)
	}
	container := map[string]int32{}
	for _, p := range containerPorts(ds) {
		container[p.Name] = p.ContainerPort
	}
	for _, svc := range []*corev1.Service{APIService(ds), MetricsService(ds)} {
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Spec.PublishNotReadyAddresses {
			t.Errorf("%s: clusterIP %q publishNotReady %v, want headless of the ready pod", svc.Name, svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
		}
		for _, p := range svc.Spec.Ports {
			if container[p.TargetPort.StrVal] != p.Port {
				t.Errorf("%s: port %s=%d, the container's is %d", svc.Name, p.Name, p.Port, container[p.TargetPort.StrVal])
			}
		}
	}
}
