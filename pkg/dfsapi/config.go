package dfsapi

import (
	"encoding/json"
	"reflect"
)

// Redacted is what the server returns instead of a secret config value (keys
// containing "secret" or "password", or ending in "_key").
const Redacted = "********"

// ConfigMatches reports whether a store's observed config (from a List call)
// is the desired one: the same keys with the same JSON values, where a
// value the server redacted counts as equal (it cannot be read back, so it
// cannot be compared). Numbers compare by value (1 and 1.0 are equal).
func ConfigMatches(desired, observed map[string]any) bool {
	return reflect.DeepEqual(normalize(desired, observed), normalize(observed, nil))
}

// normalize round-trips m through JSON (so Go ints and JSON numbers compare
// equal) and, where ref holds Redacted for a key, puts Redacted in m too.
func normalize(m, ref map[string]any) any {
	if len(m) == 0 {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return m
	}
	redactLike(out, ref)
	return out
}

func redactLike(m, ref map[string]any) {
	for k, rv := range ref {
		mv, ok := m[k]
		if !ok {
			continue
		}
		if rv == Redacted {
			m[k] = Redacted
			continue
		}
		if rm, ok := rv.(map[string]any); ok {
			if mm, ok := mv.(map[string]any); ok {
				redactLike(mm, rm)
			}
		}
	}
}
