package controller

import (
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// NodeAddressPlaceholder stands for a node's address in an endpoint that
// goes through a node port: the operator does not watch Nodes, and with
// externalTrafficPolicy Cluster any node's address reaches the server.
const NodeAddressPlaceholder = "<node-address>"

// fileEndpoints are the NFS and SMB endpoints (host:port) a client uses,
// read from the file Service as the cluster has it (svc; nil before it
// exists):
//   - LoadBalancer with an ingress address: that address and the Service port;
//   - NodePort, or a LoadBalancer still waiting for its address, once the
//     node port is allocated: NodeAddressPlaceholder and the node port;
//   - otherwise the in-cluster DNS name of the file Service and its port.
//
// The SMB endpoint is empty while SMB is disabled.
func fileEndpoints(ds *dittov1alpha1.DittoServer, svc *corev1.Service) (nfs, smb string) {
	nfs = fileEndpoint(ds, svc, resources.PortNameNFS, resources.NFSPort(ds))
	if resources.SMBEnabled(ds) {
		smb = fileEndpoint(ds, svc, resources.PortNameSMB, resources.SMBPort(ds))
	}
	return nfs, smb
}

func fileEndpoint(ds *dittov1alpha1.DittoServer, svc *corev1.Service, portName string, port int32) string {
	inCluster := fmt.Sprintf("%s.%s.svc.cluster.local:%d", resources.FileServiceName(ds), ds.Namespace, port)
	if svc == nil {
		return inCluster
	}
	sp := servicePortNamed(svc, portName)
	if sp == nil {
		// The Service does not carry the port yet (SMB just enabled): the
		// pass that adds it is followed by one that reads it.
		return inCluster
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if host := loadBalancerHost(svc); host != "" {
			return net.JoinHostPort(host, strconv.Itoa(int(sp.Port)))
		}
		fallthrough
	case corev1.ServiceTypeNodePort:
		if sp.NodePort > 0 {
			return NodeAddressPlaceholder + ":" + strconv.Itoa(int(sp.NodePort))
		}
	}
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", svc.Name, svc.Namespace, sp.Port)
}

// loadBalancerHost is the first ingress address the load balancer reports:
// its IP, else its hostname; "" until the cluster assigns one.
func loadBalancerHost(svc *corev1.Service) string {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			return in.IP
		}
		if in.Hostname != "" {
			return in.Hostname
		}
	}
	return ""
}

func servicePortNamed(svc *corev1.Service, name string) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == name {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// ownedFileService is the cached file Service this DittoServer controls or
// adopts in this pass (adopt.go), nil when there is none.
func (c *Controller) ownedFileService(ds *dittov1alpha1.DittoServer) *corev1.Service {
	svc, err := c.svcLister.Services(ds.Namespace).Get(resources.FileServiceName(ds))
	if err != nil || !controlledOrAdoptable(svc, ds) {
		return nil
	}
	return svc
}
