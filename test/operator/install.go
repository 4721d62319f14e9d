// Package operator installs the operator's CRDs into a test cluster, applies
// YAML files, and runs the real operator binary as a child process — the
// pieces shared by the end-to-end tests, the benchmark and `make run`.
package operator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

var crdGVR = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

// Applier creates objects from YAML files in a cluster.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewApplier builds an Applier for the cluster behind cfg.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "dittofs-test-installer"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// InstallCRDs creates the CRDs in every YAML file of the given files or
// directories and waits until each is Established. Existing CRDs are left as is.
func (a *Applier) InstallCRDs(ctx context.Context, paths ...string) (int, error) {
	files, err := yamlFiles(paths)
	if err != nil {
		return 0, err
	}
	var crds []*unstructured.Unstructured
	for _, f := range files {
		objs, err := ReadObjects(f)
		if err != nil {
			return 0, err
		}
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" {
				return 0, fmt.Errorf("%s: %s %s is not a CRD", f, o.GetKind(), o.GetName())
			}
			crds = append(crds, o)
		}
	}
	for _, o := range crds {
		if err := create(ctx, a.dyn.Resource(crdGVR), o); err != nil {
			return 0, err
		}
	}
	for _, o := range crds {
		if err := waitEstablished(ctx, a.dyn, o.GetName()); err != nil {
			return 0, err
		}
	}
	a.mapper.Reset()
	return len(crds), nil
}

// ApplyFile creates every object of a YAML file; namespaced objects without a
// namespace go to namespace. Existing objects are left as is.
func (a *Applier) ApplyFile(ctx context.Context, path, namespace string) ([]*unstructured.Unstructured, error) {
	objs, err := ReadObjects(path)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := createMapped(ctx, a.dyn, a.mapper, o, namespace); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func yamlFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(names)
		files = append(files, names...)
	}
	return files, nil
}

// readObjects decodes every non-empty document of a YAML (or JSON) file.
func ReadObjects(path string) ([]*unstructured.Unstructured, error) {
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
// in namespace when the kind is namespaced and o names none.
func createMapped(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured, namespace string) error {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		return create(ctx, dyn.Resource(m.Resource).Namespace(o.GetNamespace()), o)
	}
	return create(ctx, dyn.Resource(m.Resource), o)
}

func create(ctx context.Context, r dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	_, err := r.Create(ctx, o, metav1.CreateOptions{FieldManager: "dittofs-test"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
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
