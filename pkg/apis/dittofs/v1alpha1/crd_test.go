package v1alpha1_test

// The generated CRDs and the samples, read as the API server and a user
// read them. The CEL rules themselves run in the real API server
// (test/e2e/share_admission_test.go); these tests check, without one, what
// must hold for every rule and column, including the ones added later.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

const (
	crdDir      = "../../../../artifacts/crds"
	examplesDir = "../../../../artifacts/examples"
)

// crd is the part of a CustomResourceDefinition these tests read.
type crd struct {
	Spec struct {
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name    string `json:"name"`
			Columns []struct {
				Name     string `json:"name"`
				Type     string `json:"type"`
				JSONPath string `json:"jsonPath"`
			} `json:"additionalPrinterColumns"`
			Schema struct {
				OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// loadCRDs reads every CRD of artifacts/crds, by kind.
func loadCRDs(t *testing.T) map[string]crd {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", crdDir, err)
	}
	out := map[string]crd{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c crd
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(c.Spec.Versions) != 1 {
			t.Fatalf("%s: %d versions, want 1", f, len(c.Spec.Versions))
		}
		out[c.Spec.Names.Kind] = c
	}
	for _, kind := range []string{"DittoServer", "DittoShare", "DittoUser"} {
		if _, ok := out[kind]; !ok {
			t.Fatalf("no CRD for %s in %s", kind, crdDir)
		}
	}
	return out
}

func schemaOf(c crd) map[string]any { return c.Spec.Versions[0].Schema.OpenAPIV3Schema }

// A rejection must tell the user which field to fix: every CEL rule's
// message names the field it is attached to (or its fieldPath), as a path
// from the object's root; a rule on a list's entries names the list.
func TestEveryCELMessageNamesItsField(t *testing.T) {
	for kind, c := range loadCRDs(t) {
		rules := 0
		walkSchema(schemaOf(c), "", func(path string, node map[string]any) {
			for _, r := range asSlice(node["x-kubernetes-validations"]) {
				rule := r.(map[string]any)
				rules++
				field := strings.ReplaceAll(strings.TrimPrefix(path+str(rule["fieldPath"]), "."), "[*]", "")
				msg := str(rule["message"])
				if !strings.Contains(msg, field) {
					t.Errorf("%s: the message of rule %q on %q does not name %s: %q", kind, rule["rule"], path, field, msg)
				}
			}
		})
		if rules == 0 {
			t.Errorf("%s: no CEL rules found; the walk is broken", kind)
		}
	}
}

// The immutable fields of shares and users have a transition rule: a rule
// on them (or on the root, naming them) that reads oldSelf.
func TestSharesAndUsersGuardTheirIdentity(t *testing.T) {
	crds := loadCRDs(t)
	for kind, fields := range map[string][]string{
		"DittoShare": {"spec.serverRef", "spec.exportName"},
		"DittoUser":  {"spec.serverRef", "spec.username"},
	} {
		guarded := map[string]bool{}
		walkSchema(schemaOf(crds[kind]), "", func(path string, node map[string]any) {
			for _, r := range asSlice(node["x-kubernetes-validations"]) {
				rule := r.(map[string]any)
				if strings.Contains(str(rule["rule"]), "oldSelf") && strings.Contains(str(rule["message"]), "immutable") {
					guarded[strings.TrimPrefix(path+str(rule["fieldPath"]), ".")] = true
				}
			}
		})
		for _, f := range fields {
			if !guarded[f] {
				t.Errorf("%s: %s has no immutability rule (guarded: %v)", kind, f, guarded)
			}
		}
	}
}

// The API server's defaults and enums are the Go constants the controller
// compares with: a default that differs would make every object look
// changed, an enum value without constant would be unhandled.
func TestShareAndUserEnumsAndDefaultsMatchGo(t *testing.T) {
	crds := loadCRDs(t)
	share := schemaOf(crds["DittoShare"])
	levels := []any{
		string(dittov1alpha1.PermissionNone), string(dittov1alpha1.PermissionRead),
		string(dittov1alpha1.PermissionReadWrite), string(dittov1alpha1.PermissionAdmin),
	}
	for _, tc := range []struct {
		path     string
		enum     []any
		defaults any // nil: no default
	}{
		{"spec.deletionPolicy", []any{string(dittov1alpha1.DeletionRetain), string(dittov1alpha1.DeletionDelete)}, string(dittov1alpha1.DeletionRetain)},
		{"spec.defaultPermission", levels, string(dittov1alpha1.PermissionNone)},
		{"spec.permissions[*].level", levels, nil},
		{"spec.readOnly", nil, false},
	} {
		node := lookup(t, share, tc.path)
		if got := asSlice(node["enum"]); tc.enum != nil && !slices.Equal(got, tc.enum) {
			t.Errorf("DittoShare %s: enum %v, Go constants %v", tc.path, got, tc.enum)
		}
		if got := node["default"]; got != tc.defaults {
			t.Errorf("DittoShare %s: default %v, want %v", tc.path, got, tc.defaults)
		}
	}
	// Both kinds say Ready in the same place, so one column definition (and
	// one condition type in the controller) serves both.
	for _, kind := range []string{"DittoShare", "DittoUser"} {
		s := schemaOf(crds[kind])
		lookup(t, s, "status.observedGeneration")
		if lookup(t, s, "status.conditions")["x-kubernetes-list-type"] != "map" {
			t.Errorf("%s: status.conditions is not a map list keyed by type", kind)
		}
	}
}

var columnFilter = regexp.MustCompile(`\[\?\(@\.[a-zA-Z]+=="[A-Za-z]+"\)\]`)

// Every printer column reads a field the schema has, with the column's type:
// a typo in a JSONPath shows an empty column, never an error.
func TestPrinterColumnsReadSchemaFields(t *testing.T) {
	want := map[string]string{"string": "string", "boolean": "boolean", "integer": "integer", "date": "string"}
	for kind, c := range loadCRDs(t) {
		for _, col := range c.Spec.Versions[0].Columns {
			if strings.HasPrefix(col.JSONPath, ".metadata.") {
				continue // metadata is the API server's, not in the schema
			}
			path := strings.TrimPrefix(columnFilter.ReplaceAllString(col.JSONPath, "[*]"), ".")
			node := lookup(t, schemaOf(c), path)
			if got := str(node["type"]); got != want[col.Type] {
				t.Errorf("%s column %s (%s): schema type %q, column type %q", kind, col.Name, col.JSONPath, got, col.Type)
			}
		}
	}
}

// The samples are what users copy: each DittoShare and DittoUser decodes
// into the Go types without unknown fields, references the DittoServer of its
// own file, and finds the Secret key and the users it names there, so that
// `kubectl apply -f` of one file is the whole setup.
func TestShareAndUserSamplesAreSelfContained(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in %s: %v", examplesDir, err)
	}
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		servers, secrets, users := map[string]bool{}, map[string]map[string]bool{}, map[string]bool{}
		var shares []*dittov1alpha1.DittoShare
		var userObjs []*dittov1alpha1.DittoUser
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Data       map[string]any `json:"data"`
				StringData map[string]any `json:"stringData"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			switch head.Kind {
			case "DittoServer":
				servers[head.Metadata.Name] = true
			case "Secret":
				keys := map[string]bool{}
				for k := range head.Data {
					keys[k] = true
				}
				for k := range head.StringData {
					keys[k] = true
				}
				secrets[head.Metadata.Name] = keys
			case "DittoShare":
				s := &dittov1alpha1.DittoShare{}
				if err := yaml.UnmarshalStrict(doc, s); err != nil {
					t.Fatalf("%s: DittoShare: %v", f, err)
				}
				shares = append(shares, s)
			case "DittoUser":
				u := &dittov1alpha1.DittoUser{}
				if err := yaml.UnmarshalStrict(doc, u); err != nil {
					t.Fatalf("%s: DittoUser: %v", f, err)
				}
				userObjs = append(userObjs, u)
				users[username(u)] = true
			}
		}
		for _, u := range userObjs {
			found++
			if !servers[u.Spec.ServerRef.Name] {
				t.Errorf("%s: DittoUser %s references DittoServer %q, not in the file", f, u.Name, u.Spec.ServerRef.Name)
			}
			ref := u.Spec.PasswordSecretRef
			if !secrets[ref.Name][ref.Key] {
				t.Errorf("%s: DittoUser %s reads key %q of Secret %q, not in the file", f, u.Name, ref.Key, ref.Name)
			}
		}
		for _, s := range shares {
			found++
			if !servers[s.Spec.ServerRef.Name] {
				t.Errorf("%s: DittoShare %s references DittoServer %q, not in the file", f, s.Name, s.Spec.ServerRef.Name)
			}
			for _, p := range s.Spec.Permissions {
				if p.User != "" && !users[p.User] {
					t.Errorf("%s: DittoShare %s grants %s to user %q, which no DittoUser of the file declares", f, s.Name, p.Level, p.User)
				}
			}
		}
	}
	if found == 0 {
		t.Error("no sample declares a DittoShare or a DittoUser")
	}
}

func username(u *dittov1alpha1.DittoUser) string {
	if u.Spec.Username != "" {
		return u.Spec.Username
	}
	return u.Name
}

// walkSchema calls visit for every node of an OpenAPI schema with its path
// from the object's root: ".spec.permissions[*].user".
func walkSchema(node map[string]any, path string, visit func(path string, node map[string]any)) {
	visit(path, node)
	if props, ok := node["properties"].(map[string]any); ok {
		for name, p := range props {
			walkSchema(p.(map[string]any), path+"."+name, visit)
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		walkSchema(items, path+"[*]", visit)
	}
}

// lookup returns the schema node at a dotted path ("spec.permissions[*].level").
func lookup(t *testing.T, root map[string]any, path string) map[string]any {
	t.Helper()
	node := root
	for _, part := range strings.Split(path, ".") {
		name, isList := strings.CutSuffix(part, "[*]")
		props, _ := node["properties"].(map[string]any)
		next, ok := props[name].(map[string]any)
		if !ok {
			t.Fatalf("no field %q in the schema (at %q)", path, part)
		}
		node = next
		if isList {
			if node, ok = node["items"].(map[string]any); !ok {
				t.Fatalf("%q is not a list in the schema", path)
			}
		}
	}
	return node
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
