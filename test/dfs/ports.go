package dfs

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// BindAddr lists the local addresses a TCP port is listened on.
type BindAddr struct {
	Addrs []netip.Addr
}

// AllInterfaces reports whether one of the listeners is bound to the wildcard
// address (0.0.0.0 or ::), i.e. reachable on the pod IP.
func (b BindAddr) AllInterfaces() bool {
	for _, a := range b.Addrs {
		if a.IsUnspecified() {
			return true
		}
	}
	return false
}

// LoopbackOnly reports whether every listener is bound to a loopback address,
// i.e. the port is unreachable from outside the pod (kubelet probes, Services).
func (b BindAddr) LoopbackOnly() bool {
	for _, a := range b.Addrs {
		if !a.Unmap().IsLoopback() {
			return false
		}
	}
	return len(b.Addrs) > 0
}

func (b BindAddr) String() string {
	s := make([]string, len(b.Addrs))
	for i, a := range b.Addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// ListeningTCPPorts returns the TCP ports in LISTEN state whose sockets are
// owned by pid or its descendants, with the addresses they are bound to.
func ListeningTCPPorts(pid int) (map[int]BindAddr, error) {
	inodes := map[string]bool{}
	for _, p := range processTree(pid) {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p))
		if err != nil {
			if p == pid {
				return nil, err
			}
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", p), fd.Name()))
			if err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
			}
		}
	}
	out := map[int]BindAddr{}
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			if table == "tcp6" && os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			addr, port, err := parseProcAddr(fields[1])
			if err != nil {
				_ = f.Close()
				return nil, err
			}
			b := out[port]
			b.Addrs = append(b.Addrs, addr)
			sort.Slice(b.Addrs, func(i, j int) bool { return b.Addrs[i].Less(b.Addrs[j]) })
			out[port] = b
		}
		_ = f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// processTree returns pid and all its descendants.
func processTree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parens.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// parseProcAddr parses "0100007F:1F90" (IPv4) or a 32-hex-digit IPv6 address:
// the address is stored as host-endian (little-endian) 32-bit words.
func parseProcAddr(s string) (netip.Addr, int, error) {
	host, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, err
	}
	raw, err := hex.DecodeString(host)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, 0, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return addr, int(port), nil
}

// FreePort returns a TCP port that was free on 127.0.0.1 when checked.
func FreePort() (int, error) { return proc.FreePort() }
