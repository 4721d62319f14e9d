package serverstate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// A pod the API server cannot forward to gives an error at once, not a
// hang, and the next pass tries again.
func TestPortForwardTunnelRefused(t *testing.T) {
	var asked atomic.Int32
	var path atomic.Value
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		path.Store(r.URL.Path)
		http.Error(w, "error dialing backend: no kubelet", http.StatusInternalServerError)
	}))
	t.Cleanup(apiServer.Close)
	tunnel := NewPortForwardTunnel(&rest.Config{Host: apiServer.URL})
	ds := availableServer()
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		_, err := tunnel.Endpoint(ctx, ds)
		cancel()
		if err == nil || time.Since(start) > 10*time.Second {
			t.Fatalf("attempt %d: err %v after %s, want an error at once", i, err, time.Since(start))
		}
	}
	if asked.Load() < 2 {
		t.Errorf("the API server was asked %d times, want one per attempt", asked.Load())
	}
	if p, _ := path.Load().(string); !strings.HasSuffix(p, "/api/v1/namespaces/storage/pods/nas-0/portforward") {
		t.Errorf("forwarded through %q, want the pods/portforward subresource of nas-0", p)
	}
	tunnel.Close(cache.MetaObjectToName(ds))
}
