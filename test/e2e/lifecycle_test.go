package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The minimal sample, from creation to a running server and back to zero
// replicas, as a user sees it through kubectl.
func TestLifecycleMinimal(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("minimal")

	n.waitDS(name, "finalizer added", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return slices.Contains(ds.Finalizers, controller.Finalizer), fmt.Sprintf("finalizers %v", ds.Finalizers)
	})
	ds := n.waitReady(name)
	if want := fmt.Sprintf("%s-file.%s.svc.cluster.local:2049", name, n.name); ds.Status.NFSEndpoint != want {
		t.Errorf("status.nfsEndpoint = %q, want %q", ds.Status.NFSEndpoint, want)
	}
	if ds.Status.ConfigHash == "" || ds.Status.ReadyReplicas != 1 || ds.Status.AvailableReplicas != 1 {
		t.Errorf("status: %s, readyReplicas %d, availableReplicas %d", statusSummary(ds), ds.Status.ReadyReplicas, ds.Status.AvailableReplicas)
	}

	// Every child exists and names the DittoServer as its controller.
	n.assertChildren(ds)

	pod := n.pod(name + "-0")
	if !podRunning(pod) {
		t.Errorf("pod %s: phase %s on node %q, want Running and Ready on the kwok node", pod.Name, pod.Status.Phase, pod.Spec.NodeName)
	}

	n.kubectl("wait", "--for=condition=Ready", "ditto/"+name, "--timeout=60s")

	header := strings.Fields(strings.SplitN(n.kubectl("get", "ditto"), "\n", 2)[0])
	if want := []string{"NAME", "REPLICAS", "READY", "AVAILABLE", "STATUS", "AGE"}; !slices.Equal(header, want) {
		t.Errorf("kubectl get ditto columns = %v, want %v", header, want)
	}
	row := strings.Fields(n.kubectl("get", "ditto", name, "--no-headers"))
	if len(row) < 5 || !slices.Equal(row[:5], []string{name, "1", "1", "1", "Running"}) {
		t.Errorf("kubectl get ditto %s = %v, want [%s 1 1 1 Running <age>]", name, row, name)
	}

	describe := n.kubectl("describe", "dittoserver", name)
	if !strings.Contains(describe, controller.ReasonCreated) || !strings.Contains(describe, "DittoServer created, finalizer added") {
		t.Errorf("kubectl describe dittoserver shows no Created event:\n%s", describe)
	}
	if got := countEvents(n.events(ds.UID), controller.ReasonCreated); got != 1 {
		t.Errorf("%d Created events, want 1", got)
	}
	if got := countEvents(n.events(ds.UID), controller.ReasonConfigUpdated); got != 0 {
		t.Errorf("%d ConfigUpdated events at creation, want 0", got)
	}

	// Scaled to zero: the server stops, the volumes stay.
	n.kubectl("scale", "ditto", name, "--replicas=0")
	n.waitDS(name, "phase Stopped with Available=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return ds.Status.Phase == dittov1alpha1.PhaseStopped && ds.Status.ObservedGeneration == ds.Generation &&
			hasCondition(ds, controller.ConditionAvailable, metav1.ConditionTrue, controller.ReasonScaledToZero), statusSummary(ds)
	})
	sts := n.statefulSet(name)
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
		t.Errorf("StatefulSet replicas = %v, want 0", sts.Spec.Replicas)
	}
	eventually(t, waitShort, "pod "+name+"-0 gone", func() (bool, string) {
		_, err := env.kube.CoreV1().Pods(n.name).Get(t.Context(), name+"-0", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	pvcs, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(pvcs.Items) == 0 {
		t.Errorf("volume claims after scaling to zero: %d (%v), want them kept", len(pvcs.Items), err)
	}
	// READY and AVAILABLE are empty at zero (omitted from the status).
	if row := strings.Fields(n.kubectl("get", "ditto", name, "--no-headers")); len(row) < 3 || row[1] != "0" || !slices.Contains(row, "Stopped") {
		t.Errorf("kubectl get ditto %s = %v, want replicas 0 and status Stopped", name, row)
	}

	// And back.
	n.kubectl("scale", "ditto", name, "--replicas=1")
	n.waitReady(name)
}

// The probes, preStop hook and grace period the StatefulSet carries: the
// defaults, then the overrides of spec.probes and spec.shutdownTimeout.
func TestProbesAndShutdownAsRendered(t *testing.T) {
	n := newNamespace(t, nil)

	minimal := n.applySample("minimal")
	tuned := sampleDittoServer(t, readSample(t, "minimal"))
	tuned.SetName("tuned")
	mergeSpec(t, tuned, `{shutdownTimeout: 60s, probes: {
		liveness: {initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 7, failureThreshold: 4},
		readiness: {periodSeconds: 10},
		startup: {failureThreshold: 60}}}`)
	n.create(tuned)

	for _, tc := range []struct {
		name                       string
		liveness, readiness, start probeWant
		grace                      int64
	}{
		{minimal,
			probeWant{resources.HealthPath, 15, 10, 5, 1, 3},
			probeWant{resources.ReadyPath, 10, 5, 5, 1, 3},
			probeWant{resources.HealthPath, 0, 5, 5, 1, 30},
			105}, // 5 + 3 × 30 + 10
		{"tuned",
			probeWant{resources.HealthPath, 30, 20, 7, 1, 4},
			probeWant{resources.ReadyPath, 10, 10, 5, 1, 3},
			probeWant{resources.HealthPath, 0, 5, 5, 1, 60},
			195}, // 5 + 3 × 60 + 10
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.waitReady(tc.name)
			pod := n.statefulSet(tc.name).Spec.Template.Spec
			c := container(t, pod.Containers, "dittofs")
			api := containerPort(t, c, resources.PortNameAPI)
			if api != 8080 {
				t.Errorf("container port %q = %d, want the API port 8080", resources.PortNameAPI, api)
			}
			tc.liveness.check(t, "liveness", c.LivenessProbe, c)
			tc.readiness.check(t, "readiness", c.ReadinessProbe, c)
			tc.start.check(t, "startup", c.StartupProbe, c)
			// The certificate the probes reach: issued by the operator,
			// owned by the DittoServer, mounted read-only at /tls.
			issued, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), tc.name+"-api-tls", metav1.GetOptions{})
			switch {
			case err != nil:
				t.Errorf("issued TLS Secret %s-api-tls: %v", tc.name, err)
			case issued.Type != corev1.SecretTypeTLS || len(issued.Data[resources.TLSCAKey]) == 0 || len(issued.OwnerReferences) != 1 ||
				issued.OwnerReferences[0].Kind != "DittoServer" || issued.OwnerReferences[0].Name != tc.name:
				t.Errorf("issued TLS Secret %s-api-tls: type %s, ca.crt %d bytes, owners %v", tc.name, issued.Type, len(issued.Data[resources.TLSCAKey]), issued.OwnerReferences)
			}
			mounted := false
			for _, v := range pod.Volumes {
				mounted = mounted || (v.Secret != nil && v.Secret.SecretName == tc.name+"-api-tls")
			}
			if !mounted {
				t.Errorf("the pod does not mount %s-api-tls", tc.name)
			}
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 5 {
				t.Errorf("preStop = %+v, want sleep 5 s", c.Lifecycle)
			}
			if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != tc.grace {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", pod.TerminationGracePeriodSeconds, tc.grace)
			}
			// The pod the StatefulSet controller made carries the same values.
			p := n.pod(tc.name + "-0")
			if p.Spec.TerminationGracePeriodSeconds == nil || *p.Spec.TerminationGracePeriodSeconds != tc.grace {
				t.Errorf("pod terminationGracePeriodSeconds = %v, want %d", p.Spec.TerminationGracePeriodSeconds, tc.grace)
			}
		})
	}
}

