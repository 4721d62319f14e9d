package controller

import (
	"testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func withTLS(secretName string) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{TLS: &dittov1alpha1.ControlPlaneTLSSpec{SecretName: secretName}}
	}
}

// A renewed certificate (a new resourceVersion of the TLS Secret) changes
// the config hash, so the pod restarts with it.
func TestRenewedCertificateRollsThePods(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withTLS("nas-cert")),
		newSecret("nas-cert", map[string]string{"tls.crt": "CERT1", "tls.key": "KEY1"}))
	f.converge()
	oldHash := f.podConfigHash()

	f.put(newSecret("nas-cert", map[string]string{"tls.crt": "CERT2", "tls.key": "KEY2"}))
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets nas-cert", "update statefulsets nas", "apply dittoservers/status nas")
	newHash := f.podConfigHash()
	if newHash == oldHash {
		t.Fatalf("pod template hash unchanged after the certificate was renewed")
	}
	expectEvents(t, f.events(), "Normal ConfigUpdated Configuration updated, pods will restart (hash: "+newHash[:8]+")")
	f.expectQuiet(t)
}
