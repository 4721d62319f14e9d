package main

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// adminUsername is the administrator DittoFS v0.29.0 creates, whatever
// spec.identity.admin.username says.
const adminUsername = "admin"

// credentials says how to log in to the server's REST API as the
// administrator. It reads the password Secret only with --show-password.
func credentials(ctx context.Context, e *env, args []string) error {
	ds, err := e.ditto.DittofsV1alpha1().DittoServers(e.namespace).Get(ctx, args[0], metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("DittoServer %s/%s: %w", e.namespace, args[0], err)
	}
	var password string
	if e.flags.showPassword {
		complain(e.errOut, "WARNING: printing the administrator password of DittoServer %s/%s; anyone who sees this output can administer the server.\n", ds.Namespace, ds.Name)
		if password, err = adminPassword(ctx, e, ds); err != nil {
			return err
		}
	}
	p := &printer{w: e.out}
	writeCredentials(p, ds, password)
	return p.err
}

// adminPassword reads the initial admin password from its Secret.
func adminPassword(ctx context.Context, e *env, ds *dittov1alpha1.DittoServer) (string, error) {
	sel := resources.AdminPasswordSelector(ds)
	sec, err := e.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, sel.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("the admin password Secret %s/%s: %w", ds.Namespace, sel.Name, err)
	}
	v, ok := sec.Data[sel.Key]
	if !ok || len(v) == 0 {
		return "", fmt.Errorf("the admin password Secret %s/%s has no key %q", ds.Namespace, sel.Name, sel.Key)
	}
	return string(v), nil
}

// writeCredentials prints the API's address, the CA to trust, the username
// and where the password is; the password itself when it is given.
func writeCredentials(p *printer, ds *dittov1alpha1.DittoServer, password string) {
	svc, port := resources.APIServiceName(ds), resources.APIPort(ds)
	scheme := "https"
	if !resources.TLSEnabled(ds) {
		scheme = "http"
	}
	p.printf("DittoServer %s/%s: log in to the REST API as the administrator.\n", ds.Namespace, ds.Name)
	host := fmt.Sprintf("%s.%s.svc", svc, ds.Namespace)
	p.printf("\nAPI, in the cluster:  %s://%s:%d\n", scheme, host, port)
	p.printf("API, from here:       kubectl port-forward -n %s svc/%s %d:%d &\n", ds.Namespace, svc, port, port)
	p.printf("  then %s://%s:%d with that name resolved to 127.0.0.1 (the certificate names the Service, not 127.0.0.1)\n", scheme, host, port)
	writeCA(p, ds)
	p.printf("\nUsername: %s\n", adminUsername)
	sel := resources.AdminPasswordSelector(ds)
	if password != "" {
		p.printf("Password: %s\n", password)
	} else {
		p.printf("Password (Secret %s, key %s; --show-password prints it):\n", sel.Name, sel.Key)
		p.printf("  kubectl get secret -n %s %s -o jsonpath='{.data.%s}' | base64 -d\n", ds.Namespace, sel.Name, jsonPathKey(sel.Key))
	}
	p.println("(the initial password: once changed on the server, the Secret no longer holds it)")
	p.println("\nLog in (through the port-forward):")
	cacert := ""
	if resources.TLSEnabled(ds) {
		cacert = " --cacert " + ds.Name + "-ca.crt"
	}
	p.printf("  curl%s --resolve %s:%d:127.0.0.1 %s://%s:%d/api/v1/auth/login \\\n", cacert, host, port, scheme, host, port)
	p.printf("    -H 'Content-Type: application/json' -d '{\"username\":\"%s\",\"password\":\"PASSWORD\"}'\n", adminUsername)
}

// writeCA says which CA signs the API's certificate and how to get it.
func writeCA(p *printer, ds *dittov1alpha1.DittoServer) {
	if !resources.TLSEnabled(ds) {
		p.println("\nTLS is off (spec.controlPlane.tls.mode Disabled): the password and tokens cross the network in clear.")
		return
	}
	name := resources.TLSSecretName(ds)
	p.printf("\nCA to trust (Secret %s, key ca.crt", name)
	if !resources.TLSIssued(ds) {
		p.printf("; your Secret from spec.controlPlane.tls.secretName: it may not hold a CA")
	}
	p.println("):")
	p.printf("  kubectl get secret -n %s %s -o jsonpath='{.data.ca\\.crt}' | base64 -d > %s-ca.crt\n", ds.Namespace, name, ds.Name)
}

// jsonPathKey escapes the dots of a Secret key for kubectl's jsonpath.
func jsonPathKey(key string) string { return strings.ReplaceAll(key, ".", `\.`) }
