package dfsapi

import (
	"context"
	"fmt"
	"net/http"
)

// The NFS adapter's routes. v0.29 keeps adapters and their settings in its
// database; both are read and written here only for the portmapper.
const (
	nfsAdapterPath         = "/api/v1/adapters/nfs"
	nfsAdapterSettingsPath = nfsAdapterPath + "/settings"
)

// Adapter is one protocol adapter as the server reports it: Enabled is the
// stored wish, Running whether it serves now.
type Adapter struct {
	Enabled bool
	Running bool
	Port    int
}

// Portmapper is the NFS adapter's portmapper setting. The adapter reads it
// when it starts, so a change takes effect only after the adapter restarts.
type Portmapper struct {
	Enabled bool
	Port    int
}

type adapterWire struct {
	Enabled bool `json:"enabled"`
	Running bool `json:"running"`
	Port    int  `json:"port"`
}

// nfsSettingsWire is the part of GET and PATCH .../settings the operator
// reads; PATCH changes only the fields it is sent.
type nfsSettingsWire struct {
	PortmapperEnabled bool `json:"portmapper_enabled"`
	PortmapperPort    int  `json:"portmapper_port"`
}

// GetNFSAdapter reads the NFS adapter (GET /api/v1/adapters/nfs).
func (c *Client) GetNFSAdapter(ctx context.Context) (Adapter, error) {
	var w adapterWire
	if err := c.do(ctx, request{method: http.MethodGet, path: nfsAdapterPath, out: &w}); err != nil {
		return Adapter{}, fmt.Errorf("read the NFS adapter: %w", err)
	}
	return Adapter(w), nil
}

// SetNFSAdapterEnabled stops (false) or starts (true) the NFS adapter
// (PUT /api/v1/adapters/nfs with only "enabled"). The server keeps a running
// adapter running when a PUT leaves its address alone, so disabling and
// enabling is the way to restart it.
func (c *Client) SetNFSAdapterEnabled(ctx context.Context, enabled bool) error {
	body := map[string]bool{"enabled": enabled}
	if err := c.do(ctx, request{method: http.MethodPut, path: nfsAdapterPath, body: body}); err != nil {
		return fmt.Errorf("set the NFS adapter enabled=%t: %w", enabled, err)
	}
	return nil
}

// GetNFSPortmapper reads the NFS adapter's portmapper setting
// (GET /api/v1/adapters/nfs/settings).
func (c *Client) GetNFSPortmapper(ctx context.Context) (Portmapper, error) {
	var w nfsSettingsWire
	if err := c.do(ctx, request{method: http.MethodGet, path: nfsAdapterSettingsPath, out: &w}); err != nil {
		return Portmapper{}, fmt.Errorf("read the NFS adapter settings: %w", err)
	}
	return Portmapper{Enabled: w.PortmapperEnabled, Port: w.PortmapperPort}, nil
}

// SetNFSPortmapper stores the portmapper setting (PATCH
// /api/v1/adapters/nfs/settings with "portmapper_enabled", and
// "portmapper_port" unless Port is 0); the other settings keep their values.
func (c *Client) SetNFSPortmapper(ctx context.Context, p Portmapper) error {
	body := map[string]any{"portmapper_enabled": p.Enabled}
	if p.Port != 0 {
		body["portmapper_port"] = p.Port
	}
	if err := c.do(ctx, request{method: http.MethodPatch, path: nfsAdapterSettingsPath, body: body}); err != nil {
		return fmt.Errorf("set the NFS adapter's portmapper (enabled=%t): %w", p.Enabled, err)
	}
	return nil
}
