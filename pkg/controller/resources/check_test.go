package resources

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// built holds what the builders return for one DittoServer.
type built struct {
	config   []byte
	sts      *appsv1.StatefulSet
	services []*corev1.Service
	percona  *unstructured.Unstructured
}

// services are the Services the controller creates for ds.
func services(ds *dittov1alpha1.DittoServer) []*corev1.Service {
	s := []*corev1.Service{HeadlessService(ds), FileService(ds), APIService(ds)}
	if MetricsEnabled(ds) {
		s = append(s, MetricsService(ds))
	}
	return s
}

func perconaOf(ds *dittov1alpha1.DittoServer) *unstructured.Unstructured {
	if !PerconaEnabled(ds) {
		return nil
	}
	return PerconaCluster(ds)
}

// checkAll runs the API server's checks that can run without it, and the
// cross-object invariants the pod needs: every Service port reaches a
// container port, every probe reaches the API port, every mount has a volume,
// and the pod passes the "restricted" Pod Security Standard.
func checkAll(t testing.TB, ds *dittov1alpha1.DittoServer, b built) {
	t.Helper()
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	checkMeta(fail, ds, "StatefulSet", b.sts.ObjectMeta, validation.IsDNS1123Subdomain)
	ports := checkStatefulSet(fail, b.sts)
	for _, svc := range b.services {
		checkMeta(fail, ds, "Service", svc.ObjectMeta, validation.IsDNS1035Label)
		checkService(fail, svc, ports)
	}
	checkConfig(fail, ds, b.config, ports)
	if b.percona != nil {
		checkMeta(fail, ds, "PerconaPGCluster", metav1.ObjectMeta{
			Name: b.percona.GetName(), Namespace: b.percona.GetNamespace(),
			Labels: b.percona.GetLabels(), OwnerReferences: b.percona.GetOwnerReferences(),
		}, validation.IsDNS1035Label)
		_ = b.percona.DeepCopy() // panics on non-JSON types
		if _, err := b.percona.MarshalJSON(); err != nil {
			fail("PerconaPGCluster: %v", err)
		}
	}
	if len(errs) > 0 {
		t.Errorf("invalid objects for %s:\n  %s", ds.Name, strings.Join(errs, "\n  "))
	}
}

type failFunc func(format string, args ...any)

func checkMeta(fail failFunc, ds *dittov1alpha1.DittoServer, kind string, m metav1.ObjectMeta, nameCheck func(string) []string) {
	for _, e := range nameCheck(m.Name) {
		fail("%s name %q: %s", kind, m.Name, e)
	}
	if m.Namespace != ds.Namespace {
		fail("%s %s in namespace %q, want %q", kind, m.Name, m.Namespace, ds.Namespace)
	}
	checkLabels(fail, kind+" "+m.Name, m.Labels)
	if m.Labels[ManagedByLabel] != ManagedByValue || m.Labels[InstanceLabel] != ds.Name {
		fail("%s %s labels %v lack the operator's", kind, m.Name, m.Labels)
	}
	keptObject := kind == "Secret" && m.Labels[ComponentLabel] == ComponentCredentials ||
		kind == PerconaKind && !PerconaDeletedWithServer(ds)
	switch {
	case keptObject:
		// Kept objects outlive the DittoServer: no owner reference, the
		// kept-for label instead.
		if len(m.OwnerReferences) != 0 || m.Labels[KeptForLabel] != ds.Name {
			fail("%s %s owner references %v, labels %v: want none and %s=%s", kind, m.Name, m.OwnerReferences, m.Labels, KeptForLabel, ds.Name)
		}
	case len(m.OwnerReferences) != 1 || !equality.Semantic.DeepEqual(m.OwnerReferences[0], OwnerReference(ds)):
		fail("%s %s owner references %v, want only the DittoServer as controller", kind, m.Name, m.OwnerReferences)
	}
}

