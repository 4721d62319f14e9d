package serverstate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// A server serves its API over HTTPS unless spec.controlPlane.tls.mode is
// Disabled. The operator verifies its certificate with ca.crt of the Secret
// the pod mounts: the user's (the system roots when it has none) or the one
// the operator issued and controls (never the system roots), and always for the name
// <name>-api.<namespace>.svc, whatever address it dials: the Service, a
// port-forward tunnel on 127.0.0.1, or a --server-api-endpoint override.
// The certificate must carry that name. The CA is read with a live GET once
// per resourceVersion of the Secret and kept only as a parsed pool inside
// the transport; it is never logged.

const tlsSecretField = "spec.controlPlane.tls.secretName"

// plainTransport is shared by the servers without TLS: no proxy (see
// dfsapi.NewTransport), connections pooled per address.
var plainTransport = dfsapi.NewTransport(nil)

// tlsTransport is the transport of one server, built from one version of
// its TLS Secret.
type tlsTransport struct {
	secret, version string
	rt              *http.Transport
}

type transports struct {
	mu sync.Mutex
	m  map[cache.ObjectName]tlsTransport
}

func newTransports() *transports { return &transports{m: map[cache.ObjectName]tlsTransport{}} }

func (t *transports) get(key cache.ObjectName, secret, version string) *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.m[key]; ok && version != "" && cur.secret == secret && cur.version == version {
		return cur.rt
	}
	return nil
}

func (t *transports) put(key cache.ObjectName, tt tlsTransport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[key]; ok {
		old.rt.CloseIdleConnections()
	}
	t.m[key] = tt
}

func (t *transports) forget(key cache.ObjectName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.m[key]; ok {
		old.rt.CloseIdleConnections()
		delete(t.m, key)
	}
}

// apiTransport is the transport of the server's API client, counted by the
// metrics, and an identity of its TLS material ("" without TLS) that a
// session must match to be reused.
func (c *Controller) apiTransport(ctx context.Context, ds *dittov1alpha1.DittoServer) (http.RoundTripper, string, error) {
	name := resources.TLSSecretName(ds)
	if name == "" {
		return c.metrics.transport(plainTransport), "", nil
	}
	key := cache.MetaObjectToName(ds)
	version := c.secretVersion(ds.Namespace, name)
	if rt := c.transports.get(key, name, version); rt != nil {
		return c.metrics.transport(rt), name + "@" + version, nil
	}
	s, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, name, metav1.GetOptions{})
	issued := resources.TLSIssued(ds)
	switch {
	case apierrors.IsNotFound(err) && issued:
		// The DittoServer controller issues it before the pod can start.
		return nil, "", &unreachableError{fmt.Errorf("waiting for the API's certificate (Secret %s/%s) to be issued", ds.Namespace, name)}
	case apierrors.IsNotFound(err):
		return nil, "", &problemError{Problem{ReasonSecretNotFound, fmt.Sprintf("Secret %q (%s) not found in namespace %q", name, tlsSecretField, ds.Namespace)}}
	case err != nil:
		return nil, "", fmt.Errorf("get Secret %s/%s: %w", ds.Namespace, name, err)
	}
	if issued && !metav1.IsControlledBy(s, ds) {
		// A Secret of that name the operator did not issue: its CA is no
		// proof of the server's identity (the DittoServer controller
		// reports it as ResourceNotOwned).
		return nil, "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf("Secret %q is not the one the operator issued for DittoServer %s: delete it to have the API's certificate issued", name, ds.Name)}}
	}
	caPEM := s.Data[resources.TLSCAKey]
	if issued && len(caPEM) == 0 {
		return nil, "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf("Secret %q issued by the operator has no %q", name, resources.TLSCAKey)}}
	}
	cfg, err := clientTLSConfig(ds, caPEM)
	if err != nil {
		return nil, "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf("Secret %q key %q (%s): %v", name, resources.TLSCAKey, tlsSecretField, err)}}
	}
	rt := dfsapi.NewTransport(cfg)
	c.transports.put(key, tlsTransport{secret: name, version: s.ResourceVersion, rt: rt})
	klog.FromContext(ctx).V(2).Info("Verifying the server's API certificate", "secret", klog.KRef(ds.Namespace, name),
		"resourceVersion", s.ResourceVersion, "serverName", cfg.ServerName, "customCA", cfg.RootCAs != nil)
	return c.metrics.transport(rt), name + "@" + s.ResourceVersion, nil
}

// clientTLSConfig verifies the server for its Service DNS name, against
// caPEM when given, else the system roots.
func clientTLSConfig(ds *dittov1alpha1.DittoServer, caPEM []byte) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: resources.APIServiceDNSName(ds), MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("no PEM certificate in it")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
