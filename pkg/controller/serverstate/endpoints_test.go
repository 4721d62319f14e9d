package serverstate

import (
	"context"
	"testing"

	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestEndpoints(t *testing.T) {
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](9000)}
	})
	e := NewEndpoints(AccessService, nil, nil)
	if got, err := e.Resolve(context.Background(), ds); err != nil || got != "https://nas-api.storage.svc:9000" {
		t.Errorf("service URL = %q, %v", got, err)
	}
	overrides := EndpointOverrides{}
	if err := overrides.Set("storage/nas=http://127.0.0.1:18080/"); err != nil {
		t.Fatal(err)
	}
	e = NewEndpoints(AccessProxy, nil, overrides)
	if got, err := e.Resolve(context.Background(), ds); err != nil || got != "http://127.0.0.1:18080" {
		t.Errorf("override = %q, %v", got, err)
	}
	other := availableServer(func(ds *dittov1alpha1.DittoServer) { ds.Name = "other" })
	if _, err := e.Resolve(context.Background(), other); err == nil {
		t.Errorf("proxy mode without a tunnel must fail, not guess")
	}
	for _, bad := range []string{"nas=http://x", "storage/nas", "storage/=http://x", "storage/nas=ftp://x", "storage/nas=:::"} {
		if _, _, err := ParseEndpointOverride(bad); err == nil {
			t.Errorf("ParseEndpointOverride(%q) accepted", bad)
		}
	}
	if k, _, _ := ParseEndpointOverride("a/b=https://h:1"); k != (cache.ObjectName{Namespace: "a", Name: "b"}) {
		t.Errorf("key = %v", k)
	}
	for _, s := range []string{"auto", "service", "proxy"} {
		if _, err := ParseAccess(s); err != nil {
			t.Errorf("ParseAccess(%q): %v", s, err)
		}
	}
	if _, err := ParseAccess("direct"); err == nil {
		t.Errorf("ParseAccess accepted an unknown mode")
	}
}
