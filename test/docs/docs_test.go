// Package docs keeps the README and docs/ honest: every field path they name
// exists in the CRDs, and every link between them leads somewhere.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const root = "../.."

// pages are the hand-written documents; docs/api-reference.md is generated
// from the types and checked by make verify.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{filepath.Join(root, "README.md"), filepath.Join(root, "test", "README.md"), filepath.Join(root, "CHANGELOG.md")}
	for _, d := range docs {
		if filepath.Base(d) != "api-reference.md" {
			out = append(out, d)
		}
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// schemas maps each kind, lower-cased as kubectl explain takes it, to the
// openAPIV3Schema of its served version.
func schemas(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "artifacts", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs under artifacts/crds: %v", err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		var crd struct {
			Spec struct {
				Names    struct{ Kind string }
				Versions []struct {
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal([]byte(read(t, f)), &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.ToLower(crd.Spec.Names.Kind)] = crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	}
	return out
}

// resolve walks a dotted path (spec.a.b) through a schema, stepping into
// array items and map values where the schema has them.
func resolve(schema map[string]any, path []string) bool {
	node := schema
	for _, step := range path {
		for {
			if items, ok := node["items"].(map[string]any); ok {
				node = items
				continue
			}
			break
		}
		props, _ := node["properties"].(map[string]any)
		next, ok := props[step].(map[string]any)
		if !ok {
			if extra, ok := node["additionalProperties"].(map[string]any); ok {
				node = extra
				continue
			}
			return false
		}
		node = next
	}
	return true
}

// fieldPath finds field paths in code spans: `spec.storage.metadataSize`,
// or with the kind first as kubectl explain takes it, `dittoserver.spec.s3`
// (status paths are checked only with the kind).
var fieldPath = regexp.MustCompile("`(?:(dittoserver|dittoshare|dittouser)\\.)?((?:spec|status)(?:\\.[A-Za-z0-9]+)+)`?")

func TestEveryFieldTheDocsNameExists(t *testing.T) {
	crds := schemas(t)
	for _, page := range pages(t) {
		for _, m := range fieldPath.FindAllStringSubmatch(read(t, page), -1) {
			kinds := []string{m[1]}
			if m[1] == "" && strings.HasPrefix(m[2], "status.") {
				continue // without a kind, often another object's status (a PerconaPGCluster's)
			}
			if m[1] == "" {
				kinds = nil
				for k := range crds {
					kinds = append(kinds, k)
				}
			}
			path := strings.Split(m[2], ".")
			if !slices.ContainsFunc(kinds, func(k string) bool { return crds[k] != nil && resolve(crds[k], path) }) {
				t.Errorf("%s names %s, which no CRD has (kinds %v)", rel(page), m[0], kinds)
			}
		}
	}
}

// link finds Markdown links; external ones (with a scheme) are not checked.
var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

func TestEveryLinkLeadsSomewhere(t *testing.T) {
	for _, page := range pages(t) {
		for _, m := range link.FindAllStringSubmatch(read(t, page), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s links to %s, which does not exist", rel(page), target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") && !slices.Contains(anchors(read(t, dest)), anchor) {
				t.Errorf("%s links to %s: no heading %q in %s", rel(page), target, anchor, rel(dest))
			}
		}
	}
}

// anchors are the ids GitHub gives a page's headings: lower case, spaces to
// hyphens, punctuation dropped.
func anchors(page string) []string {
	var out []string
	inCode := false
	for line := range strings.SplitSeq(page, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

func rel(path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return r
}
