package resources

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Names of the container ports. Services target them by name, so a Service
// port (2049, 445, …) can differ from the unprivileged port the server binds.
const (
	PortNameAPI     = "api"
	PortNameNFS     = "nfs"
	PortNameSMB     = "smb"
	PortNameMetrics = "metrics"
	// The portmapper answers on TCP and UDP; a pod's port names are unique,
	// so each protocol has its own.
	PortNamePortmapTCP = "portmap"
	PortNamePortmapUDP = "portmap-udp"
	// PortNameNFSAdvertised is the file Service's second NFS port: the
	// container's own, which the portmapper tells clients to use.
	PortNameNFSAdvertised = "nfs-advertised"
)

// The ports the server's adapters listen on in the container. They live in
// the server's database, not in config.yaml; the server runs as non-root and
// cannot bind 2049 or 445.
const (
	ContainerNFSPort int32 = 12049
	ContainerSMBPort int32 = 1445
	// ContainerPortmapPort is where the server's portmapper listens when
	// enabled (its portmapper_port setting, default 10111).
	ContainerPortmapPort int32 = 10111
	// PortmapServicePort is the portmapper's standard port on the file Service.
	PortmapServicePort int32 = 111
)

// HeadlessService gives the StatefulSet's pod a stable DNS name. Clients of a
// headless Service reach the pod directly, so its ports are the container's.
// Not-ready addresses are published so the name resolves while the server starts.
func HeadlessService(ds *dittov1alpha1.DittoServer) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(ds, HeadlessServiceName(ds), ComponentServer),
		Spec: corev1.ServiceSpec{
			Type:                     corev1.ServiceTypeClusterIP,
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 SelectorLabels(ds),
			Ports: []corev1.ServicePort{
				servicePort(PortNameAPI, APIPort(ds)),
				servicePort(PortNameNFS, ContainerNFSPort),
			},
		},
	}
}

// FileService exposes the file protocols: NFS, and SMB when enabled, with the
// type, annotations, source ranges and external traffic policy of
// spec.service. NFSv3 clients need only the NFS port: the server answers the
// mount protocol there too. With spec.portmapper.enabled the Service also
// carries the portmapper on 111 (TCP and UDP) and, because the portmapper
// answers with the container's NFS port, that port (12049) as well.
func FileService(ds *dittov1alpha1.DittoServer) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(ds, FileServiceName(ds), ComponentServer),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(ds),
			Ports:    []corev1.ServicePort{servicePort(PortNameNFS, NFSPort(ds))},
		},
	}
	if s := ds.Spec.Service; s != nil {
		if s.Type != "" {
			svc.Spec.Type = s.Type
		}
		if len(s.Annotations) > 0 {
			svc.Annotations = maps.Clone(s.Annotations)
		}
		// The CRD admits these only with the Service types that use them.
		svc.Spec.LoadBalancerSourceRanges = slices.Clone(s.LoadBalancerSourceRanges)
		svc.Spec.ExternalTrafficPolicy = s.ExternalTrafficPolicy
	}
	if SMBEnabled(ds) {
		svc.Spec.Ports = append(svc.Spec.Ports, servicePort(PortNameSMB, SMBPort(ds)))
	}
	if PortmapperEnabled(ds) {
		svc.Spec.Ports = append(svc.Spec.Ports, portmapServicePorts(ds)...)
	}
	return svc
}

// APIService exposes the REST API inside the cluster, as
// <name>-api.<namespace>.svc. MetricsService exposes the Prometheus endpoint;
// the controller creates it only while metrics are enabled and deletes it
// otherwise.
//
// Both are headless: the operator and other clients reach the API by that
// name, which then resolves to the ready pod, and Prometheus scrapes the
// endpoints a Service selects, never its address. A cluster IP would add
// nothing for one pod, and it costs: an address of the cluster's Service
// range and kube-proxy rules on every node, per server, and the API server
// allocates cluster IPs one at a time, which sets the pace of a fleet's first
// pass (docs/benchmarks.md). Only the file Service, which clients mount, has
// one. Without a proxy in the way, a port of these Services must be the
// container's: it is.
func APIService(ds *dittov1alpha1.DittoServer) *corev1.Service {
	return addressedByNameService(ds, APIServiceName(ds), ComponentServer, servicePort(PortNameAPI, APIPort(ds)))
}

// MetricsService: see APIService.
func MetricsService(ds *dittov1alpha1.DittoServer) *corev1.Service {
	return addressedByNameService(ds, MetricsServiceName(ds), ComponentMetrics, servicePort(PortNameMetrics, MetricsPort(ds)))
}

// addressedByNameService is a headless Service of the server's ready pod.
func addressedByNameService(ds *dittov1alpha1.DittoServer, name, component string, port corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(ds, name, component),
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: corev1.ClusterIPNone,
			Selector:  SelectorLabels(ds),
			Ports:     []corev1.ServicePort{port},
		},
	}
}

// portmapServicePorts are the portmapper's ports on the file Service, and the
// NFS port it advertises unless nfsPort already is that port.
func portmapServicePorts(ds *dittov1alpha1.DittoServer) []corev1.ServicePort {
	udp := servicePort(PortNamePortmapUDP, PortmapServicePort)
	udp.Protocol = corev1.ProtocolUDP
	ports := []corev1.ServicePort{servicePort(PortNamePortmapTCP, PortmapServicePort), udp}
	if NFSPort(ds) != ContainerNFSPort {
		advertised := servicePort(PortNameNFSAdvertised, ContainerNFSPort)
		advertised.TargetPort = intstr.FromString(PortNameNFS)
		ports = append(ports, advertised)
	}
	return ports
}

// servicePort forwards port to the container port of the same name.
func servicePort(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{
		Name:       name,
		Protocol:   corev1.ProtocolTCP,
		Port:       port,
		TargetPort: intstr.FromString(name),
	}
}
