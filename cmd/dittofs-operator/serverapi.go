package main

import (
	"net/http"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

// newServerAPI builds the REST client of one DittoFS server for the server
// state controller. rt is nil for the default transport (the Service URL or
// a --server-api-endpoint), else the tunnel's.
func newServerAPI(baseURL string, rt http.RoundTripper) dfsapi.API {
	return dfsapi.New(baseURL, dfsapi.WithTransport(rt), dfsapi.WithUserAgent(version.UserAgent()))
}
