package e2e

// Clients outside the cluster and the server pod's placement, on the real
// control plane.
//
// The local cluster runs no load-balancer controller (no cloud provider,
// nothing like MetalLB): a LoadBalancer Service gets its node ports from the
// API server but never an address. The tests play that controller's part and
// write status.loadBalancer.ingress through the Service's status
// subresource, as a cloud's controller would.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// A LoadBalancer file Service with source ranges and externalTrafficPolicy
// Local: the node ports show in the status while the load balancer has no
// address, its address once it has one, in `kubectl get -o wide` too; after
// that the operator writes nothing.
func TestExposureLoadBalancerAddressInStatus(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("loadbalancer")
	n.waitReady(name)

	svc := n.fileService(name)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal ||
		strings.Join(svc.Spec.LoadBalancerSourceRanges, ",") != "203.0.113.0/24,198.51.100.0/24" {
		t.Fatalf("file Service: type %s, externalTrafficPolicy %s, source ranges %v; want the sample's",
			svc.Spec.Type, svc.Spec.ExternalTrafficPolicy, svc.Spec.LoadBalancerSourceRanges)
	}
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Error("no health check node port: the API server allocates one for externalTrafficPolicy Local")
	}
	nfsNode, smbNode := nodePort(t, svc, resources.PortNameNFS), nodePort(t, svc, resources.PortNameSMB)
	n.waitEndpoints(name, fmt.Sprintf("<node-address>:%d", nfsNode), fmt.Sprintf("<node-address>:%d", smbNode))

	// The load balancer controller's part.
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	if _, err := env.kube.CoreV1().Services(n.name).UpdateStatus(t.Context(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set the load balancer's address: %v", err)
	}
	n.waitEndpoints(name, "192.0.2.10:2049", "192.0.2.10:445")
	if out := n.kubectl("get", "ditto", name, "-o", "wide"); !strings.Contains(out, "192.0.2.10:2049") || !strings.Contains(out, "192.0.2.10:445") {
		t.Errorf("kubectl get -o wide does not show the endpoints:\n%s", out)
	}

	n.assertOperatorQuiet()
	n.assertNoWarnings(name)
}

// A NodePort file Service: the status shows the node port the API server
// allocated; back to ClusterIP, the in-cluster name.
func TestExposureNodePortInStatus(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, `{service: {type: NodePort, externalTrafficPolicy: Local}}`)
	n.create(ds)
	name := ds.GetName()
	n.waitReady(name)

	svc := n.fileService(name)
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Fatalf("file Service: type %s, externalTrafficPolicy %s", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy)
	}
	n.waitEndpoints(name, fmt.Sprintf("<node-address>:%d", nodePort(t, svc, resources.PortNameNFS)), "")

	n.patchDS(name, `{"spec":{"service":{"type":"ClusterIP","externalTrafficPolicy":null}}}`)
	n.waitEndpoints(name, fmt.Sprintf("%s-file.%s.svc.cluster.local:2049", name, n.name), "")
	if svc := n.fileService(name); svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].NodePort != 0 {
		t.Errorf("file Service after the change: type %s, node port %d", svc.Spec.Type, svc.Spec.Ports[0].NodePort)
	}
}

// Only the file Service has a cluster IP: the API and metrics Services are
// headless, and the server converges with no error, no Warning and no write
// once converged.
func TestOnlyTheFileServiceHasAClusterIP(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, `{metrics: {enabled: true}}`)
	n.create(ds)
	name := ds.GetName()
	n.waitReady(name)

	for svcName, want := range map[string]string{
		name + "-api":      corev1.ClusterIPNone,
		name + "-metrics":  corev1.ClusterIPNone,
		name + "-headless": corev1.ClusterIPNone,
	} {
		svc, err := env.kube.CoreV1().Services(n.name).Get(t.Context(), svcName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get Service %s: %v", svcName, err)
		}
		if svc.Spec.ClusterIP != want {
			t.Errorf("Service %s: clusterIP %q, want %q", svcName, svc.Spec.ClusterIP, want)
		}
	}
	if ip := n.fileService(name).Spec.ClusterIP; ip == "" || ip == corev1.ClusterIPNone {
		t.Errorf("file Service: clusterIP %q, want an allocated one", ip)
	}

	n.assertOperatorQuiet()
	n.assertNoWarnings(name)
}

