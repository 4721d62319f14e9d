package dfsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// NormalizeShareName is the server's canonical form of a share name: one
// leading slash ("x", "/x" and "%2Fx" are all "/x").
func NormalizeShareName(name string) string {
	if decoded, err := url.PathUnescape(name); err == nil {
		name = decoded
	}
	return "/" + strings.TrimLeft(name, "/")
}

// sharePath is the URL path of a share: its name without the leading slash,
// escaped, which the server normalises back.
func sharePath(name string) string {
	return "/api/v1/shares/" + url.PathEscape(strings.TrimLeft(NormalizeShareName(name), "/"))
}

// shareWire is a share as GET returns it: stores by id, quota as a
// human-readable string.
type shareWire struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	MetadataStoreID    string  `json:"metadata_store_id"`
	LocalBlockStoreID  string  `json:"local_block_store_id"`
	RemoteBlockStoreID *string `json:"remote_block_store_id"`
	ReadOnly           bool    `json:"read_only"`
	Enabled            bool    `json:"enabled"`
	DefaultPermission  string  `json:"default_permission"`
	QuotaBytes         string  `json:"quota_bytes"`
	UsedBytes          int64   `json:"used_bytes"`
	PhysicalBytes      int64   `json:"physical_bytes"`
}

type createShareBody struct {
	Name              string `json:"name"`
	MetadataStore     string `json:"metadata_store_id"` // a name or an id
	LocalBlockStore   string `json:"local_block_store"`
	RemoteBlockStore  string `json:"remote_block_store,omitempty"`
	ReadOnly          bool   `json:"read_only"`
	DefaultPermission string `json:"default_permission,omitempty"`
	QuotaBytes        string `json:"quota_bytes,omitempty"`
	Owner             string `json:"owner,omitempty"`
}

// updateShareBody is PUT /api/v1/shares/{name}. No store is ever sent (the
// server leaves a field it is not sent unchanged): the metadata store cannot
// move, and a block store sent here is rebound live — "" would detach the
// share from its S3 store and leave the blocks only there unreadable. Store
// bindings are made when a share is created and never after.
type updateShareBody struct {
	ReadOnly          bool   `json:"read_only"`
	DefaultPermission string `json:"default_permission"`
	QuotaBytes        string `json:"quota_bytes"`
}

