package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
)

// mountView is what mount prints from.
type mountView struct {
	share  *dittov1alpha1.DittoShare
	server *dittov1alpha1.DittoServer
	// service is the server's file Service; nil until the operator made it.
	service *corev1.Service
	// uids maps the usernames of the server's DittoUsers to their uids.
	uids map[string]string
}

func mount(ctx context.Context, e *env, args []string) error {
	s, err := e.ditto.DittofsV1alpha1().DittoShares(e.namespace).Get(ctx, args[0], metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("DittoShare %s/%s: %w", e.namespace, args[0], err)
	}
	v := &mountView{share: s, uids: map[string]string{}}
	v.server, err = e.ditto.DittofsV1alpha1().DittoServers(serverNamespace(s)).Get(ctx, s.Spec.ServerRef.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the share's DittoServer %s/%s: %w", serverNamespace(s), s.Spec.ServerRef.Name, err)
	}
	svcName := resources.FileServiceName(v.server)
	v.service, err = e.kube.CoreV1().Services(v.server.Namespace).Get(ctx, svcName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the file Service %s/%s: %w", v.server.Namespace, svcName, err)
	}
	users, err := serverUsers(ctx, e, v.server)
	if err != nil {
		return err
	}
	for _, u := range users {
		v.uids[usernameOf(&u)] = ptrInt(u.Spec.UID)
	}
	if e.flags.output == "yaml" {
		p := &printer{w: e.out}
		if operatorClaim(s) {
			writeYAML(p, claimDeployment(s, v.uids))
		} else {
			writeYAML(p, persistentVolume(s, v.service), persistentVolumeClaim(s))
		}
		return p.err
	}
	return writeMount(e.out, v)
}

// servicePort is the Service's port of that name, 0 when it has none.
func servicePort(svc *corev1.Service, name string) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port
		}
	}
	return 0
}

// inClusterHost is the address pods and nodes reach the file Service at:
// its cluster IP (a node's kubelet mounting a PersistentVolume does not
// resolve cluster DNS names), else its DNS name.
func inClusterHost(svc *corev1.Service) string {
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		return ip
	}
	return svc.Name + "." + svc.Namespace + ".svc"
}

// nfsOptions are the mount options dfs needs: NFSv3, the mount protocol
// answered on the NFS port (no portmapper), no lock manager.
func nfsOptions(port int32) []string {
	return []string{"vers=3", "tcp", fmt.Sprintf("port=%d", port), fmt.Sprintf("mountport=%d", port), "mountproto=tcp", "nolock"}
}

func nfsCommand(host string, port int32, export string, readOnly bool) string {
	opts := nfsOptions(port)
	if readOnly {
		opts = append(opts, "ro")
	}
	return fmt.Sprintf("sudo mount -t nfs -o %s %s:%s /mnt%s", strings.Join(opts, ","), host, export, export)
}

func writeMount(w io.Writer, v *mountView) error {
	s, ds, svc := v.share, v.server, v.service
	p := &printer{w: w}
	export := exportOf(s)
	ready, reason := readiness(s.Status.Conditions)
	p.printf("DittoShare %s/%s: export %s on DittoServer %s/%s (Ready %s, %s).\n", s.Namespace, s.Name, export, ds.Namespace, ds.Name, ready, reason)
	nfsPort, smbPort := servicePort(svc, resources.PortNameNFS), servicePort(svc, resources.PortNameSMB)
	host := inClusterHost(svc)
	p.printf("\nFrom a pod or a node of the cluster (the file Service %s/%s):\n", svc.Namespace, svc.Name)
	p.printf("  %s\n", nfsCommand(host, nfsPort, export, s.Spec.ReadOnly))
	if smbPort != 0 {
		p.printf("  sudo mount -t cifs //%s%s /mnt%s -o username=USER,port=%d   # asks for USER's password\n", host, export, export, smbPort)
	}
	writeOutside(p, svc, ds, export, s.Spec.ReadOnly)
	writeIdentity(p, v)
	if operatorClaim(s) {
		writeClaim(p, s, v.uids)
		return p.err
	}
	pv, pvc := persistentVolume(s, svc), persistentVolumeClaim(s)
	if s.Spec.Volume != nil {
		p.printf("\nThe operator may not make PersistentVolumes here (VolumeReady False, reason %s): an administrator applies\n", serverstate.ReasonVolumeNotPermitted)
		p.printf("this PersistentVolume and the claim spec.volume names, bound to it, for pods of namespace %s (kubectl apply -f -):\n", s.Namespace)
	} else {
		p.printf("\nA PersistentVolume and a claim bound to it, for pods of namespace %s (kubectl apply -f -):\n", s.Namespace)
	}
	writeYAML(p, pv, pvc)
	return p.err
}

// writeOutside says how a machine outside the cluster reaches the share:
// the address the server's status publishes for a LoadBalancer or NodePort
// Service, else a port-forward.
func writeOutside(p *printer, svc *corev1.Service, ds *dittov1alpha1.DittoServer, export string, readOnly bool) {
	p.println("\nFrom outside the cluster:")
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort {
		host, port, err := net.SplitHostPort(ds.Status.NFSEndpoint)
		var n int32
		if _, scanErr := fmt.Sscan(port, &n); err == nil && scanErr == nil {
			p.printf("  %s\n", nfsCommand(host, n, export, readOnly))
			return
		}
		p.printf("  the %s Service has no address yet (status.nfsEndpoint %q); run this again once it has one\n", svc.Spec.Type, ds.Status.NFSEndpoint)
		return
	}
	p.printf("  the Service is %s; forward it, then mount the local end:\n", svc.Spec.Type)
	p.printf("  kubectl port-forward -n %s svc/%s 2049:%d &\n", svc.Namespace, svc.Name, servicePort(svc, resources.PortNameNFS))
	p.printf("  %s\n", nfsCommand("127.0.0.1", 2049, export, readOnly))
}

// writeIdentity says whom NFS requests act as: the uid the client claims.
func writeIdentity(p *printer, v *mountView) {
	s := v.share
	p.println("\nNFSv3 requests act as the DittoUser whose uid they carry (the server trusts the uid the client claims);")
	p.printf("other uids get the share's defaultPermission (%s). A pod mounting the share runs as one of:\n", orDash(string(s.Spec.DefaultPermission)))
	n := 0
	for _, perm := range s.Spec.Permissions {
		if perm.User == "" {
			continue
		}
		uid, ok := v.uids[perm.User]
		if !ok {
			uid = "? (no DittoUser of this server)"
		}
		p.printf("  %s: uid %s, %s (securityContext.runAsUser)\n", perm.User, uid, perm.Level)
		n++
	}
	if n == 0 {
		p.println("  (no user is granted a permission on this share)")
	}
}
