package csidriver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// volume is the record of one volume directory.
type volume struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Capacity int64  `json:"capacity"`
	// SourceSnapshot or SourceVolume name what the directory was copied from.
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	SourceVolume   string `json:"sourceVolume,omitempty"`
}

// snapshot is the record of one snapshot directory.
type snapshot struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	SourceVolume string    `json:"sourceVolume"`
	Size         int64     `json:"size"`
	Created      time.Time `json:"created"`
}

// store keeps volumes and snapshots as directories with a JSON record
// beside each: <root>/volumes/<id>/ and <root>/volumes/<id>.json.
type store struct {
	root string
}

const (
	volumesDir   = "volumes"
	snapshotsDir = "snapshots"
)

func newStore(root string) (*store, error) {
	for _, d := range []string{volumesDir, snapshotsDir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	return &store{root: root}, nil
}

// idFor derives a stable ID from a name, so a retried create with the same
// name finds the same directory.
func idFor(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:10])
}

func (s *store) dir(kind, id string) string    { return filepath.Join(s.root, kind, id) }
func (s *store) record(kind, id string) string { return s.dir(kind, id) + ".json" }

// validID refuses IDs that could name a path outside the store.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/\\") && id != "." && id != ".."
}

func (s *store) load(kind, id string, into any) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	data, err := os.ReadFile(s.record(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, into)
}

// save writes the record last, under a temporary name renamed into place,
// so a record exists only for a complete directory.
func (s *store) save(kind, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := s.record(kind, id) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.record(kind, id))
}

func (s *store) remove(kind, id string) error {
	if err := os.Remove(s.record(kind, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(s.dir(kind, id))
}

func (s *store) volume(id string) (*volume, error) {
	var v volume
	ok, err := s.load(volumesDir, id, &v)
	if !ok || err != nil {
		return nil, err
	}
	return &v, nil
}

func (s *store) snapshot(id string) (*snapshot, error) {
	var sn snapshot
	ok, err := s.load(snapshotsDir, id, &sn)
	if !ok || err != nil {
		return nil, err
	}
	return &sn, nil
}

// snapshots lists every snapshot record, oldest first, then by ID.
func (s *store) snapshots() ([]*snapshot, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, snapshotsDir))
	if err != nil {
		return nil, err
	}
	var out []*snapshot
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		sn, err := s.snapshot(id)
		if err != nil {
			return nil, err
		}
		if sn != nil {
			out = append(out, sn)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