// probeWant is an HTTP GET probe on the API port with its timing.
type probeWant struct {
	path                                       string
	initialDelay, period, timeout, succ, fails int32
}

func (w probeWant) check(t *testing.T, what string, p *corev1.Probe, c *corev1.Container) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe = %+v, want HTTP GET %s", what, p, w.path)
		return
	}
	if p.HTTPGet.Path != w.path || p.HTTPGet.Port != intstr.FromString(resources.PortNameAPI) || p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("%s probe GET %s %s on port %s, want GET HTTPS %s on port %q (TLS by default)", what, p.HTTPGet.Scheme, p.HTTPGet.Path, p.HTTPGet.Port.String(), w.path, resources.PortNameAPI)
	}
	got := [5]int32{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.SuccessThreshold, p.FailureThreshold}
	want := [5]int32{w.initialDelay, w.period, w.timeout, w.succ, w.fails}
	if got != want {
		t.Errorf("%s probe initialDelay/period/timeout/success/failure = %v, want %v", what, got, want)
	}
}

func container(t *testing.T, cs []corev1.Container, name string) *corev1.Container {
	t.Helper()
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

func containerPort(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, name)
	return 0
}

func (n *testNS) pod(name string) *corev1.Pod {
	n.t.Helper()
	p, err := env.kube.CoreV1().Pods(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func (n *testNS) statefulSet(name string) *appsv1.StatefulSet {
	n.t.Helper()
	s, err := env.kube.AppsV1().StatefulSets(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get StatefulSet %s: %v", name, err)
	}
	return s
}

// assertChildren checks that the ConfigMap, the three Services and the
// StatefulSet exist with ds as their controller, and the generated Secrets
// exist kept for ds (no owner reference: they outlive it with the volumes).
func (n *testNS) assertChildren(ds *dittov1alpha1.DittoServer) {
	t := n.t
	t.Helper()
	ctx := t.Context()
	core := env.kube.CoreV1()
	check := func(kind, name string, obj metav1.Object, err error) {
		t.Helper()
		switch {
		case err != nil:
			t.Errorf("%s %s: %v", kind, name, err)
		case !controlledBy(obj, ds):
			t.Errorf("%s %s: controller %+v, want DittoServer %s (uid %s)", kind, name, metav1.GetControllerOf(obj), ds.Name, ds.UID)
		}
	}
	// A new server's generated credentials are in one Secret.
	for _, name := range []string{ds.Name + "-jwt", ds.Name + "-admin"} {
		if _, err := core.Secrets(n.name).Get(ctx, name, metav1.GetOptions{}); err == nil {
			t.Errorf("Secret %s exists; a new server's generated credentials are all in %s", name, resources.CredentialsSecretName(ds))
		}
	}
	for _, name := range []string{resources.CredentialsSecretName(ds)} {
		s, err := core.Secrets(n.name).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err != nil:
			t.Errorf("Secret %s: %v", name, err)
		case len(s.OwnerReferences) != 0 || !resources.KeptFor(s, ds):
			t.Errorf("Secret %s: owners %v labels %v, want none and kept for %s", name, s.OwnerReferences, s.Labels, ds.Name)
		}
	}
	cm, err := core.ConfigMaps(n.name).Get(ctx, resources.ConfigMapName(ds), metav1.GetOptions{})
	check("ConfigMap", resources.ConfigMapName(ds), cm, err)
	if err == nil && cm.Data["config.yaml"] == "" {
		t.Errorf("ConfigMap %s has no config.yaml", cm.Name)
	}
	for _, name := range []string{resources.HeadlessServiceName(ds), resources.FileServiceName(ds), resources.APIServiceName(ds)} {
		s, err := core.Services(n.name).Get(ctx, name, metav1.GetOptions{})
		check("Service", name, s, err)
	}
	sts, err := env.kube.AppsV1().StatefulSets(n.name).Get(ctx, resources.StatefulSetName(ds), metav1.GetOptions{})
	check("StatefulSet", resources.StatefulSetName(ds), sts, err)
}