func checkLabels(fail failFunc, what string, l map[string]string) {
	for k, v := range l {
		for _, e := range validation.IsQualifiedName(k) {
			fail("%s label key %q: %s", what, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			fail("%s label %s=%q: %s", what, k, v, e)
		}
	}
}

// checkStatefulSet returns the container ports by name.
func checkStatefulSet(fail failFunc, sts *appsv1.StatefulSet) map[string]int32 {
	spec := sts.Spec
	sel, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil || !sel.Matches(labels.Set(spec.Template.Labels)) {
		fail("selector %v does not match the pod labels %v (%v)", spec.Selector, spec.Template.Labels, err)
	}
	checkLabels(fail, "pod template", spec.Template.Labels)
	if spec.Replicas == nil || *spec.Replicas < 0 {
		fail("replicas %v", spec.Replicas)
	}
	pod := spec.Template.Spec
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	for _, c := range spec.VolumeClaimTemplates {
		for _, e := range validation.IsDNS1123Label(c.Name) {
			fail("claim %q: %s", c.Name, e)
		}
		if volumes[c.Name] {
			fail("claim %q duplicates a volume", c.Name)
		}
		volumes[c.Name] = true
		if q := c.Spec.Resources.Requests[corev1.ResourceStorage]; q.Sign() <= 0 {
			fail("claim %q requests %s", c.Name, q.String())
		}
		if len(c.Spec.AccessModes) == 0 {
			fail("claim %q has no access mode", c.Name)
		}
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 0 {
		fail("terminationGracePeriodSeconds %v", pod.TerminationGracePeriodSeconds)
	}
	checkRestrictedPod(fail, pod)
	checkClaimsHaveJobs(fail, sts)
	names := map[string]bool{}
	var ports map[string]int32
	for i, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for _, e := range validation.IsDNS1123Label(c.Name) {
			fail("container %q: %s", c.Name, e)
		}
		if names[c.Name] {
			fail("container %q twice", c.Name)
		}
		names[c.Name] = true
		byName := checkContainer(fail, c, volumes, pod.TerminationGracePeriodSeconds)
		if i == len(pod.InitContainers) {
			ports = byName
		}
	}
	return ports
}

// checkClaimsHaveJobs: every claim is a disk someone pays for, so the server
// container mounts each one, and a server with the current layout claims at
// most two (metadata and content).
func checkClaimsHaveJobs(fail failFunc, sts *appsv1.StatefulSet) {
	mounted := map[string]bool{}
	for _, c := range sts.Spec.Template.Spec.Containers {
		if c.Name != ContainerName {
			continue
		}
		for _, m := range c.VolumeMounts {
			mounted[m.Name] = true
		}
	}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		if !mounted[c.Name] {
			fail("claim %q is not mounted by the server container", c.Name)
		}
	}
	if n := len(sts.Spec.VolumeClaimTemplates); n > 2 {
		fail("%d claims; a server claims at most two (metadata and content)", n)
	}
}

