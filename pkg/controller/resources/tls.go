package resources

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The keys of a kubernetes.io/tls Secret. The server reads only the
// certificate and its key; ca.crt is for the operator, which verifies the
// server with it.
const (
	TLSCertKey = corev1.TLSCertKey       // tls.crt
	TLSKeyKey  = corev1.TLSPrivateKeyKey // tls.key
	TLSCAKey   = "ca.crt"
)

// TLSDir is where spec.controlPlane.tls's Secret is mounted, read-only.
const TLSDir = "/tls"

const (
	volumeTLS            = "tls"
	defaultTLSMinVersion = "1.2"
)

// TLSEnabled tells whether the REST API serves HTTPS: always, unless
// spec.controlPlane.tls.mode is Disabled.
func TLSEnabled(ds *dittov1alpha1.DittoServer) bool {
	cp := ds.Spec.ControlPlane
	return cp == nil || cp.TLS == nil || cp.TLS.Mode != dittov1alpha1.TLSModeDisabled
}

// TLSIssued tells whether the operator issues the API's certificate: TLS
// is on and spec.controlPlane.tls names no Secret of the user's.
func TLSIssued(ds *dittov1alpha1.DittoServer) bool {
	return TLSEnabled(ds) && UserTLSSecretName(ds) == ""
}

// UserTLSSecretName is spec.controlPlane.tls.secretName, "" when unset.
func UserTLSSecretName(ds *dittov1alpha1.DittoServer) string {
	if cp := ds.Spec.ControlPlane; cp != nil && cp.TLS != nil && TLSEnabled(ds) {
		return cp.TLS.SecretName
	}
	return ""
}

// TLSSecretName is the Secret the API's certificate is mounted from: the
// user's, else the one the operator issues; "" without TLS.
func TLSSecretName(ds *dittov1alpha1.DittoServer) string {
	if !TLSEnabled(ds) {
		return ""
	}
	if name := UserTLSSecretName(ds); name != "" {
		return name
	}
	return IssuedTLSSecretName(ds)
}

// APIServiceDNSName is the name the operator verifies the server's
// certificate against, whatever address it dials: the API Service's DNS
// name in the server's namespace.
func APIServiceDNSName(ds *dittov1alpha1.DittoServer) string {
	return fmt.Sprintf("%s.%s.svc", APIServiceName(ds), ds.Namespace)
}

// APIScheme is the scheme of the REST API: https with TLS, else http.
func APIScheme(ds *dittov1alpha1.DittoServer) string {
	if TLSEnabled(ds) {
		return "https"
	}
	return "http"
}

// tlsConfig is controlplane.tls of config.yaml. No client_ca: a server
// requiring client certificates would refuse the operator and the probes.
type tlsConfig struct {
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
	MinVersion string `json:"min_version"`
}

// tlsSection is controlplane.tls, nil without TLS. The server reloads the
// files when the kubelet updates the mounted Secret.
func tlsSection(ds *dittov1alpha1.DittoServer) *tlsConfig {
	if !TLSEnabled(ds) {
		return nil
	}
	minVersion := ""
	if cp := ds.Spec.ControlPlane; cp != nil && cp.TLS != nil {
		minVersion = cp.TLS.MinVersion
	}
	if minVersion == "" {
		minVersion = defaultTLSMinVersion
	}
	return &tlsConfig{
		CertFile:   path.Join(TLSDir, TLSCertKey),
		KeyFile:    path.Join(TLSDir, TLSKeyKey),
		MinVersion: minVersion,
	}
}

// tlsVolume mounts only the certificate and key of the Secret, readable by
// owner and group (the pod's fsGroup, defaulted to the server's group, lets
// the server read them) and by no one else.
func tlsVolume(ds *dittov1alpha1.DittoServer) []corev1.Volume {
	if !TLSEnabled(ds) {
		return nil
	}
	return []corev1.Volume{{
		Name: volumeTLS,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  TLSSecretName(ds),
			Items:       []corev1.KeyToPath{{Key: TLSCertKey, Path: TLSCertKey}, {Key: TLSKeyKey, Path: TLSKeyKey}},
			DefaultMode: ptr.To[int32](0o440),
		}},
	}}
}

func tlsVolumeMount(ds *dittov1alpha1.DittoServer) []corev1.VolumeMount {
	if !TLSEnabled(ds) {
		return nil
	}
	return []corev1.VolumeMount{{Name: volumeTLS, MountPath: TLSDir, ReadOnly: true}}
}
