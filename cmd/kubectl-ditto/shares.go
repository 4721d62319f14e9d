package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// shares lists the DittoShares of the namespace (or all, with -A), each with
// what kubectl get cannot join: the address NFS clients mount it at, from
// its server's status.
func shares(ctx context.Context, e *env, _ []string) error {
	ns := e.namespace
	if e.allNamespaces {
		ns = metav1.NamespaceAll
	}
	list, err := e.ditto.DittofsV1alpha1().DittoShares(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list DittoShares: %w", err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b dittov1alpha1.DittoShare) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	if len(items) == 0 {
		_, err := fmt.Fprintln(e.out, "No DittoShares found.")
		return err
	}
	servers := map[string]*dittov1alpha1.DittoServer{}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	p := &printer{w: tw}
	header := "NAME\tSERVER\tEXPORT\tQUOTA\tREAD-ONLY\tREADY\tREASON\tNFS"
	if e.allNamespaces {
		header = "NAMESPACE\t" + header
	}
	p.println(header)
	for i := range items {
		s := &items[i]
		srvNS := serverNamespace(s)
		nfs := "-"
		if ds := cachedServer(ctx, e, servers, srvNS, s.Spec.ServerRef.Name); ds != nil && ds.Status.NFSEndpoint != "" {
			nfs = ds.Status.NFSEndpoint
		}
		ready, reason := readiness(s.Status.Conditions)
		if e.allNamespaces {
			p.printf("%s\t", s.Namespace)
		}
		p.printf("%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\n", s.Name, qualified(srvNS, s.Spec.ServerRef.Name, s.Namespace),
			exportOf(s), quota(s), s.Spec.ReadOnly, ready, reason, nfs)
	}
	if p.err != nil {
		return p.err
	}
	return tw.Flush()
}

// serverNamespace is the namespace of the share's server.
func serverNamespace(s *dittov1alpha1.DittoShare) string {
	if s.Spec.ServerRef.Namespace != "" {
		return s.Spec.ServerRef.Namespace
	}
	return s.Namespace
}

// cachedServer reads a server once per run; nil when it cannot be read (a
// missing server, or one in a namespace the user may not read).
func cachedServer(ctx context.Context, e *env, cache map[string]*dittov1alpha1.DittoServer, ns, name string) *dittov1alpha1.DittoServer {
	key := ns + "/" + name
	if ds, ok := cache[key]; ok {
		return ds
	}
	ds, err := e.ditto.DittofsV1alpha1().DittoServers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		ds = nil
	}
	cache[key] = ds
	return ds
}
