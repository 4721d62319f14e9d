package fakeapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/yaml"
)

// Server-side apply. A tracker made by NewFieldManagedObjectTracker merges
// apply patches with the field manager of the API server; given a type
// converter built from the CRDs (CRDTypeConverter), it merges lists as the
// CRD's schema says (conditions by type), as the API server does for a
// custom resource, and records one managedFields entry per manager.

// Apply merges an apply patch into the stored object (the tracker must be a
// field-managed one) and gives it a new resourceVersion, as any write.
func (t Tracker) Apply(gvr schema.GroupVersionResource, patch runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	m, err := meta.Accessor(patch)
	if err != nil {
		return err
	}
	if err := t.ObjectTracker.Apply(gvr, patch, ns, opts...); err != nil {
		return err
	}
	obj, err := t.ObjectTracker.Get(gvr, ns, m.GetName())
	if err != nil {
		return err
	}
	// The field-managed tracker stores the merge under the live object's
	// resourceVersion: store it again under a new one (an update that
	// changes nothing else records no field).
	return t.write("apply", gvr, obj, ns, func() error { return t.ObjectTracker.Update(gvr, obj, ns) })
}

// NewFieldManagedTracker is a tracker that serves apply patches like the API
// server: scheme's types, their lists merged as the CRDs in crdFiles declare.
func NewFieldManagedTracker(scheme *runtime.Scheme, decoder runtime.Decoder, crdFiles ...string) (Tracker, error) {
	tc, err := CRDTypeConverter(crdFiles...)
	if err != nil {
		return Tracker{}, err
	}
	return NewTracker(clienttesting.NewFieldManagedObjectTracker(scheme, decoder, tc)), nil
}

// CRDTypeConverter reads the structural schemas of the CRDs in files (YAML,
// as hack/update-codegen.sh writes them) into the type converter the field
// manager merges with.
func CRDTypeConverter(files ...string) (managedfields.TypeConverter, error) {
	defs := map[string]*spec.Schema{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if err := addCRDSchemas(defs, data); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return managedfields.NewTypeConverter(defs, false)
}

// crdDoc is the part of a CustomResourceDefinition the converter needs.
type crdDoc struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Schema struct {
				OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func addCRDSchemas(defs map[string]*spec.Schema, data []byte) error {
	var crd crdDoc
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return err
	}
	if crd.Spec.Names.Kind == "" || len(crd.Spec.Versions) == 0 {
		return errors.New("not a CustomResourceDefinition with versions")
	}
	for _, v := range crd.Spec.Versions {
		s := &spec.Schema{}
		if err := json.Unmarshal(v.Schema.OpenAPIV3Schema, s); err != nil {
			return fmt.Errorf("schema of %s: %w", v.Name, err)
		}
		s.AddExtension("x-kubernetes-group-version-kind", []interface{}{map[string]interface{}{
			"group": crd.Spec.Group, "version": v.Name, "kind": crd.Spec.Names.Kind,
		}})
		defs[fmt.Sprintf("%s.%s.%s", crd.Spec.Group, v.Name, crd.Spec.Names.Kind)] = s
	}
	return nil
}
