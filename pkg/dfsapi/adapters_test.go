package dfsapi

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// The portmapper is one field of the NFS adapter's settings, written with a
// PATCH that carries only it (the server keeps the others); the adapter is
// stopped and started with a PUT that carries only "enabled".
func TestNFSAdapterAndPortmapperRoutes(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/adapters/nfs": reply(200, `{"id":"a1","type":"nfs","enabled":true,"running":false,"port":12049,"status":{"status":"unknown"}}`),
		"PUT /api/v1/adapters/nfs": reply(200, `{"type":"nfs","enabled":false,"running":false,"port":12049}`),
		"GET /api/v1/adapters/nfs/settings": reply(200,
			`{"min_version":"3","max_version":"4.2","lease_time":90,"portmapper_enabled":true,"portmapper_port":10111,"portmapper_register_with_system":false,"version":3}`),
		"PATCH /api/v1/adapters/nfs/settings": reply(200, `{"portmapper_enabled":false,"portmapper_port":10111,"version":4}`),
	})
	c := New(f.URL)
	a, err := c.GetNFSAdapter(ctx)
	if err != nil || a != (Adapter{Enabled: true, Running: false, Port: 12049}) {
		t.Errorf("GetNFSAdapter = %+v, %v", a, err)
	}
	p, err := c.GetNFSPortmapper(ctx)
	if err != nil || p != (Portmapper{Enabled: true, Port: 10111}) {
		t.Errorf("GetNFSPortmapper = %+v, %v", p, err)
	}
	if err := c.SetNFSAdapterEnabled(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetNFSPortmapper(ctx, Portmapper{Enabled: true, Port: 10111}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetNFSPortmapper(ctx, Portmapper{}); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	writes := []struct {
		method, path string
		body         map[string]any
	}{
		{http.MethodPut, "/api/v1/adapters/nfs", map[string]any{"enabled": false}},
		{http.MethodPatch, "/api/v1/adapters/nfs/settings", map[string]any{"portmapper_enabled": true, "portmapper_port": 10111.0}},
		{http.MethodPatch, "/api/v1/adapters/nfs/settings", map[string]any{"portmapper_enabled": false}},
	}
	for i, w := range writes {
		got := reqs[2+i]
		if got.Method != w.method || got.Path != w.path || !reflect.DeepEqual(got.Body, w.body) {
			t.Errorf("write %d: %s %s %v, want %s %s %v", i, got.Method, got.Path, got.Body, w.method, w.path, w.body)
		}
	}
}

func TestPortmapperErrorsNameTheCall(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"PATCH /api/v1/adapters/nfs/settings": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, http.StatusUnprocessableEntity, "Validation Failed", "portmapper_port: out of range")
		},
	})
	err := New(f.URL).SetNFSPortmapper(ctx, Portmapper{Enabled: true, Port: 10111})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want the server's 422", err)
	}
}