// ListShares returns every share with its stores by name. The server reports
// store ids; they are resolved from the stores this client has listed or
// created, and the store lists are fetched only for an id not seen before
// (ids never change their name), so a converged server costs one GET here.
func (c *Client) ListShares(ctx context.Context) ([]Share, error) {
	var wire []shareWire
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/shares", out: &wire}); err != nil {
		return nil, err
	}
	out := make([]Share, 0, len(wire))
	for _, w := range wire {
		s := Share{ID: w.ID, Name: w.Name, ReadOnly: w.ReadOnly, Enabled: w.Enabled, DefaultPermission: w.DefaultPermission,
			UsedBytes: w.UsedBytes, PhysicalBytes: w.PhysicalBytes}
		var err error
		if s.QuotaBytes, err = quotaFromServer(w.QuotaBytes); err != nil {
			return nil, fmt.Errorf("GET /api/v1/shares: share %s: %w", w.Name, err)
		}
		if s.MetadataStore, err = c.storeName(ctx, w.MetadataStoreID, metadataStoresPath); err != nil {
			return nil, err
		}
		if s.LocalBlockStore, err = c.storeName(ctx, w.LocalBlockStoreID, "/api/v1/store/block/local"); err != nil {
			return nil, err
		}
		if w.RemoteBlockStoreID != nil && *w.RemoteBlockStoreID != "" {
			if s.RemoteBlockStore, err = c.storeName(ctx, *w.RemoteBlockStoreID, "/api/v1/store/block/remote"); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// storeName resolves a store id, listing the stores at path when the id is
// not known yet. An id that is still unknown is returned as it is (a store
// deleted behind the share's back), so that it never equals a desired name.
func (c *Client) storeName(ctx context.Context, id, path string) (string, error) {
	if id == "" {
		return "", nil
	}
	if name, ok := c.storeNames.Load(id); ok {
		return name.(string), nil
	}
	if _, err := c.listStores(ctx, path); err != nil {
		return "", fmt.Errorf("resolve store id %s: %w", id, err)
	}
	if name, ok := c.storeNames.Load(id); ok {
		return name.(string), nil
	}
	return id, nil
}

// CreateShare creates s, then disables it when s.Enabled is false (the
// server creates shares enabled). The stores are named. An existing name is
// a 409 (IsConflict).
func (c *Client) CreateShare(ctx context.Context, s Share) (string, error) {
	body := createShareBody{Name: NormalizeShareName(s.Name), MetadataStore: s.MetadataStore,
		LocalBlockStore: s.LocalBlockStore, RemoteBlockStore: s.RemoteBlockStore,
		ReadOnly: s.ReadOnly, DefaultPermission: s.DefaultPermission, Owner: s.Owner}
	if s.QuotaBytes > 0 {
		body.QuotaBytes = quotaToServer(s.QuotaBytes)
	}
	var created shareWire
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/shares", body: body, out: &created}); err != nil {
		return "", err
	}
	return created.ID, c.setShareEnabled(ctx, s.Name, created.Enabled, s.Enabled)
}

// UpdateShare makes the share named s.Name match s: read-only, default
// permission ("" means none), quota, enabled. Its stores are not changed:
// s.MetadataStore, s.LocalBlockStore and s.RemoteBlockStore are ignored (see
// updateShareBody). One PUT, plus one POST when enabled must change.
func (c *Client) UpdateShare(ctx context.Context, s Share) error {
	perm := s.DefaultPermission
	if perm == "" {
		perm = "none"
	}
	body := updateShareBody{ReadOnly: s.ReadOnly, DefaultPermission: perm, QuotaBytes: quotaToServer(s.QuotaBytes)}
	var updated shareWire
	if err := c.do(ctx, request{method: http.MethodPut, path: sharePath(s.Name), body: body, out: &updated}); err != nil {
		return err
	}
	return c.setShareEnabled(ctx, s.Name, updated.Enabled, s.Enabled)
}

func (c *Client) setShareEnabled(ctx context.Context, name string, current, want bool) error {
	if current == want {
		return nil
	}
	action := "/disable"
	if want {
		action = "/enable"
	}
	return c.do(ctx, request{method: http.MethodPost, path: sharePath(name) + action})
}

// DeleteShare removes the share from the server (its metadata and blocks
// stay in the stores).
func (c *Client) DeleteShare(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: sharePath(name)})
}

// ListSharePermissions returns the share's grants: Type "user" or "group"
// (and "sid" for directory principals, which the operator does not manage).
func (c *Client) ListSharePermissions(ctx context.Context, share string) ([]Permission, error) {
	var wire []struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Level string `json:"level"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: sharePath(share) + "/permissions", out: &wire}); err != nil {
		return nil, err
	}
	out := make([]Permission, len(wire))
	for i, w := range wire {
		out[i] = Permission(w)
	}
	return out, nil
}

func permissionPath(share string, p Permission) (string, error) {
	var kind string
	switch p.Type {
	case "user":
		kind = "users"
	case "group":
		kind = "groups"
	default:
		return "", fmt.Errorf("share %s: permission type %q: want user or group", share, p.Type)
	}
	return sharePath(share) + "/permissions/" + kind + "/" + url.PathEscape(p.Name), nil
}

// SetSharePermission grants p.Level on share to a user or group (404 when
// the user or group does not exist).
func (c *Client) SetSharePermission(ctx context.Context, share string, p Permission) error {
	path, err := permissionPath(share, p)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodPut, path: path, body: map[string]string{"level": p.Level}})
}

// DeleteSharePermission removes a user's or group's grant (no error when
// there was none).
func (c *Client) DeleteSharePermission(ctx context.Context, share string, p Permission) error {
	path, err := permissionPath(share, p)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: path})
}
