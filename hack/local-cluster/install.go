package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// perconaCRD is the stand-in PerconaPGCluster CRD, relative to the
// repository root.
const perconaCRD = "hack/crds/perconapgcluster-minimal.yaml"

var crdGVR = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

// install creates every object in the YAML files of crdDir plus the
// PerconaPGCluster CRD, waits until the CRDs are Established, then creates
// the objects of sample in namespace default. It returns the name of the
// sample's first object ("" when there is no sample).
func install(ctx context.Context, c *localcluster.Cluster, crdDir, sample string) (string, error) {
	cfg := c.RESTConfig()
	cfg.UserAgent = "local-cluster-installer"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	var files []string
	err = filepath.WalkDir(crdDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "warning: CRD directory %s does not exist; installing no DittoFS CRDs\n", crdDir)
	} else if err != nil {
		return "", err
	}
	sort.Strings(files)
	if root, err := localcluster.RepoRoot(); err == nil {
		files = append(files, filepath.Join(root, perconaCRD))
	} else {
		files = append(files, perconaCRD)
	}

	var objs []*unstructured.Unstructured
	for _, f := range files {
		o, err := readObjects(f)
		if err != nil {
			return "", err
		}
		objs = append(objs, o...)
	}
	var crds, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, o := range crds {
		if err := createOrReplace(ctx, dyn.Resource(crdGVR), o); err != nil {
			return "", err
		}
	}
	for _, o := range crds {
		if err := waitEstablished(ctx, dyn, o.GetName()); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(os.Stderr, "installed %d CRDs from %s and %s\n", len(crds), crdDir, perconaCRD)
	mapper.Reset()
	for _, o := range rest {
		if err := createMapped(ctx, dyn, mapper, o); err != nil {
			return "", err
		}
	}

	if _, err := os.Stat(sample); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "warning: sample %s does not exist; applying no sample\n", sample)
		return "", nil
	}
	sampleObjs, err := readObjects(sample)
	if err != nil {
		return "", err
	}
	for _, o := range sampleObjs {
		if err := createMapped(ctx, dyn, mapper, o); err != nil {
			return "", err
		}
	}
	if len(sampleObjs) == 0 {
		return "", nil
	}
	fmt.Fprintf(os.Stderr, "applied %s\n", sample)
	return sampleObjs[0].GetName(), nil
}

// readObjects decodes every non-empty document of a YAML (or JSON) file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("%s: document without apiVersion or kind", path)
		}
		out = append(out, u)
	}
}

// createMapped creates o through the resource the mapper finds for its kind,
// in namespace default when the kind is namespaced and o names none.
func createMapped(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured) error {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			o.SetNamespace("default")
		}
		return create(ctx, dyn.Resource(m.Resource).Namespace(o.GetNamespace()), o)
	}
	return create(ctx, dyn.Resource(m.Resource), o)
}

func create(ctx context.Context, r dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	_, err := r.Create(ctx, o, metav1.CreateOptions{FieldManager: "local-cluster"})
	if apierrors.IsAlreadyExists(err) {
		fmt.Fprintf(os.Stderr, "%s %s already exists, left as is\n", o.GetKind(), o.GetName())
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// createOrReplace creates o or, when it exists (a reused --work-dir),
// replaces it so CRD changes take effect.
func createOrReplace(ctx context.Context, r dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	_, err := r.Create(ctx, o, metav1.CreateOptions{FieldManager: "local-cluster"})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		return nil
	}
	cur, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	o.SetResourceVersion(cur.GetResourceVersion())
	if _, err := r.Update(ctx, o, metav1.UpdateOptions{FieldManager: "local-cluster"}); err != nil {
		return fmt.Errorf("update %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// waitEstablished waits for the CRD's Established condition.
func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		u, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