func checkContainer(fail failFunc, c corev1.Container, volumes map[string]bool, grace *int64) map[string]int32 {
	ports := map[string]int32{}
	// Kubernetes allows one number once per protocol (the portmapper's
	// 10111 is TCP and UDP).
	numbers := map[string]bool{}
	for _, p := range c.Ports {
		for _, e := range validation.IsValidPortName(p.Name) {
			fail("%s port name %q: %s", c.Name, p.Name, e)
		}
		for _, e := range validation.IsValidPortNum(int(p.ContainerPort)) {
			fail("%s port %s=%d: %s", c.Name, p.Name, p.ContainerPort, e)
		}
		number := fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
		if _, dup := ports[p.Name]; dup || numbers[number] {
			fail("%s port %s=%d declared twice", c.Name, p.Name, p.ContainerPort)
		}
		ports[p.Name], numbers[number] = p.ContainerPort, true
	}
	for _, e := range c.Env {
		for _, m := range validation.IsEnvVarName(e.Name) {
			fail("%s env %q: %s", c.Name, e.Name, m)
		}
		if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
			for _, m := range validation.IsDNS1123Subdomain(r.SecretKeyRef.Name) {
				fail("%s env %s Secret %q: %s", c.Name, e.Name, r.SecretKeyRef.Name, m)
			}
			for _, m := range validation.IsConfigMapKey(r.SecretKeyRef.Key) {
				fail("%s env %s key %q: %s", c.Name, e.Name, r.SecretKeyRef.Key, m)
			}
		}
	}
	paths := map[string]bool{}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			fail("%s mounts %q, which is no volume", c.Name, m.Name)
		}
		if paths[m.MountPath] {
			fail("%s mounts %s twice", c.Name, m.MountPath)
		}
		paths[m.MountPath] = true
	}
	for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil {
			continue
		}
		if p.HTTPGet == nil || ports[p.HTTPGet.Port.String()] == 0 {
			fail("%s %s probe targets no declared port", c.Name, kind)
		}
		if p.InitialDelaySeconds < 0 || p.PeriodSeconds < 1 || p.TimeoutSeconds < 1 || p.SuccessThreshold < 1 || p.FailureThreshold < 1 {
			fail("%s %s probe timing %+v", c.Name, kind, p)
		}
		if kind != "readiness" && p.SuccessThreshold != 1 {
			fail("%s %s probe successThreshold %d, must be 1", c.Name, kind, p.SuccessThreshold)
		}
	}
	if l := c.Lifecycle; l != nil && l.PreStop != nil {
		if s := l.PreStop.Sleep; s == nil || s.Seconds <= 0 || grace == nil || s.Seconds > *grace {
			fail("%s preStop %+v with grace period %v", c.Name, l.PreStop, grace)
		}
	}
	return ports
}

func checkService(fail failFunc, svc *corev1.Service, containerPorts map[string]int32) {
	names, numbers := map[string]bool{}, map[string]bool{}
	for _, p := range svc.Spec.Ports {
		for _, e := range validation.IsValidPortNum(int(p.Port)) {
			fail("Service %s port %s=%d: %s", svc.Name, p.Name, p.Port, e)
		}
		number := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if names[p.Name] || numbers[number] {
			fail("Service %s port %s=%d declared twice", svc.Name, p.Name, p.Port)
		}
		names[p.Name], numbers[number] = true, true
		if _, ok := containerPorts[p.TargetPort.String()]; !ok {
			fail("Service %s port %s targets %q, which the container does not declare", svc.Name, p.Name, p.TargetPort.String())
		}
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		fail("Service %s type %q", svc.Name, svc.Spec.Type)
	}
}

// checkConfig: the file parses, listens where the container declares, and
// holds no secret.
func checkConfig(fail failFunc, ds *dittov1alpha1.DittoServer, cfg []byte, ports map[string]int32) {
	var c struct {
		ControlPlane struct {
			Host string         `json:"host"`
			Port int32          `json:"port"`
			JWT  map[string]any `json:"jwt"`
		} `json:"controlplane"`
		Metrics struct {
			Enabled bool   `json:"enabled"`
			Host    string `json:"host"`
			Port    int32  `json:"port"`
		} `json:"metrics"`
		Database struct {
			Postgres map[string]any `json:"postgres"`
		} `json:"database"`
	}
	if err := yaml.Unmarshal(cfg, &c); err != nil {
		fail("config.yaml: %v", err)
		return
	}
	if c.ControlPlane.Host != "0.0.0.0" || c.ControlPlane.Port != ports[PortNameAPI] {
		fail("config.yaml API on %s:%d, container port api=%d", c.ControlPlane.Host, c.ControlPlane.Port, ports[PortNameAPI])
	}
	if c.Metrics.Enabled != MetricsEnabled(ds) || (c.Metrics.Enabled && (c.Metrics.Host != "0.0.0.0" || c.Metrics.Port != ports[PortNameMetrics])) {
		fail("config.yaml metrics %+v, container port metrics=%d", c.Metrics, ports[PortNameMetrics])
	}
	if _, ok := c.ControlPlane.JWT["secret"]; ok {
		fail("config.yaml holds the JWT secret")
	}
	for _, k := range []string{"password", "host", "user", "database", "port"} {
		if _, ok := c.Database.Postgres[k]; ok {
			fail("config.yaml holds database.postgres.%s, which belongs in a Secret", k)
		}
	}
}
