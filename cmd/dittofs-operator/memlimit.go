package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitEnv names the container's memory limit in bytes, as the
// Deployment passes it from resources.limits.memory (downward API,
// resourceFieldRef). Without a limit the kubelet passes the node's
// allocatable memory.
const memoryLimitEnv = "MEMORY_LIMIT"

// memoryLimitShare is the part of the container's limit given to the Go
// runtime as its soft limit (GOMEMLIMIT): the rest covers what the runtime
// does not count (the binary's text and data, thread stacks, fragmentation),
// so that the garbage collector works harder as the heap nears the limit
// instead of the kernel killing the container.
const memoryLimitShare = 0.9

// cgroupMemoryMax is where cgroup v2 shows the container's memory limit.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// goMemoryLimit is the soft memory limit to set, in bytes, and where it comes
// from; 0 when none applies. GOMEMLIMIT, when set, is the runtime's own and
// wins (the runtime has read it already). Else 90% of $MEMORY_LIMIT, else
// 90% of the cgroup's memory.max (read by readCgroup; "max" means none).
func goMemoryLimit(getenv func(string) string, readCgroup func() (string, error)) (int64, string, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT", nil
	}
	if v := strings.TrimSpace(getenv(memoryLimitEnv)); v != "" {
		limit, err := strconv.ParseInt(v, 10, 64)
		if err != nil || limit <= 0 {
			return 0, "", fmt.Errorf("$%s=%q: want a number of bytes", memoryLimitEnv, v)
		}
		return int64(float64(limit) * memoryLimitShare), "$" + memoryLimitEnv, nil
	}
	raw, err := readCgroup()
	if err != nil {
		return 0, "", nil // no cgroup v2 limit to read: outside a container
	}
	v := strings.TrimSpace(raw)
	if v == "max" || v == "" {
		return 0, "", nil
	}
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 {
		return 0, "", fmt.Errorf("%s=%q: want a number of bytes or max", cgroupMemoryMax, v)
	}
	return int64(float64(limit) * memoryLimitShare), cgroupMemoryMax, nil
}

// setMemoryLimit gives the Go runtime its soft memory limit from the
// container's (goMemoryLimit) and returns what it set (0: none) and from where.
func setMemoryLimit() (int64, string, error) {
	limit, from, err := goMemoryLimit(os.Getenv, func() (string, error) {
		b, err := os.ReadFile(cgroupMemoryMax)
		return string(b), err
	})
	if err != nil || limit == 0 {
		return 0, from, err
	}
	debug.SetMemoryLimit(limit)
	return limit, from, nil
}
