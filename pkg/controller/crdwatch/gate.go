package crdwatch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
)

// InstallCRDsCommand is what installs the operator's own CRDs.
const InstallCRDsCommand = "kubectl apply --server-side -f artifacts/crds/"

// Gate holds a controller back until the CRDs it reads are installed,
// so that a missing CRD (a Helm upgrade never upgrades crds/) stops that
// controller only, not the others. Like the CRD-gated watch of the Percona
// and ServiceMonitor objects (Watch), it watches the metadata of
// each CRD alone (caches.CRDInformer) and knows whether one exists only once the
// handler that records it has seen the initial list.
type Gate struct {
	crds []*gatedCRD
	// start starts the CRD informers.
	start func(stop <-chan struct{})
}

type gatedCRD struct {
	name    string
	handled cache.InformerSynced
	mu      sync.Mutex
	present bool
}

func (g *gatedCRD) set(present bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.present = present
}

// state says whether the CRD is installed; Syncing until its watch has
// listed it.
func (g *gatedCRD) state() State {
	if !g.handled() {
		return Syncing
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.present {
		return NotInstalled
	}
	return Ready
}

// NewGate builds a gate over the CRDs named (plural.group), each watched
// alone with a field selector on its name.
func NewGate(meta metadata.Interface, resync time.Duration, names ...string) (*Gate, error) {
	watches := map[string]cache.SharedIndexInformer{}
	var factories []metadatainformer.SharedInformerFactory
	for _, name := range names {
		informer, factory := caches.CRDInformer(meta, resync, name)
		watches[name] = informer
		factories = append(factories, factory)
	}
	return newGate(names, watches, func(stop <-chan struct{}) {
		for _, f := range factories {
			f.Start(stop)
		}
	})
}

// newGate builds the gate on one watch per CRD name; start starts them.
func newGate(names []string, watches map[string]cache.SharedIndexInformer, start func(stop <-chan struct{})) (*Gate, error) {
	g := &Gate{start: start}
	for _, name := range names {
		crd := &gatedCRD{name: name}
		reg, err := watches[name].AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(interface{}) { crd.set(true) },
			DeleteFunc: func(interface{}) { crd.set(false) },
		})
		if err != nil {
			return nil, fmt.Errorf("watch CRD %s: %w", name, err)
		}
		crd.handled = reg.HasSynced
		g.crds = append(g.crds, crd)
	}
	return g, nil
}

// Start starts the watches of the CRDs.
func (g *Gate) Start(stop <-chan struct{}) { g.start(stop) }

// Missing returns the CRDs known not to be installed, and whether the gate
// knows yet (every watch has listed its CRD).
func (g *Gate) Missing() (missing []string, known bool) {
	known = true
	for _, crd := range g.crds {
		switch crd.state() {
		case Syncing:
			known = false
		case NotInstalled:
			missing = append(missing, crd.name)
		}
	}
	return missing, known
}

// Wait blocks until every CRD is installed, and reports false when ctx ends
// first. While CRDs are missing it says once which, and the command that
// installs them; it says once more when they are there.
func (g *Gate) Wait(ctx context.Context, controller string) bool {
	logger := klog.FromContext(ctx)
	var reported []string
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(context.Context) (bool, error) {
		missing, known := g.Missing()
		if !known {
			return false, nil
		}
		if len(missing) > 0 && !slices.Equal(missing, reported) {
			logger.Info("Waiting for CRDs to be installed; the controller starts when they are",
				"controller", controller, "crds", missing, "install", InstallCRDsCommand)
			reported = missing
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return false
	}
	if reported != nil {
		logger.Info("CRDs installed; starting the controller", "controller", controller, "crds", reported)
	}
	return true
}
