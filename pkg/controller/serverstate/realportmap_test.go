//go:build realdfs

package serverstate

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
)

// spec.portmapper against the real dfs v0.29.0: the controller turns the
// server's portmapper on through the REST API and restarts the NFS adapter;
// then 10111 answers GETPORT over UDP and TCP with the NFS port for NFS v3
// and MOUNT v3, a resync only reads, and turning the field off stops it.
func TestRealServerPortmapper(t *testing.T) {
	rs := startRealServer(t, func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Portmapper = &dittov1alpha1.PortmapperSpec{Enabled: true}
	}, nil)
	rs.waitReady(t)
	ds, port, server := rs.ds, rs.port, rs.proc
	pmap := fmt.Sprintf("127.0.0.1:%d", resources.ContainerPortmapPort)
	nfs := fmt.Sprintf("127.0.0.1:%d", resources.ContainerNFSPort)
	if _, err := getport("tcp", pmap, nfsProgram, 3); err == nil {
		t.Fatalf("the portmapper answers before the operator enabled it: v0.29 starts it off")
	}

	f := newFixture(t, ds, adminSecret(ds), statefulSet(ds))
	log := &dfs.RequestLog{}
	f.c.newAPI = func(u string, _ http.RoundTripper) dfsapi.API { return dfsapi.New(u, dfsapi.WithTransport(log)) }
	f.c.endpoints = NewEndpoints(AccessService, nil, map[cache.ObjectName]string{cacheKey(): fmt.Sprintf("http://127.0.0.1:%d", port)})

	if err := f.sync(); err != nil {
		t.Fatalf("first pass: %v\n%s", err, server.Logs())
	}
	want := dfs.Requests{"PUT /api/v1/adapters/nfs", "PATCH /api/v1/adapters/nfs/settings", "PUT /api/v1/adapters/nfs"}
	if got := adapterRequests(log.Take().Writes()); !slices.Equal(got, want) {
		t.Errorf("NFS adapter writes %v, want %v", got, want)
	}

	// The adapter starts in the background after the PUT returns.
	var answered time.Duration
	start := time.Now()
	for _, network := range []string{"udp", "tcp"} {
		for _, prog := range []uint32{nfsProgram, mountProgram} {
			var got uint32
			var err error
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if got, err = getport(network, pmap, prog, 3); err == nil {
					break
				}
			}
			if err != nil || got != uint32(resources.ContainerNFSPort) {
				t.Fatalf("GETPORT %d v3 over %s at %s = %d, %v; want %d\n%s", prog, network, pmap, got, err, resources.ContainerNFSPort, server.Logs())
			}
		}
		if answered == 0 {
			answered = time.Since(start)
		}
	}
	t.Logf("the portmapper answered %v after the pass", answered)
	if c, err := net.DialTimeout("tcp", nfs, time.Second); err != nil {
		t.Errorf("the NFS adapter does not listen after its restart: %v", err)
	} else {
		_ = c.Close()
	}

	for pass := 1; pass <= 2; pass++ {
		if err := f.sync(); err != nil {
			t.Fatalf("resync %d: %v", pass, err)
		}
		all := log.Take()
		t.Logf("resync %d: %v", pass, all)
		if writes := all.Writes(); len(writes) != 0 {
			t.Errorf("resync %d: writes %v, want none", pass, writes)
		}
		if got := adapterRequests(all); !slices.Equal(got, dfs.Requests{"GET /api/v1/adapters/nfs", "GET /api/v1/adapters/nfs/settings"}) {
			t.Errorf("resync %d: NFS adapter requests %v, want the two reads", pass, got)
		}
	}

	off := f.server()
	off.Spec.Portmapper.Enabled = false
	off.Generation++
	f.update(off, gvrDittoServers)
	if err := f.sync(); err != nil {
		t.Fatalf("pass with the portmapper off: %v", err)
	}
	if got := adapterRequests(log.Take().Writes()); !slices.Equal(got, want) {
		t.Errorf("NFS adapter writes %v, want %v", got, want)
	}
	var stillAnswers error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, stillAnswers = getport("tcp", pmap, nfsProgram, 3); stillAnswers != nil {
			break
		}
	}
	if stillAnswers == nil {
		t.Errorf("the portmapper still answers after the operator turned it off")
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", nfs, time.Second)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the NFS adapter does not listen after its restart: %v\n%s", err, server.Logs())
		}
	}
}

func adapterRequests(all dfs.Requests) dfs.Requests {
	var out dfs.Requests
	for _, r := range all {
		if strings.Contains(r, "/api/v1/adapters/nfs") {
			out = append(out, r)
		}
	}
	return out
}
