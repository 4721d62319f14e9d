package dfsapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The server reports a share's quota as a human-readable string rounded to
// two decimals of the largest binary unit ("1.50GiB"); it accepts decimal
// and binary units on input. These functions follow its internal/bytesize
// package exactly, so that the value read back can be predicted.

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	tib = 1 << 40
)

var byteSizePattern = regexp.MustCompile(`(?i)^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$`)

var byteUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"ki": kib, "kib": kib, "mi": mib, "mib": mib, "gi": gib, "gib": gib, "ti": tib, "tib": tib,
}

// formatByteSize is the server's rendering of a byte count.
func formatByteSize(b uint64) string {
	switch {
	case b >= tib:
		return fmt.Sprintf("%.2fTiB", float64(b)/float64(tib))
	case b >= gib:
		return fmt.Sprintf("%.2fGiB", float64(b)/float64(gib))
	case b >= mib:
		return fmt.Sprintf("%.2fMiB", float64(b)/float64(mib))
	case b >= kib:
		return fmt.Sprintf("%.2fKiB", float64(b)/float64(kib))
	default:
		return fmt.Sprintf("%dB", b)
	}
}

// parseByteSize is the server's parsing of a byte-size string.
func parseByteSize(s string) (int64, error) {
	m := byteSizePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid byte size %q", s)
	}
	unit, ok := byteUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("unknown byte size unit in %q", s)
	}
	if strings.Contains(m[1], ".") {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid byte size %q: %w", s, err)
		}
		return int64(uint64(f * float64(unit))), nil
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid byte size %q: %w", s, err)
	}
	return int64(n * unit), nil
}

// quotaFromServer reads the quota_bytes of a share response ("" = none).
func quotaFromServer(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return parseByteSize(s)
}

// quotaToServer writes a quota for a create or update body: an exact byte
// count ("0" removes the quota on update).
func quotaToServer(n int64) string {
	if n <= 0 {
		return "0"
	}
	return strconv.FormatInt(n, 10)
}

// ReportedQuota is the QuotaBytes that ListShares returns for a share whose
// quota was set to n bytes: n itself for round sizes (10 GiB, 512 MiB), an
// approximation otherwise, because the server reports the quota rounded.
// Compare an observed share's QuotaBytes with ReportedQuota(desired).
func ReportedQuota(n int64) int64 {
	if n <= 0 {
		return 0
	}
	v, err := parseByteSize(formatByteSize(uint64(n)))
	if err != nil {
		return n
	}
	return v
}
