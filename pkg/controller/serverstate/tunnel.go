package serverstate

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	// Deprecated for k8s.io/streaming/pkg/httpstream, but client-go v0.37's
	// spdy.NewDialer and portforward.New/NewFallbackDialer still take and
	// return this package's Dialer: moving means their *ForStreaming variants.
	"k8s.io/apimachinery/pkg/util/httpstream" //nolint:staticcheck // SA1019: see above
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// PortForwardTunnel reaches a server's API port through the API server's
// pods/portforward subresource, listening on a loopback port of its own. It
// is how an operator outside the cluster (make run, a laptop) reaches a
// ClusterIP it cannot route to. One forward per server, reopened when it
// breaks (for example when the pod restarts).
type PortForwardTunnel struct {
	config *rest.Config
	mu     sync.Mutex
	open   map[cache.ObjectName]*forward
	// opening serialises the opening of one server's forward, so that a
	// server whose pod does not answer holds up no other server.
	opening map[cache.ObjectName]*sync.Mutex
}

type forward struct {
	stop    chan struct{}
	once    sync.Once
	done    chan struct{}
	pod     string
	port    int32
	baseURL string
}

// NewPortForwardTunnel tunnels with the operator's own credentials.
func NewPortForwardTunnel(config *rest.Config) *PortForwardTunnel {
	return &PortForwardTunnel{config: config, open: map[cache.ObjectName]*forward{}, opening: map[cache.ObjectName]*sync.Mutex{}}
}

// Endpoint returns the loopback URL of a working forward to the server's
// pod, opening one when needed.
func (t *PortForwardTunnel) Endpoint(ctx context.Context, ds *dittov1alpha1.DittoServer) (string, error) {
	key := cache.MetaObjectToName(ds)
	pod := resources.StatefulSetName(ds) + "-0"
	port := resources.APIPort(ds)
	t.mu.Lock()
	lock, ok := t.opening[key]
	if !ok {
		lock = &sync.Mutex{}
		t.opening[key] = lock
	}
	t.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()

	t.mu.Lock()
	f, ok := t.open[key]
	t.mu.Unlock()
	if ok {
		select {
		case <-f.done:
		default:
			if f.pod == pod && f.port == port {
				return f.baseURL, nil
			}
			f.halt()
		}
	}
	f, err := t.start(ctx, ds.Namespace, pod, port)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		delete(t.open, key)
		return "", err
	}
	t.open[key] = f
	return f.baseURL, nil
}

func (t *PortForwardTunnel) start(ctx context.Context, namespace, pod string, port int32) (*forward, error) {
	target, err := url.Parse(t.config.Host)
	if err != nil {
		return nil, fmt.Errorf("parse API server host: %w", err)
	}
	target.Path = fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/portforward", target.Path, namespace, pod)
	rt, upgrader, err := spdy.RoundTripperFor(t.config)
	if err != nil {
		return nil, fmt.Errorf("port-forward transport: %w", err)
	}
	spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, target)
	wsDialer, err := portforward.NewSPDYOverWebsocketDialer(target, t.config)
	dialer := spdyDialer
	if err == nil {
		dialer = portforward.NewFallbackDialer(wsDialer, spdyDialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	f := &forward{stop: make(chan struct{}), done: make(chan struct{}), pod: pod, port: port}
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(int(port))}, f.stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", namespace, pod, err)
	}
	failed := make(chan error, 1)
	go func() {
		defer close(f.done)
		if err := pf.ForwardPorts(); err != nil {
			failed <- err
		}
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case <-ready:
	case err := <-failed:
		return nil, fmt.Errorf("port-forward to pod %s/%s: %w", namespace, pod, err)
	case <-ctx.Done():
		f.halt()
		return nil, ctx.Err()
	case <-timer.C:
		f.halt()
		return nil, fmt.Errorf("port-forward to pod %s/%s: not ready after 30s", namespace, pod)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		f.halt()
		return nil, fmt.Errorf("port-forward to pod %s/%s: no local port: %v", namespace, pod, err)
	}
	f.baseURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0].Local)
	klog.FromContext(ctx).V(2).Info("Forwarding to the server's API through the API server", "pod", klog.KRef(namespace, pod), "local", f.baseURL)
	return f, nil
}

// halt stops the forward; safe to call more than once.
func (f *forward) halt() { f.once.Do(func() { close(f.stop) }) }

// Close stops the server's forward, if any.
func (t *PortForwardTunnel) Close(server cache.ObjectName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f, ok := t.open[server]; ok {
		f.halt()
		delete(t.open, server)
	}
	delete(t.opening, server)
}
