package dfsapi

import "testing"

func TestQuotaAsTheServerReportsIt(t *testing.T) {
	for _, tc := range []struct {
		set      int64
		reported string // what GET /shares shows, per the server's formatting
		back     int64
	}{
		{0, "", 0},
		{512, "512B", 512},
		{10 << 30, "10.00GiB", 10 << 30},
		{3 << 29, "1.50GiB", 3 << 29},
		{1 << 40, "1.00TiB", 1 << 40},
		{1_000_000_000, "953.67MiB", 999_995_473}, // not a round binary size: approximate
	} {
		if tc.set > 0 {
			if got := formatByteSize(uint64(tc.set)); got != tc.reported {
				t.Errorf("format(%d) = %q, want %q", tc.set, got, tc.reported)
			}
		}
		got, err := quotaFromServer(tc.reported)
		if err != nil || got != tc.back {
			t.Errorf("parse(%q) = %d, %v; want %d", tc.reported, got, err, tc.back)
		}
		if r := ReportedQuota(tc.set); r != tc.back {
			t.Errorf("ReportedQuota(%d) = %d, want %d", tc.set, r, tc.back)
		}
	}
	for in, want := range map[string]int64{"10GiB": 10 << 30, "10 gi": 10 << 30, "1.5G": 1_500_000_000, "7": 7, " 2kb ": 2000} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"ten", "10 parsecs", "-1GiB"} {
		if _, err := quotaFromServer(bad); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}
