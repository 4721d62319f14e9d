package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The server's health endpoints, on the API listener, without authentication.
// /health stays 200 (reporting "degraded") while the database is down, so
// liveness does not restart a server that could not fix it by restarting.
// /health/ready is 503 only until the server's runtime exists.
const (
	HealthPath = "/health"
	ReadyPath  = "/health/ready"
)

// probeTiming is a probe's timing in the order of the spec: initial delay,
// period, timeout, success and failure thresholds.
type probeTiming struct {
	initialDelay, period, timeout, success, failure int32
}

// The defaults: a server gets 150 s (30 × 5 s) to start, is restarted after
// 30 s without /health, and leaves the endpoints after 15 s without /health/ready.
var (
	livenessTiming  = probeTiming{15, 10, 5, 1, 3}
	readinessTiming = probeTiming{10, 5, 5, 1, 3}
	startupTiming   = probeTiming{0, 5, 5, 1, 30}
)

func livenessProbe(ds *dittov1alpha1.DittoServer) *corev1.Probe {
	var o *dittov1alpha1.ProbeTiming
	if ds.Spec.Probes != nil {
		o = ds.Spec.Probes.Liveness
	}
	return httpProbe(HealthPath, probeScheme(ds), livenessTiming.with(o))
}

func readinessProbe(ds *dittov1alpha1.DittoServer) *corev1.Probe {
	var o *dittov1alpha1.ProbeTiming
	if ds.Spec.Probes != nil {
		o = ds.Spec.Probes.Readiness
	}
	return httpProbe(ReadyPath, probeScheme(ds), readinessTiming.with(o))
}

func startupProbe(ds *dittov1alpha1.DittoServer) *corev1.Probe {
	var o *dittov1alpha1.ProbeTiming
	if ds.Spec.Probes != nil {
		o = ds.Spec.Probes.Startup
	}
	return httpProbe(HealthPath, probeScheme(ds), startupTiming.with(o))
}

// with applies the fields the user set; the others keep the defaults.
func (t probeTiming) with(o *dittov1alpha1.ProbeTiming) probeTiming {
	if o == nil {
		return t
	}
	set := func(dst *int32, src *int32) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.initialDelay, o.InitialDelaySeconds)
	set(&t.period, o.PeriodSeconds)
	set(&t.timeout, o.TimeoutSeconds)
	set(&t.success, o.SuccessThreshold)
	set(&t.failure, o.FailureThreshold)
	return t
}

// probeScheme is HTTPS when the API serves TLS; the kubelet does not verify
// the certificate.
func probeScheme(ds *dittov1alpha1.DittoServer) corev1.URIScheme {
	if TLSEnabled(ds) {
		return corev1.URISchemeHTTPS
	}
	return corev1.URISchemeHTTP
}

// httpProbe GETs path on the container port named "api", so a changed API
// port needs no change here.
func httpProbe(path string, scheme corev1.URIScheme, t probeTiming) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{
				Path:   path,
				Port:   intstr.FromString(PortNameAPI),
				Scheme: scheme,
			},
		},
		InitialDelaySeconds: t.initialDelay,
		PeriodSeconds:       t.period,
		TimeoutSeconds:      t.timeout,
		SuccessThreshold:    t.success,
		FailureThreshold:    t.failure,
	}
}

// lifecycle delays SIGTERM by preStopDelaySeconds, so endpoints and load
// balancers stop sending new connections before the server drains. The
// native sleep action needs no shell in the image. No hook when the delay is 0.
func lifecycle(ds *dittov1alpha1.DittoServer) *corev1.Lifecycle {
	delay := PreStopDelaySeconds(ds)
	if delay == 0 {
		return nil
	}
	return &corev1.Lifecycle{
		PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(delay)}},
	}
}
