package dfsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// storeWire is a store as the server returns it: config is a JSON object
// with secret values replaced by "********".
type storeWire struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Config json.RawMessage `json:"config"`
}

func (w storeWire) store(path string) (Store, error) {
	s := Store{Name: w.Name, Type: w.Type}
	if len(w.Config) > 0 && string(w.Config) != "null" {
		if err := json.Unmarshal(w.Config, &s.Config); err != nil {
			return Store{}, fmt.Errorf("GET %s: config of store %q is not a JSON object: %w", path, w.Name, err)
		}
	}
	return s, nil
}

// configString encodes a store's config as the JSON string the server
// expects in create and update bodies.
func configString(cfg map[string]any) (string, error) {
	if cfg == nil {
		return "", nil
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		// json's message names a type, never a value.
		return "", fmt.Errorf("encode store config: %w", err)
	}
	return string(b), nil
}

// secretValues are the string values of a config's secret keys (S3 keys,
// passwords), masked in any error the server might echo them in.
func secretValues(cfg map[string]any) []string {
	var out []string
	for k, v := range cfg {
		switch val := v.(type) {
		case string:
			if isSecretKey(k) {
				out = append(out, val)
			}
			if strings.EqualFold(k, "endpoint") {
				out = append(out, endpointParts(val)...)
			}
		case map[string]any:
			out = append(out, secretValues(val)...)
		}
	}
	return out
}

// endpointParts are the forms in which the server quotes an endpoint in its
// errors (whole, host:port, host), longest first. An endpoint is masked like a
// secret: the caller may read it from a Secret (the operator does), and the
// server's refusal ("host %q resolves to private/internal address") would
// otherwise print it into conditions and events.
func endpointParts(endpoint string) []string {
	if endpoint == "" {
		return nil
	}
	out := []string{endpoint}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		if u.Host != endpoint {
			out = append(out, u.Host)
		}
		if u.Hostname() != u.Host {
			out = append(out, u.Hostname())
		}
	}
	return out
}

// isSecretKey is the server's rule for redacting a config key (secret,
// password, *_key) plus access key ids, which the server returns in clear
// but which are credentials all the same.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "secret") || strings.Contains(k, "password") ||
		strings.HasSuffix(k, "_key") || strings.Contains(k, "access_key")
}

func (c *Client) listStores(ctx context.Context, path string) ([]Store, error) {
	var wire []storeWire
	if err := c.do(ctx, request{method: http.MethodGet, path: path, out: &wire}); err != nil {
		return nil, err
	}
	out := make([]Store, 0, len(wire))
	for _, w := range wire {
		s, err := w.store(path)
		if err != nil {
			return nil, err
		}
		c.storeNames.Store(w.ID, w.Name)
		out = append(out, s)
	}
	return out, nil
}

func (c *Client) createStore(ctx context.Context, path string, s Store) error {
	cfg, err := configString(s.Config)
	if err != nil {
		return fmt.Errorf("create store %q: %w", s.Name, err)
	}
	var created storeWire
	err = c.do(ctx, request{method: http.MethodPost, path: path, out: &created,
		body:    map[string]string{"name": s.Name, "type": s.Type, "config": cfg},
		secrets: secretValues(s.Config)})
	if err != nil {
		return err
	}
	if created.ID != "" {
		c.storeNames.Store(created.ID, created.Name)
	}
	return nil
}

func (c *Client) updateStore(ctx context.Context, path string, s Store) error {
	cfg, err := configString(s.Config)
	if err != nil {
		return fmt.Errorf("update store %q: %w", s.Name, err)
	}
	return c.do(ctx, request{method: http.MethodPut, path: path + "/" + url.PathEscape(s.Name),
		body:    map[string]string{"type": s.Type, "config": cfg},
		secrets: secretValues(s.Config)})
}

func (c *Client) deleteStore(ctx context.Context, path, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: path + "/" + url.PathEscape(name)})
}

const metadataStoresPath = "/api/v1/store/metadata"

func blockStoresPath(kind BlockKind) (string, error) {
	switch kind {
	case BlockLocal, BlockRemote:
		return "/api/v1/store/block/" + string(kind), nil
	default:
		return "", fmt.Errorf("block store kind %q: want %q or %q", kind, BlockLocal, BlockRemote)
	}
}

// ListMetadataStores returns the metadata stores (GET /api/v1/store/metadata).
func (c *Client) ListMetadataStores(ctx context.Context) ([]Store, error) {
	return c.listStores(ctx, metadataStoresPath)
}

// CreateMetadataStore creates s; the server opens it at once (a badger
// directory is created and locked). A name in use is a 409 (IsConflict).
func (c *Client) CreateMetadataStore(ctx context.Context, s Store) error {
	return c.createStore(ctx, metadataStoresPath, s)
}

// UpdateMetadataStore replaces the type and config of the store named
// s.Name. The server does not reopen a running metadata store: the change
// takes effect at its next start.
func (c *Client) UpdateMetadataStore(ctx context.Context, s Store) error {
	return c.updateStore(ctx, metadataStoresPath, s)
}

// DeleteMetadataStore deletes the store (409 while a share uses it).
func (c *Client) DeleteMetadataStore(ctx context.Context, name string) error {
	return c.deleteStore(ctx, metadataStoresPath, name)
}

// ListBlockStores returns the local or remote block stores.
func (c *Client) ListBlockStores(ctx context.Context, kind BlockKind) ([]Store, error) {
	path, err := blockStoresPath(kind)
	if err != nil {
		return nil, err
	}
	return c.listStores(ctx, path)
}

// CreateBlockStore creates s (409 when the name is in use for that kind).
func (c *Client) CreateBlockStore(ctx context.Context, kind BlockKind, s Store) error {
	path, err := blockStoresPath(kind)
	if err != nil {
		return err
	}
	return c.createStore(ctx, path, s)
}

// UpdateBlockStore replaces the type and config of the store named s.Name.
// A "********" value in s.Config keeps the secret the server holds.
func (c *Client) UpdateBlockStore(ctx context.Context, kind BlockKind, s Store) error {
	path, err := blockStoresPath(kind)
	if err != nil {
		return err
	}
	return c.updateStore(ctx, path, s)
}

// DeleteBlockStore deletes the store (409 while a share uses it).
func (c *Client) DeleteBlockStore(ctx context.Context, kind BlockKind, name string) error {
	path, err := blockStoresPath(kind)
	if err != nil {
		return err
	}
	return c.deleteStore(ctx, path, name)
}
