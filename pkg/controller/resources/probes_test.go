package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// timing reads a probe's timing in the spec's order.
func timing(p *corev1.Probe) probeTiming {
	return probeTiming{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.SuccessThreshold, p.FailureThreshold}
}

func TestProbes(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		probes                       *dittov1alpha1.ProbesSpec
		liveness, readiness, startup probeTiming
	}{
		{
			name:     "the seed's values by default",
			liveness: probeTiming{15, 10, 5, 1, 3}, readiness: probeTiming{10, 5, 5, 1, 3}, startup: probeTiming{0, 5, 5, 1, 30},
		},
		{
			name:     "empty overrides change nothing",
			probes:   &dittov1alpha1.ProbesSpec{Liveness: &dittov1alpha1.ProbeTiming{}},
			liveness: probeTiming{15, 10, 5, 1, 3}, readiness: probeTiming{10, 5, 5, 1, 3}, startup: probeTiming{0, 5, 5, 1, 30},
		},
		{
			name: "each field overrides only itself",
			probes: &dittov1alpha1.ProbesSpec{
				Liveness:  &dittov1alpha1.ProbeTiming{InitialDelaySeconds: ptr.To[int32](30)},
				Readiness: &dittov1alpha1.ProbeTiming{PeriodSeconds: ptr.To[int32](2), SuccessThreshold: ptr.To[int32](2)},
				Startup:   &dittov1alpha1.ProbeTiming{FailureThreshold: ptr.To[int32](120), TimeoutSeconds: ptr.To[int32](1)},
			},
			liveness: probeTiming{30, 10, 5, 1, 3}, readiness: probeTiming{10, 2, 5, 2, 3}, startup: probeTiming{0, 5, 1, 1, 120},
		},
		{
			name: "every field overridden",
			probes: &dittov1alpha1.ProbesSpec{Readiness: &dittov1alpha1.ProbeTiming{
				InitialDelaySeconds: ptr.To[int32](1), PeriodSeconds: ptr.To[int32](2), TimeoutSeconds: ptr.To[int32](3),
				SuccessThreshold: ptr.To[int32](4), FailureThreshold: ptr.To[int32](5),
			}},
			liveness: probeTiming{15, 10, 5, 1, 3}, readiness: probeTiming{1, 2, 3, 4, 5}, startup: probeTiming{0, 5, 5, 1, 30},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts, err := StatefulSet(newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Probes = tc.probes }), Inputs{}, "h")
			if err != nil {
				t.Fatal(err)
			}
			c := sts.Spec.Template.Spec.Containers[0]
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
				want  probeTiming
			}{
				{"liveness", c.LivenessProbe, "/health", tc.liveness},
				{"readiness", c.ReadinessProbe, "/health/ready", tc.readiness},
				{"startup", c.StartupProbe, "/health", tc.startup},
			} {
				if got := timing(p.probe); got != p.want {
					t.Errorf("%s timing %+v, want %+v", p.name, got, p.want)
				}
				h := p.probe.HTTPGet
				if h == nil || h.Path != p.path || h.Port.String() != "api" || h.Scheme != corev1.URISchemeHTTPS || p.probe.TCPSocket != nil || p.probe.Exec != nil {
					t.Errorf("%s handler %+v, want HTTPS GET %s on the port named api (TLS by default)", p.name, p.probe.ProbeHandler, p.path)
				}
			}
		})
	}
}

// The probes name the API port, so a changed API port moves them with it.
func TestProbesFollowTheAPIPort(t *testing.T) {
	sts, err := StatefulSet(newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](9000)}
	}), Inputs{}, "h")
	if err != nil {
		t.Fatal(err)
	}
	c := sts.Spec.Template.Spec.Containers[0]
	if c.Ports[0].Name != "api" || c.Ports[0].ContainerPort != 9000 {
		t.Errorf("ports %+v, want api=9000 first", c.Ports)
	}
}

func TestPreStop(t *testing.T) {
	for _, tc := range []struct {
		delay *int32
		want  int64 // 0: no hook
	}{{nil, 5}, {ptr.To[int32](20), 20}, {ptr.To[int32](0), 0}} {
		sts, err := StatefulSet(newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.PreStopDelaySeconds = tc.delay }), Inputs{}, "h")
		if err != nil {
			t.Fatal(err)
		}
		l := sts.Spec.Template.Spec.Containers[0].Lifecycle
		switch {
		case tc.want == 0 && l != nil:
			t.Errorf("delay 0: lifecycle %+v, want none", l)
		case tc.want != 0 && (l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != tc.want || l.PreStop.Exec != nil):
			t.Errorf("delay %v: lifecycle %+v, want a native sleep of %d s", tc.delay, l, tc.want)
		}
	}
}
