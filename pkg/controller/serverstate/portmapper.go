package serverstate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// convergePortmapper makes the server's portmapper follow
// spec.portmapper.enabled. DittoFS v0.29 keeps the setting in its database
// and reads it only when the NFS adapter starts, so a change is written and
// the adapter restarted (stopped and started through the API: the pod
// stays). A converged server costs two GETs.
//
// The adapter is stopped before the setting is written and started after,
// so a pass interrupted half-way leaves it stopped, which the next pass
// sees and repairs by starting it (the server starts it with the setting
// already written) rather than a running adapter with a stale setting that
// no read could tell apart from a converged one.
func (c *Controller) convergePortmapper(ctx context.Context, p *pass, api dfsapi.API) error {
	ds := p.ds
	want := dfsapi.Portmapper{Enabled: resources.PortmapperEnabled(ds)}
	if want.Enabled {
		want.Port = int(resources.ContainerPortmapPort)
	}
	adapter, err := api.GetNFSAdapter(ctx)
	if err != nil {
		return classify(err)
	}
	got, err := api.GetNFSPortmapper(ctx)
	if err != nil {
		return classify(err)
	}
	if portmapperMatches(want, got) {
		if adapter.Enabled {
			return nil
		}
		// Left stopped by an interrupted restart (the spec has no way to
		// turn NFS off).
		if err := api.SetNFSAdapterEnabled(ctx, true); err != nil {
			return classify(err)
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonNFSAdapterRestarted, "Started the server's NFS adapter, which was stopped")
		return nil
	}
	if adapter.Enabled {
		if err := api.SetNFSAdapterEnabled(ctx, false); err != nil {
			return classify(err)
		}
	}
	if err := api.SetNFSPortmapper(ctx, want); err != nil {
		return classify(err)
	}
	if err := api.SetNFSAdapterEnabled(ctx, true); err != nil {
		return classify(err)
	}
	state := "off"
	if want.Enabled {
		state = fmt.Sprintf("on (port %d)", want.Port)
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonNFSAdapterRestarted, "Turned the server's portmapper %s and restarted its NFS adapter", state)
	klog.FromContext(ctx).V(2).Info("Restarted the NFS adapter for the portmapper", "server", klog.KObj(ds), "portmapper", want.Enabled)
	return nil
}

// portmapperMatches compares what the operator sets: the port matters only
// while the portmapper runs, since the Service targets 10111.
func portmapperMatches(want, got dfsapi.Portmapper) bool {
	if want.Enabled != got.Enabled {
		return false
	}
	return !want.Enabled || want.Port == got.Port
}
