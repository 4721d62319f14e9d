package dfsapi

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestSnapshotPolicyIsWrittenAsDurationStringsAndReadBackAsDurations(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"PUT /api/v1/shares/data/snapshot-policy": reply(200, `{"share":"/data","enabled":true,"interval":"6h0m0s","keep_last":7}`),
		"GET /api/v1/shares/data/snapshot-policy": reply(200,
			`{"share":"/data","enabled":false,"interval":"24h0m0s","keep_last":7,"ttl":"720h0m0s","name_prefix":"nightly","created_at":"2026-01-01T00:00:00Z"}`),
		"DELETE /api/v1/shares/data/snapshot-policy": reply(204, ``),
	})
	c := New(f.URL)
	if err := c.PutSnapshotPolicy(ctx, "/data", SnapshotPolicy{Interval: 6 * time.Hour, KeepLast: 7, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSnapshotPolicy(ctx, "/data", SnapshotPolicy{Interval: 90 * time.Minute, TTL: 720 * time.Hour, NamePrefix: "p", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	// A disabled policy says so: the server enables one whose field is omitted.
	for i, want := range []map[string]any{
		{"interval": "6h0m0s", "keep_last": 7.0, "enabled": true},
		{"interval": "1h30m0s", "keep_last": 0.0, "ttl": "720h0m0s", "name_prefix": "p", "enabled": false},
	} {
		if !reflect.DeepEqual(reqs[i].Body, want) {
			t.Errorf("PUT %d body %v, want %v", i, reqs[i].Body, want)
		}
	}
	got, err := c.GetSnapshotPolicy(ctx, "data")
	want := &SnapshotPolicy{Interval: 24 * time.Hour, KeepLast: 7, TTL: 720 * time.Hour, NamePrefix: "nightly", Enabled: false}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetSnapshotPolicy = %+v, %v; want %+v", got, err, want)
	}
	if err := c.DeleteSnapshotPolicy(ctx, "/data"); err != nil {
		t.Errorf("DeleteSnapshotPolicy: %v", err)
	}
}

func TestAShareWithoutSnapshotPolicyIsNilNotAnError(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /api/v1/shares/data/snapshot-policy": func(w http.ResponseWriter, r *http.Request) {
			problemJSON(w, http.StatusNotFound, "Not Found", "snapshot policy not found")
		},
		"GET /api/v1/shares/bad/snapshot-policy": reply(200, `{"interval":"soon"}`),
	})
	c := New(f.URL)
	if got, err := c.GetSnapshotPolicy(ctx, "/data"); got != nil || err != nil {
		t.Errorf("GetSnapshotPolicy without policy = %+v, %v; want nil, nil", got, err)
	}
	// DELETE of a missing policy: the fake answers 404 for the unrouted path.
	if err := c.DeleteSnapshotPolicy(ctx, "/data"); err != nil {
		t.Errorf("DeleteSnapshotPolicy without policy: %v", err)
	}
	if _, err := c.GetSnapshotPolicy(ctx, "/bad"); err == nil {
		t.Errorf("an unreadable interval from the server was accepted")
	}
}

func TestSnapshotIntervalIsParsedAsTheServerDoes(t *testing.T) {
	for in, want := range map[string]time.Duration{"@hourly": time.Hour, "@Daily": 24 * time.Hour, "@weekly": 168 * time.Hour, "90m": 90 * time.Minute, " 6h ": 6 * time.Hour} {
		if got, err := ParseSnapshotInterval(in); err != nil || got != want {
			t.Errorf("ParseSnapshotInterval(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "-1h", "@monthly", "daily"} {
		if _, err := ParseSnapshotInterval(in); err == nil {
			t.Errorf("ParseSnapshotInterval(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "720h": 720 * time.Hour} {
		if got, err := ParseSnapshotTTL(in); err != nil || got != want {
			t.Errorf("ParseSnapshotTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseSnapshotTTL("-1h"); err == nil {
		t.Errorf("a negative TTL was accepted")
	}
}
