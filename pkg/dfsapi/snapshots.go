package dfsapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SnapshotPolicy is a share's scheduled snapshots: one every Interval,
// keeping at most KeepLast (0: no count bound) and none older than TTL
// (0: no age bound). Durations rather than strings, so that a policy read
// back compares equal to the one written whatever spelling was sent.
type SnapshotPolicy struct {
	Interval   time.Duration
	KeepLast   int
	TTL        time.Duration
	NamePrefix string
	Enabled    bool
}

// intervalShorthands are the server's (pkg/schedule) named intervals.
var intervalShorthands = map[string]time.Duration{
	"@hourly": time.Hour,
	"@daily":  24 * time.Hour,
	"@weekly": 7 * 24 * time.Hour,
}

// ParseSnapshotInterval reads an interval as the server does: a positive Go
// duration or @hourly, @daily, @weekly.
func ParseSnapshotInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := intervalShorthands[strings.ToLower(s)]; ok {
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid snapshot interval %q: %w", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid snapshot interval %q: must be positive", s)
	}
	return d, nil
}

// ParseSnapshotTTL reads a TTL as the server does: "" or "0" is no bound.
func ParseSnapshotTTL(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid snapshot ttl %q: %w", s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid snapshot ttl %q: must not be negative", s)
	}
	return d, nil
}

func snapshotPolicyPath(share string) string { return sharePath(share) + "/snapshot-policy" }

// snapshotPolicyWire is GET's and PUT's response: durations as Go strings,
// a zero TTL omitted.
type snapshotPolicyWire struct {
	Enabled    bool   `json:"enabled"`
	Interval   string `json:"interval"`
	KeepLast   int    `json:"keep_last"`
	TTL        string `json:"ttl"`
	NamePrefix string `json:"name_prefix"`
}

// upsertSnapshotPolicyBody is PUT's body. Enabled is always sent: the server
// defaults an omitted one to true.
type upsertSnapshotPolicyBody struct {
	Interval   string `json:"interval"`
	KeepLast   int    `json:"keep_last"`
	TTL        string `json:"ttl,omitempty"`
	Enabled    bool   `json:"enabled"`
	NamePrefix string `json:"name_prefix,omitempty"`
}

// GetSnapshotPolicy returns the share's snapshot policy, nil when it has none.
func (c *Client) GetSnapshotPolicy(ctx context.Context, share string) (*SnapshotPolicy, error) {
	var w snapshotPolicyWire
	err := c.do(ctx, request{method: http.MethodGet, path: snapshotPolicyPath(share), out: &w})
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	interval, err := ParseSnapshotInterval(w.Interval)
	if err != nil {
		return nil, fmt.Errorf("snapshot policy of share %s: %w", share, err)
	}
	ttl, err := ParseSnapshotTTL(w.TTL)
	if err != nil {
		return nil, fmt.Errorf("snapshot policy of share %s: %w", share, err)
	}
	return &SnapshotPolicy{Interval: interval, KeepLast: w.KeepLast, TTL: ttl, NamePrefix: w.NamePrefix, Enabled: w.Enabled}, nil
}

// PutSnapshotPolicy creates or replaces the share's snapshot policy.
func (c *Client) PutSnapshotPolicy(ctx context.Context, share string, p SnapshotPolicy) error {
	body := upsertSnapshotPolicyBody{Interval: p.Interval.String(), KeepLast: p.KeepLast, Enabled: p.Enabled, NamePrefix: p.NamePrefix}
	if p.TTL > 0 {
		body.TTL = p.TTL.String()
	}
	return c.do(ctx, request{method: http.MethodPut, path: snapshotPolicyPath(share), body: body})
}

// DeleteSnapshotPolicy removes the share's snapshot policy; the snapshots it
// took stay. A share without a policy is not an error.
func (c *Client) DeleteSnapshotPolicy(ctx context.Context, share string) error {
	err := c.do(ctx, request{method: http.MethodDelete, path: snapshotPolicyPath(share)})
	if IsNotFound(err) {
		return nil
	}
	return err
}
