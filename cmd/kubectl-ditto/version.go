package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/version"
)

// operatorSelector selects the operator's Deployment, as install.yaml and
// the Helm chart label it.
const operatorSelector = "app.kubernetes.io/name=dittofs-operator"

// versionLabel is the version the release and the chart stamp on the
// Deployment; its image, named by digest, does not say it.
const versionLabel = "app.kubernetes.io/version"

func versions(ctx context.Context, e *env, _ []string) error {
	// The plugin's own version first, so that it shows even when the
	// cluster cannot be reached.
	if _, err := fmt.Fprintf(e.out, "kubectl-ditto %s\n", version.Version); err != nil {
		return err
	}
	deps, err := operatorDeployments(ctx, e)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	p := &printer{w: tw}
	if len(deps) == 0 {
		p.println("\nOperator:\tno Deployment labelled " + operatorSelector)
	} else {
		p.println("\nOperator:\n  DEPLOYMENT\tVERSION\tREADY\tIMAGE")
	}
	for _, d := range deps {
		image := ""
		if cs := d.Spec.Template.Spec.Containers; len(cs) > 0 {
			image = cs[0].Image
		}
		p.printf("  %s/%s\t%s\t%d/%d\t%s\n", d.Namespace, d.Name, imageVersion(d.Labels[versionLabel], image),
			d.Status.ReadyReplicas, d.Status.Replicas, image)
	}
	if err := serverVersions(ctx, e, p); err != nil {
		return err
	}
	if p.err != nil {
		return p.err
	}
	return tw.Flush()
}

// operatorDeployments are the operator's Deployments in every namespace the
// user may list, else in the current one.
func operatorDeployments(ctx context.Context, e *env) ([]appsv1.Deployment, error) {
	opts := metav1.ListOptions{LabelSelector: operatorSelector}
	list, err := e.kube.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, opts)
	if apierrors.IsForbidden(err) {
		list, err = e.kube.AppsV1().Deployments(e.namespace).List(ctx, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("list the operator's Deployments: %w", err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b appsv1.Deployment) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return items, nil
}

// serverVersions prints the DittoFS image of each server: the one its
// StatefulSet runs, else (not rolled out yet) the one its spec asks for.
func serverVersions(ctx context.Context, e *env, p *printer) error {
	ns := e.namespace
	if e.allNamespaces {
		ns = metav1.NamespaceAll
	}
	list, err := e.ditto.DittofsV1alpha1().DittoServers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list DittoServers: %w", err)
	}
	items := list.Items
	slices.SortFunc(items, func(a, b dittov1alpha1.DittoServer) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	if len(items) == 0 {
		p.printf("\nServers:\tno DittoServer in %s\n", namespaceWords(ns))
		return nil
	}
	p.println("\nServers:\n  DITTOSERVER\tDITTOFS\tIMAGE")
	for i := range items {
		ds := &items[i]
		image, note := resources.Image(ds), "  (spec; not rolled out yet)"
		sts, err := e.kube.AppsV1().StatefulSets(ds.Namespace).Get(ctx, resources.StatefulSetName(ds), metav1.GetOptions{})
		if err == nil {
			for _, c := range sts.Spec.Template.Spec.Containers {
				if c.Name == resources.ContainerName {
					image, note = c.Image, ""
				}
			}
		} else if !apierrors.IsNotFound(err) {
			return fmt.Errorf("StatefulSet %s/%s: %w", ds.Namespace, ds.Name, err)
		}
		p.printf("  %s/%s\t%s\t%s%s\n", ds.Namespace, ds.Name, imageVersion("", image), image, note)
	}
	return nil
}

// imageVersion is the label's version, else the image's tag, else unknown.
func imageVersion(label, image string) string {
	if label != "" {
		return label
	}
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "unknown"
}

func namespaceWords(ns string) string {
	if ns == metav1.NamespaceAll {
		return "any namespace"
	}
	return "namespace " + ns
}
