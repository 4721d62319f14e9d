package serverstate

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

func portmapperServer(enabled bool) []runtime.Object {
	ds := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Portmapper = &dittov1alpha1.PortmapperSpec{Enabled: enabled}
	})
	return []runtime.Object{ds, adminSecret(ds), statefulSet(ds)}
}

// portmapperWrites are the pass's writes to the NFS adapter.
func portmapperWrites(f *fixture) []string {
	var out []string
	for _, w := range f.srv.writes() {
		if strings.HasPrefix(w, "PUT nfs-adapter ") || strings.HasPrefix(w, "PATCH nfs-settings ") {
			out = append(out, w)
		}
	}
	return out
}

// Enabling the portmapper writes the setting between stopping and starting
// the NFS adapter, which reads it when it starts; the next pass only reads.
func TestPortmapperEnabledRestartsTheNFSAdapterOnce(t *testing.T) {
	f := newFixture(t, portmapperServer(true)...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"PUT nfs-adapter enabled=false", "PATCH nfs-settings portmapper=true", "PUT nfs-adapter enabled=true"}
	if got := portmapperWrites(f); !slices.Equal(got, want) {
		t.Errorf("NFS adapter writes:\n got %v\nwant %v", got, want)
	}
	if !f.srv.portmapRunning || f.srv.portmapper.Port != 10111 || !f.srv.nfs.Running {
		t.Errorf("portmapper running=%t setting=%+v adapter=%+v, want it running on 10111", f.srv.portmapRunning, f.srv.portmapper, f.srv.nfs)
	}
	if !hasEvent(f.events(), "Normal NFSAdapterRestarted Turned the server's portmapper on (port 10111)") {
		t.Errorf("no NFSAdapterRestarted event")
	}

	if err := f.sync(); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if got := portmapperWrites(f); len(got) != 0 {
		t.Errorf("a converged server got NFS adapter writes %v", got)
	}
	reads := 0
	for _, c := range f.srv.calls {
		if c == "GET nfs-adapter" || c == "GET nfs-settings" {
			reads++
		}
	}
	if reads != 2 {
		t.Errorf("a converged pass made %d NFS adapter reads, want 2 (%v)", reads, f.srv.calls)
	}
}

// A server that never asked for the portmapper is left alone, and turning
// the field off again stops the portmapper.
func TestPortmapperOffByDefaultAndTurnedOffAgain(t *testing.T) {
	f := newFixture(t, portmapperServer(false)...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := portmapperWrites(f); len(got) != 0 {
		t.Errorf("NFS adapter writes %v for a server without the portmapper", got)
	}

	// Someone turned it on through the server's API (and restarted the adapter).
	f.srv.portmapper.Enabled, f.srv.portmapRunning = true, true
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"PUT nfs-adapter enabled=false", "PATCH nfs-settings portmapper=false", "PUT nfs-adapter enabled=true"}
	if got := portmapperWrites(f); !slices.Equal(got, want) {
		t.Errorf("NFS adapter writes:\n got %v\nwant %v", got, want)
	}
	if f.srv.portmapRunning || f.srv.portmapper.Enabled || !f.srv.nfs.Running {
		t.Errorf("portmapper running=%t setting=%+v adapter=%+v, want it off and NFS running", f.srv.portmapRunning, f.srv.portmapper, f.srv.nfs)
	}
}

// A portmapper moved off 10111 through the server's API is moved back: the
// Service targets 10111.
func TestPortmapperPortIsPutBack(t *testing.T) {
	f := newFixture(t, portmapperServer(true)...)
	f.srv.portmapper = dfsapi.Portmapper{Enabled: true, Port: 20111}
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if f.srv.portmapper.Port != 10111 || !f.srv.portmapRunning {
		t.Errorf("portmapper %+v running=%t, want port 10111 running", f.srv.portmapper, f.srv.portmapRunning)
	}
}

// A pass that fails after stopping the adapter leaves it stopped; the next
// pass starts it, and the adapter then runs with the setting written.
func TestPortmapperInterruptedRestartIsRepaired(t *testing.T) {
	f := newFixture(t, portmapperServer(true)...)
	f.srv.refuse = map[string]error{"PUT nfs-adapter enabled=true": apiError(http.MethodPut, "/api/v1/adapters/nfs", http.StatusInternalServerError, "Failed to update adapter")}
	if err := f.sync(); err == nil {
		t.Fatal("a failed restart must requeue the pass")
	}
	if f.srv.nfs.Enabled || !f.srv.portmapper.Enabled {
		t.Fatalf("adapter %+v setting %+v, want stopped with the setting written", f.srv.nfs, f.srv.portmapper)
	}
	if c := condition(f.server().Status.Conditions, ConditionStoresReady); c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonServerError {
		t.Errorf("StoresReady = %+v, want False/ServerError naming the failed call", c)
	}

	f.srv.refuse = nil
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got, want := portmapperWrites(f), []string{"PUT nfs-adapter enabled=true"}; !slices.Equal(got, want) {
		t.Errorf("NFS adapter writes:\n got %v\nwant %v", got, want)
	}
	if !f.srv.nfs.Running || !f.srv.portmapRunning {
		t.Errorf("adapter %+v portmapper running=%t, want both running", f.srv.nfs, f.srv.portmapRunning)
	}
}

// A server that does not answer stops the pass like any other call.
func TestPortmapperUnreachableServer(t *testing.T) {
	f := newFixture(t, portmapperServer(true)...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	f.srv.refuse = map[string]error{"GET nfs-settings": errors.New("connection reset by peer")}
	if err := f.sync(); err == nil {
		t.Fatal("an unreachable server must requeue the pass")
	}
	if c := condition(f.server().Status.Conditions, ConditionStoresReady); c == nil || c.Reason != ReasonServerUnreachable {
		t.Errorf("StoresReady = %+v, want ServerUnreachable", c)
	}
}
