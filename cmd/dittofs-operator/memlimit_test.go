package main

import (
	"errors"
	"testing"
)

func TestGoMemoryLimit(t *testing.T) {
	noCgroup := func() (string, error) { return "", errors.New("no such file") }
	cgroup := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
	for _, tc := range []struct {
		name      string
		env       map[string]string
		cgroup    func() (string, error)
		want      int64
		wantFrom  string
		wantError bool
	}{
		{name: "GOMEMLIMIT set: the runtime's own, untouched",
			env: map[string]string{"GOMEMLIMIT": "100MiB", "MEMORY_LIMIT": "268435456"}, cgroup: cgroup("268435456\n"), wantFrom: "GOMEMLIMIT"},
		{name: "the Deployment's limit: 90% of 256Mi",
			env: map[string]string{"MEMORY_LIMIT": "268435456"}, cgroup: noCgroup, want: 241591910, wantFrom: "$MEMORY_LIMIT"},
		{name: "the Deployment's limit wins over the cgroup's",
			env: map[string]string{"MEMORY_LIMIT": "268435456"}, cgroup: cgroup("536870912\n"), want: 241591910, wantFrom: "$MEMORY_LIMIT"},
		{name: "no variable: 90% of the cgroup's limit",
			cgroup: cgroup("536870912\n"), want: 483183820, wantFrom: cgroupMemoryMax},
		{name: "cgroup without a limit", cgroup: cgroup("max\n")},
		{name: "outside a container", cgroup: noCgroup},
		{name: "a variable that is no number of bytes",
			env: map[string]string{"MEMORY_LIMIT": "256Mi"}, cgroup: noCgroup, wantError: true},
		{name: "a cgroup value that is no number", cgroup: cgroup("lots\n"), wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, from, err := goMemoryLimit(func(k string) string { return tc.env[k] }, tc.cgroup)
			if (err != nil) != tc.wantError {
				t.Fatalf("error = %v, want error: %v", err, tc.wantError)
			}
			if got != tc.want || from != tc.wantFrom {
				t.Errorf("got %d from %q, want %d from %q", got, from, tc.want, tc.wantFrom)
			}
		})
	}
}
