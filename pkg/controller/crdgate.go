package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// InstallCRDsCommand is what installs the operator's own CRDs.
const InstallCRDsCommand = "kubectl apply --server-side -f artifacts/crds/"

// CRDGate holds a controller back until the CRDs it reads are installed,
// so that a missing CRD (a Helm upgrade never upgrades crds/) stops that
// controller only, not the others. Like the CRD-gated watch of the Percona
// and ServiceMonitor objects (percona_watch.go), it watches the metadata of
// each CRD alone (a CRDWatch) and knows whether one exists only once the
// handler that records it has seen the initial list.
type CRDGate struct {
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

// state says whether the CRD is installed; crdSyncing until its watch has
// listed it.
func (g *gatedCRD) state() crdState {
	if !g.handled() {
		return crdSyncing
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.present {
		return crdNotInstalled
	}
	return crdReady
}

// NewCRDGate builds a gate over the CRDs named (plural.group), each watched
// alone with a field selector on its name.
func NewCRDGate(meta metadata.Interface, resync time.Duration, names ...string) (*CRDGate, error) {
	watches := map[string]CRDWatch{}
	var factories []metadatainformer.SharedInformerFactory
	for _, name := range names {
		factory := metadatainformer.NewFilteredSharedInformerFactory(meta, resync, metav1.NamespaceAll,
			func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name })
		watches[name] = factory.ForResource(CRDGVR).Informer()
		factories = append(factories, factory)
	}
	return newCRDGate(names, watches, func(stop <-chan struct{}) {
		for _, f := range factories {
			f.Start(stop)
		}
	})
}

// newCRDGate builds the gate on one watch per CRD name; start starts them.
func newCRDGate(names []string, watches map[string]CRDWatch, start func(stop <-chan struct{})) (*CRDGate, error) {
	g := &CRDGate{start: start}
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
func (g *CRDGate) Start(stop <-chan struct{}) { g.start(stop) }

// Missing returns the CRDs known not to be installed, and whether the gate
// knows yet (every watch has listed its CRD).
func (g *CRDGate) Missing() (missing []string, known bool) {
	known = true
	for _, crd := range g.crds {
		switch crd.state() {
		case crdSyncing:
			known = false
		case crdNotInstalled:
			missing = append(missing, crd.name)
		}
	}
	return missing, known
}

// Wait blocks until every CRD is installed, and reports false when ctx ends
// first. While CRDs are missing it says once which, and the command that
// installs them; it says once more when they are there.
func (g *CRDGate) Wait(ctx context.Context, controller string) bool {
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
