package dfsapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The server quotes a refused endpoint's host ("host %q resolves to
// private/internal address ..."); the endpoint may come from a Secret, so
// every form of it is masked in the error, like the keys.
func TestTheS3EndpointNeverAppearsInErrors(t *testing.T) {
	for _, endpoint := range []string{"http://minio.minio.svc:9000", "https://10.1.2.3", "objects.internal:9000"} {
		host := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
		hostname, _, _ := strings.Cut(host, ":")
		f := newFake(t, map[string]http.HandlerFunc{
			"POST /api/v1/store/block/remote": func(w http.ResponseWriter, r *http.Request) {
				problemJSON(w, 400, "Bad Request", fmt.Sprintf(
					"failed to create block store: unsafe S3 endpoint: host %q resolves to private/internal address (set allow_private_endpoint=true to permit); endpoint %s; %s",
					hostname, endpoint, host))
			},
		})
		err := New(f.URL).CreateBlockStore(ctx, BlockRemote, Store{Name: "remote", Type: "s3",
			Config: map[string]any{"bucket": "b", "endpoint": endpoint, "access_key_id": "AKIAEXAMPLEKEYID", "secret_access_key": "k"}})
		if err == nil {
			t.Fatalf("%s: no error", endpoint)
		}
		msg := err.Error()
		if strings.Contains(msg, hostname) {
			t.Errorf("%s: the endpoint appears in the error: %s", endpoint, msg)
		}
		if !strings.Contains(msg, "[redacted]") || !strings.Contains(msg, "allow_private_endpoint") {
			t.Errorf("%s: the error lost the server's detail: %s", endpoint, msg)
		}
	}
}

// A value the server quotes with %q (escaping a quote or a control
// character) is masked in that form too.
func TestQuotedSecretsAreMasked(t *testing.T) {
	endpoint := "https://s3.example.com/\"x\tsecret-part"
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /api/v1/store/block/remote": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, 400, "Bad Request", fmt.Sprintf("unsafe S3 endpoint: parse %q: invalid", endpoint))
		},
	})
	err := New(f.URL).CreateBlockStore(ctx, BlockRemote, Store{Name: "remote", Type: "s3",
		Config: map[string]any{"bucket": "b", "endpoint": endpoint}})
	if err == nil || strings.Contains(err.Error(), "secret-part") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %v, want the quoted endpoint masked", err)
	}
}

// dfs v0.29.0 quotes the address a refused endpoint's host resolved to
// ("host %q resolves to private/internal address %s"): the address is
// masked with the host, for a name and for IPv6; the rest of the server's
// explanation stays.
func TestTheResolvedAddressIsMasked(t *testing.T) {
	for _, tc := range []struct{ kind, ip string }{
		{"private/internal", "10.96.12.7"},
		{"link-local", "169.254.169.254"},
		{"private/internal", "fd00:10:96::1a"},
	} {
		f := newFake(t, map[string]http.HandlerFunc{
			"POST /api/v1/store/block/remote": func(w http.ResponseWriter, r *http.Request) {
				problemJSON(w, 400, "Bad Request", fmt.Sprintf(
					"failed to create block store: unsafe S3 endpoint: host %q resolves to %s address %s (set allow_private_endpoint=true to permit)",
					"minio.storage.svc", tc.kind, tc.ip))
			},
		})
		err := New(f.URL).CreateBlockStore(ctx, BlockRemote, Store{Name: "remote", Type: "s3",
			Config: map[string]any{"bucket": "b", "endpoint": "http://minio.storage.svc:9000"}})
		if err == nil {
			t.Fatalf("%s: no error", tc.ip)
		}
		msg := err.Error()
		if strings.Contains(msg, tc.ip) || strings.Contains(msg, "minio.storage.svc") {
			t.Errorf("%s: the address or host appears in the error: %s", tc.ip, msg)
		}
		if !strings.Contains(msg, "resolves to "+tc.kind+" address [redacted]") || !strings.Contains(msg, "allow_private_endpoint") {
			t.Errorf("%s: the error lost the server's explanation: %s", tc.ip, msg)
		}
	}
}
