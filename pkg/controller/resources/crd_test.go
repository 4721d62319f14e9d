package resources

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

const crdFile = "../../../artifacts/crds/dittofs.dittofs.com_dittoservers.yaml"

// crdSchema is the OpenAPI schema of the DittoServer CRD, used to default a
// sample as the API server would and to check it against the schema's enums,
// bounds and required fields. The CEL rules need the API server's own
// machinery and are not evaluated here.
type crdSchema map[string]any

var (
	crdOnce sync.Once
	crdRoot crdSchema
	crdErr  error
)

func loadCRD(t testing.TB) crdSchema {
	t.Helper()
	crdOnce.Do(func() {
		var doc struct {
			Spec struct {
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		data, err := os.ReadFile(crdFile)
		if err == nil {
			err = yaml.Unmarshal(data, &doc)
		}
		if err == nil && len(doc.Spec.Versions) != 1 {
			err = fmt.Errorf("%d versions, want 1", len(doc.Spec.Versions))
		}
		if err != nil {
			crdErr = err
			return
		}
		crdRoot = doc.Spec.Versions[0].Schema.OpenAPIV3Schema
	})
	if crdErr != nil {
		t.Fatalf("load %s: %v", crdFile, crdErr)
	}
	return crdRoot
}

// admit applies the schema's defaults to obj in place (as the API server
// does: a missing property with a default gets it, then defaulting recurses)
// and returns the schema violations it finds.
func (s crdSchema) admit(obj map[string]any) []string {
	var errs []string
	walk(map[string]any(s), obj, "", &errs)
	sort.Strings(errs)
	return errs
}

func walk(schema map[string]any, v any, path string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if enum, ok := schema["enum"].([]any); ok && !inEnum(enum, v) {
		fail("%v not in %v", v, enum)
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return // free-form (x-kubernetes-preserve-unknown-fields) or a map
		}
		for name, p := range props {
			ps := p.(map[string]any)
			if _, present := x[name]; !present {
				if d, ok := ps["default"]; ok {
					x[name] = deepCopyJSON(d)
				}
			}
		}
		for _, r := range asSlice(schema["required"]) {
			if _, ok := x[r.(string)]; !ok {
				fail("required field %s missing", r)
			}
		}
		for name, val := range x {
			ps, ok := props[name].(map[string]any)
			if !ok {
				if name != "apiVersion" && name != "kind" && path != "" {
					fail("unknown field %s", name)
				}
				continue
			}
			walk(ps, val, path+"."+name, errs)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				walk(items, e, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case float64:
		if m, ok := schema["minimum"].(float64); ok && x < m {
			fail("%v below minimum %v", x, m)
		}
		if m, ok := schema["maximum"].(float64); ok && x > m {
			fail("%v above maximum %v", x, m)
		}
	case string:
		if m, ok := schema["minLength"].(float64); ok && float64(len(x)) < m {
			fail("%q shorter than %v", x, m)
		}
	}
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func deepCopyJSON(v any) any {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
