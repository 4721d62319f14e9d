package crdwatch

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// The gate of a controller that reads two CRDs: it does not know before
// both watches have handled their initial list; then it names the missing
// CRDs; Wait says once which CRDs it waits for and the command that
// installs them, and returns when both are installed.
func TestGate(t *testing.T) {
	const shares, users = "dittoshares.dittofs.dittofs.com", "dittousers.dittofs.dittofs.com"
	watches := map[string]*listedNotHandled{shares: {}, users: {}}
	gate, err := newGate([]string{shares, users}, map[string]cache.SharedIndexInformer{shares: watches[shares], users: watches[users]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, known := gate.Missing(); known {
		t.Fatal("the gate knows before the CRD watches handled their initial list")
	}
	watches[shares].delivered = true
	watches[users].delivered = true
	if missing, known := gate.Missing(); !known || !slices.Equal(missing, []string{shares, users}) {
		t.Fatalf("Missing() = %v, %v; want both CRDs, known", missing, known)
	}

	var mu sync.Mutex
	var lines []string
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	ctx, cancel := context.WithTimeout(klog.NewContext(context.Background(), logger), 30*time.Second)
	defer cancel()
	done := make(chan bool, 1)
	go func() { done <- gate.Wait(ctx, "serverstate") }()

	time.Sleep(2500 * time.Millisecond) // a few polls while both are missing
	watches[shares].handler.OnAdd(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: shares}}, false)
	if missing, _ := gate.Missing(); !slices.Equal(missing, []string{users}) {
		t.Errorf("Missing() after the DittoShare CRD appeared = %v, want only %s", missing, users)
	}
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("Wait returned while a CRD is missing")
	default:
	}
	watches[users].handler.OnAdd(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: users}}, false)
	if ok := <-done; !ok {
		t.Fatal("Wait returned false once both CRDs were installed")
	}

	mu.Lock()
	defer mu.Unlock()
	var waiting, installed int
	for _, l := range lines {
		switch {
		case strings.Contains(l, "Waiting for CRDs"):
			waiting++
			if !strings.Contains(l, InstallCRDsCommand) || !strings.Contains(l, `"controller"="serverstate"`) {
				t.Errorf("the waiting line does not name the controller and the install command: %s", l)
			}
		case strings.Contains(l, "CRDs installed"):
			installed++
		}
	}
	// One line for both missing, one when only DittoUser is, one when both are there.
	if waiting != 2 || installed != 1 {
		t.Errorf("logged %d waiting and %d installed lines, want 2 and 1 (not one per poll): %q", waiting, installed, lines)
	}
	if !strings.Contains(lines[0], shares) || !strings.Contains(lines[0], users) {
		t.Errorf("the first line does not name both missing CRDs: %s", lines[0])
	}
}

// Wait gives up when its context ends.
func TestGateWaitStops(t *testing.T) {
	w := &listedNotHandled{delivered: true}
	gate, err := newGate([]string{"x.example.com"}, map[string]cache.SharedIndexInformer{"x.example.com": w}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if gate.Wait(ctx, "test") {
		t.Error("Wait reported the CRD installed")
	}
}