// The placement sample: spread constraints, PriorityClass, ServiceAccount,
// pod labels and annotations and an extra variable arrive on the
// StatefulSet's pod template and on the pod the scheduler placed. A change
// of the pod's labels rolls the pod.
func TestPlacementReachesThePod(t *testing.T) {
	n := newNamespace(t, nil)
	objs := readSample(t, "placement")
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: o.GetName()}}
			if _, err := env.kube.CoreV1().ServiceAccounts(n.name).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		case "PriorityClass":
			// Cluster-scoped: named after the namespace, removed with the test.
			pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: n.name + "-" + o.GetName()}, Value: 100000}
			if _, err := env.kube.SchedulingV1().PriorityClasses().Create(t.Context(), pc, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// t.Context() is already cancelled when cleanups run.
				err := env.kube.SchedulingV1().PriorityClasses().Delete(context.Background(), pc.Name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("delete PriorityClass %s: %v", pc.Name, err)
				}
			})
		}
	}
	ds := sampleDittoServer(t, objs)
	mergeSpec(t, ds, fmt.Sprintf(`{priorityClassName: %s-file-servers}`, n.name))
	n.create(ds)
	name := ds.GetName()
	n.waitReady(name)

	tmpl := n.statefulSet(name).Spec.Template
	if tmpl.Spec.PriorityClassName != n.name+"-file-servers" || tmpl.Spec.ServiceAccountName != "dittofs-files" {
		t.Errorf("pod template: priorityClassName %q, serviceAccountName %q", tmpl.Spec.PriorityClassName, tmpl.Spec.ServiceAccountName)
	}
	if c := tmpl.Spec.TopologySpreadConstraints; len(c) != 1 || c[0].TopologyKey != "topology.kubernetes.io/zone" || c[0].MaxSkew != 1 {
		t.Errorf("pod template topologySpreadConstraints = %+v", c)
	}
	if tmpl.Labels["example.com/team"] != "storage" || tmpl.Labels[resources.InstanceLabel] != name ||
		tmpl.Annotations["example.com/owner"] != "storage-team@example.com" || tmpl.Annotations[resources.ConfigHashAnnotation] == "" {
		t.Errorf("pod template metadata: labels %v annotations %v", tmpl.Labels, tmpl.Annotations)
	}
	if !hasEnv(tmpl.Spec.Containers[0].Env, "DITTOFS_LOGGING_LEVEL", "DEBUG") {
		t.Errorf("DITTOFS_LOGGING_LEVEL=DEBUG missing from %v", tmpl.Spec.Containers[0].Env)
	}

	// The pod as admitted and scheduled: the priority resolved from the class.
	pod := n.runningPod(name + "-0")
	if pod.Spec.Priority == nil || *pod.Spec.Priority != 100000 || pod.Spec.ServiceAccountName != "dittofs-files" || pod.Labels["example.com/team"] != "storage" {
		t.Errorf("pod: priority %v, serviceAccountName %q, labels %v", pod.Spec.Priority, pod.Spec.ServiceAccountName, pod.Labels)
	}

	// Pod labels are on the pod template: changing them restarts the server.
	n.patchDS(name, `{"spec":{"podMetadata":{"labels":{"example.com/team":"platform"}}}}`)
	n.waitPodReplaced(name+"-0", pod.UID)
	if got := n.pod(name + "-0").Labels["example.com/team"]; got != "platform" {
		t.Errorf("new pod's team label = %q, want platform", got)
	}
	n.waitReady(name)
}

