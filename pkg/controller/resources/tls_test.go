package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func tlsServer(tls *dittov1alpha1.ControlPlaneTLSSpec) *dittov1alpha1.DittoServer {
	return withIdentity(&dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "nas", Namespace: "storage"},
		Spec:       dittov1alpha1.DittoServerSpec{ControlPlane: &dittov1alpha1.ControlPlaneSpec{TLS: tls}},
	})
}

// By default and with spec.controlPlane.tls the server loads the mounted
// certificate, the probes speak HTTPS and the Secret's certificate and key
// (not its CA) are mounted read-only at /tls: the operator's issued Secret
// by default, the user's with secretName. With mode Disabled nothing of TLS
// is rendered.
func TestTLS(t *testing.T) {
	issued := map[string]any{"cert_file": "/tls/tls.crt", "key_file": "/tls/tls.key", "min_version": "1.2"}
	for _, tc := range []struct {
		name       string
		tls        *dittov1alpha1.ControlPlaneTLSSpec
		wantConfig any // controlplane.tls of config.yaml
		scheme     corev1.URIScheme
		secret     string // the Secret mounted at /tls, "" for none
	}{
		{name: "off", tls: &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}, scheme: corev1.URISchemeHTTP},
		{name: "default: issued by the operator", wantConfig: issued, scheme: corev1.URISchemeHTTPS, secret: "nas-api-tls"},
		{
			name:       "mode Enabled without a Secret: issued, TLS 1.3",
			tls:        &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeEnabled, MinVersion: "1.3"},
			wantConfig: map[string]any{"cert_file": "/tls/tls.crt", "key_file": "/tls/tls.key", "min_version": "1.3"},
			scheme:     corev1.URISchemeHTTPS,
			secret:     "nas-api-tls",
		},
		{
			name:       "the user's Secret, TLS 1.2 by default",
			tls:        &dittov1alpha1.ControlPlaneTLSSpec{SecretName: "nas-cert"},
			wantConfig: issued,
			scheme:     corev1.URISchemeHTTPS,
			secret:     "nas-cert",
		},
		{
			name:       "on, TLS 1.3",
			tls:        &dittov1alpha1.ControlPlaneTLSSpec{SecretName: "nas-cert", MinVersion: "1.3"},
			wantConfig: map[string]any{"cert_file": "/tls/tls.crt", "key_file": "/tls/tls.key", "min_version": "1.3"},
			scheme:     corev1.URISchemeHTTPS,
			secret:     "nas-cert",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := tlsServer(tc.tls)
			cp := parseConfig(t, ds)["controlplane"].(map[string]any)
			if got := cp["tls"]; !equalYAML(got, tc.wantConfig) {
				t.Errorf("controlplane.tls = %v, want %v", got, tc.wantConfig)
			}
			for _, p := range []*corev1.Probe{livenessProbe(ds), readinessProbe(ds), startupProbe(ds)} {
				if p.HTTPGet.Scheme != tc.scheme {
					t.Errorf("probe %s: scheme %s, want %s", p.HTTPGet.Path, p.HTTPGet.Scheme, tc.scheme)
				}
			}
			sts, err := StatefulSet(ds, inputsFor(ds), "hash")
			if err != nil {
				t.Fatal(err)
			}
			pod := sts.Spec.Template.Spec
			var vol *corev1.Volume
			for i := range pod.Volumes {
				if pod.Volumes[i].Name == volumeTLS {
					vol = &pod.Volumes[i]
				}
			}
			var mount *corev1.VolumeMount
			for i, m := range pod.Containers[0].VolumeMounts {
				if m.Name == volumeTLS {
					mount = &pod.Containers[0].VolumeMounts[i]
				}
			}
			if tc.secret == "" {
				if vol != nil || mount != nil {
					t.Errorf("a TLS volume without TLS: %+v %+v", vol, mount)
				}
				return
			}
			if vol == nil || vol.Secret == nil || vol.Secret.SecretName != tc.secret {
				t.Fatalf("TLS volume = %+v, want the Secret %s", vol, tc.secret)
			}
			if items := vol.Secret.Items; len(items) != 2 || items[0].Key != "tls.crt" || items[1].Key != "tls.key" {
				t.Errorf("TLS volume items = %+v, want tls.crt and tls.key only", items)
			}
			if mount == nil || mount.MountPath != TLSDir || !mount.ReadOnly {
				t.Errorf("TLS mount = %+v, want %s read-only", mount, TLSDir)
			}
		})
	}
}

func TestAPIServiceDNSNameAndScheme(t *testing.T) {
	ds := tlsServer(nil)
	if got := APIServiceDNSName(ds); got != "nas-api.storage.svc" {
		t.Errorf("APIServiceDNSName = %q", got)
	}
	if got := APIScheme(ds); got != "https" {
		t.Errorf("APIScheme by default = %q, want https", got)
	}
	if got := APIScheme(tlsServer(&dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled})); got != "http" {
		t.Errorf("APIScheme with mode Disabled = %q", got)
	}
	if got := APIScheme(tlsServer(&dittov1alpha1.ControlPlaneTLSSpec{SecretName: "c"})); got != "https" {
		t.Errorf("APIScheme with the user's Secret = %q", got)
	}
}

func equalYAML(got, want any) bool {
	if want == nil {
		return got == nil
	}
	g, ok := got.(map[string]any)
	w := want.(map[string]any)
	if !ok || len(g) != len(w) {
		return false
	}
	for k, v := range w {
		if g[k] != v {
			return false
		}
	}
	return true
}
