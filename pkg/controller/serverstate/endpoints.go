package serverstate

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// APIFactory builds a client of one server's REST API. rt is nil for the
// default transport. Tests substitute a fake.
type APIFactory func(baseURL string, rt http.RoundTripper) dfsapi.API

// Access is how the operator reaches a server's REST API.
type Access string

const (
	// AccessAuto uses the Service when the operator runs in a pod, else the proxy.
	AccessAuto Access = "auto"
	// AccessService calls http(s)://<name>-api.<namespace>.svc:<port>.
	AccessService Access = "service"
	// AccessProxy tunnels through the API server to the server's pod
	// (pods/portforward), for an operator running outside the cluster. The
	// API server's services/proxy subresource cannot carry the server's
	// bearer token: the API server consumes and strips the Authorization
	// header of every request it authenticates.
	AccessProxy Access = "proxy"
)

// ParseAccess validates a --server-access value.
func ParseAccess(s string) (Access, error) {
	switch a := Access(s); a {
	case AccessAuto, AccessService, AccessProxy:
		return a, nil
	}
	return "", fmt.Errorf("--server-access must be auto, service or proxy, not %q", s)
}

// InPod tells whether the process runs in a Kubernetes pod.
func InPod() bool {
	return os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBERNETES_SERVICE_PORT") != ""
}

// Tunnel opens (or reuses) a local endpoint that reaches a server's API
// port through the API server, and closes it when the server goes.
type Tunnel interface {
	Endpoint(ctx context.Context, ds *dittov1alpha1.DittoServer) (string, error)
	Close(server cache.ObjectName)
}

// Endpoints resolves the base URL of a server's REST API.
type Endpoints struct {
	mode      Access
	tunnel    Tunnel
	mu        sync.RWMutex
	overrides map[cache.ObjectName]string
}

// NewEndpoints resolves with mode (auto already decided by the caller or
// here from InPod); tunnel is used in proxy mode and may be nil otherwise.
func NewEndpoints(mode Access, tunnel Tunnel, overrides map[cache.ObjectName]string) *Endpoints {
	if mode == AccessAuto || mode == "" {
		mode = AccessProxy
		if InPod() {
			mode = AccessService
		}
	}
	o := map[cache.ObjectName]string{}
	for k, v := range overrides {
		o[k] = strings.TrimRight(v, "/")
	}
	return &Endpoints{mode: mode, tunnel: tunnel, overrides: o}
}

// Mode is the access mode in effect.
func (e *Endpoints) Mode() Access { return e.mode }

// Resolve returns the base URL of the server's API.
func (e *Endpoints) Resolve(ctx context.Context, ds *dittov1alpha1.DittoServer) (string, error) {
	key := cache.MetaObjectToName(ds)
	e.mu.RLock()
	override, ok := e.overrides[key]
	e.mu.RUnlock()
	if ok {
		return override, nil
	}
	if e.mode == AccessProxy {
		if e.tunnel == nil {
			return "", fmt.Errorf("no tunnel to reach the server's API from outside the cluster")
		}
		u, err := e.tunnel.Endpoint(ctx, ds)
		if err != nil {
			return "", err
		}
		// The tunnel forwards bytes: with TLS the pod's port speaks HTTPS.
		return resources.APIScheme(ds) + strings.TrimPrefix(u, "http"), nil
	}
	return ServiceURL(ds), nil
}

// Forget releases what was opened to reach the server.
func (e *Endpoints) Forget(server cache.ObjectName) {
	if e.tunnel != nil {
		e.tunnel.Close(server)
	}
}

// ServiceURL is the in-cluster URL of the server's API Service, https when
// the API serves TLS.
func ServiceURL(ds *dittov1alpha1.DittoServer) string {
	return fmt.Sprintf("%s://%s:%d", resources.APIScheme(ds), resources.APIServiceDNSName(ds), resources.APIPort(ds))
}

// ParseEndpointOverride parses one --server-api-endpoint value,
// <namespace>/<name>=<url>.
func ParseEndpointOverride(s string) (cache.ObjectName, string, error) {
	ref, raw, ok := strings.Cut(s, "=")
	ns, name, ok2 := strings.Cut(ref, "/")
	if !ok || !ok2 || ns == "" || name == "" || raw == "" {
		return cache.ObjectName{}, "", fmt.Errorf("--server-api-endpoint %q: want <namespace>/<name>=<url>", s)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cache.ObjectName{}, "", fmt.Errorf("--server-api-endpoint %q: %q is not an http(s) URL", s, raw)
	}
	return cache.ObjectName{Namespace: ns, Name: name}, strings.TrimRight(raw, "/"), nil
}

// EndpointOverrides is a repeatable flag of ParseEndpointOverride values.
type EndpointOverrides map[cache.ObjectName]string

func (o EndpointOverrides) String() string {
	var parts []string
	for k, v := range o {
		parts = append(parts, k.String()+"="+v)
	}
	return strings.Join(parts, ",")
}

// Set adds one override.
func (o EndpointOverrides) Set(s string) error {
	k, v, err := ParseEndpointOverride(s)
	if err != nil {
		return err
	}
	o[k] = v
	return nil
}