// What the CRD refuses of the new fields, naming the field.
func TestAdmissionRejectsInvalidExposureAndPlacement(t *testing.T) {
	n := newNamespace(t, nil)
	for _, tc := range []struct {
		name, spec, field, msg string
	}{
		{"externalTrafficPolicy on ClusterIP", `{service: {externalTrafficPolicy: Local}}`,
			"spec.service.externalTrafficPolicy", "applies only when spec.service.type is LoadBalancer or NodePort"},
		{"externalTrafficPolicy not an enum value", `{service: {type: NodePort, externalTrafficPolicy: Nearest}}`,
			"spec.service.externalTrafficPolicy", "Unsupported value"},
		{"source ranges on NodePort", `{service: {type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8]}}`,
			"spec.service.loadBalancerSourceRanges", "applies only when spec.service.type is LoadBalancer"},
		{"source range not a CIDR", `{service: {type: LoadBalancer, loadBalancerSourceRanges: [office]}}`,
			"spec.service.loadBalancerSourceRanges", "must hold CIDRs"},
		{"pod label overriding the selector", `{podMetadata: {labels: {app.kubernetes.io/instance: other}}}`,
			"spec.podMetadata.labels", "must not set the operator's labels"},
		{"pod label in the operator's domain", `{podMetadata: {labels: {dittofs.dittofs.com/kept-for: x}}}`,
			"spec.podMetadata.labels", "must not set the operator's labels"},
		{"pod annotation forging the config hash", `{podMetadata: {annotations: {dittofs.dittofs.com/config-hash: x}}}`,
			"spec.podMetadata.annotations", "must not set keys under dittofs.dittofs.com/"},
		{"env replacing the JWT secret", `{env: [{name: DITTOFS_CONTROLPLANE_SECRET, value: x}]}`,
			"spec.env", "must not set a variable the operator sets"},
		{"env replacing the S3 region", `{env: [{name: AWS_REGION, value: us-east-1}]}`,
			"spec.env", "must not set a variable the operator sets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := sampleDittoServer(t, readSample(t, "minimal"))
			ds.SetName("invalid")
			mergeSpec(t, ds, tc.spec)
			_, err := env.dyn.Resource(dittoServerGVR).Namespace(n.name).Create(t.Context(), ds, metav1.CreateOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
	// A change of type that leaves a traffic policy behind is refused too.
	t.Run("NodePort to ClusterIP keeping externalTrafficPolicy", func(t *testing.T) {
		ds := sampleDittoServer(t, readSample(t, "minimal"))
		ds.SetName("nodeport")
		mergeSpec(t, ds, `{replicas: 0, service: {type: NodePort, externalTrafficPolicy: Local}}`)
		n.create(ds)
		_, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Patch(t.Context(), "nodeport", types.MergePatchType,
			[]byte(`{"spec":{"service":{"type":"ClusterIP"}}}`), metav1.PatchOptions{DryRun: dryRun})
		assertInvalid(t, err, "spec.service.externalTrafficPolicy", "applies only when spec.service.type is LoadBalancer or NodePort")
	})
}

func (n *testNS) fileService(dsName string) *corev1.Service {
	n.t.Helper()
	svc, err := env.kube.CoreV1().Services(n.name).Get(n.t.Context(), dsName+"-file", metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get file Service: %v", err)
	}
	return svc
}

// waitEndpoints waits until the DittoServer's status shows these endpoints.
func (n *testNS) waitEndpoints(name, nfs, smb string) {
	n.t.Helper()
	n.waitDS(name, fmt.Sprintf("endpoints %q, %q", nfs, smb), func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return ds.Status.NFSEndpoint == nfs && ds.Status.SMBEndpoint == smb,
			fmt.Sprintf("nfsEndpoint %q smbEndpoint %q", ds.Status.NFSEndpoint, ds.Status.SMBEndpoint)
	})
}

// assertOperatorQuiet waits for the operator's last writes to settle, then
// checks that it writes nothing over two resync periods.
func (n *testNS) assertOperatorQuiet() {
	n.t.Helper()
	eventually(n.t, waitShort, "the operator's writes to settle", func() (bool, string) {
		w := operatorWrites(n.t, time.Now().Add(-3*time.Second))
		return len(w) == 0, auditSummary(w)
	})
	since := time.Now()
	time.Sleep(quietWindow)
	if w := operatorWrites(n.t, since); len(w) > 0 {
		n.t.Errorf("the operator made %d write requests over %s after convergence:\n%s", len(w), quietWindow, auditSummary(w))
	}
}

func nodePort(t *testing.T, svc *corev1.Service, portName string) int32 {
	t.Helper()
	for _, p := range svc.Spec.Ports {
		if p.Name == portName {
			if p.NodePort == 0 {
				t.Fatalf("port %s of %s has no node port", portName, svc.Name)
			}
			return p.NodePort
		}
	}
	t.Fatalf("Service %s has no port %s", svc.Name, portName)
	return 0
}

func hasEnv(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name {
			return e.Value == value
		}
	}
	return false
}

// assertNoWarnings fails the test if the DittoServer has a Warning event.
func (n *testNS) assertNoWarnings(name string) {
	n.t.Helper()
	evs := n.events(n.ds(name).UID)
	for _, e := range evs {
		if e.Type == corev1.EventTypeWarning {
			n.t.Errorf("Warning event on the DittoServer: %s", eventSummary(evs))
			return
		}
	}
}
