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

// pluginCommands are the subcommands of kubectl ditto (cmd/kubectl-ditto).
var pluginCommands = []string{"status", "shares", "mount", "credentials", "backup", "restore", "version"}

var (
	// secretName: "Secret dittofs-generated", "kubectl get secret x-y".
	secretName = regexp.MustCompile(`(?i)\bsecret\s+([a-z0-9]+(?:-[a-z0-9]+)+)\b`)
	// commentPath: spec.storage.cacheSize in a comment, backticks or not.
	commentPath = regexp.MustCompile(`\b((?:spec)(?:\.[A-Za-z0-9]+)+)`)
	pluginCmd   = regexp.MustCompile(`kubectl ditto ([a-z-]+)`)
	makeCmd     = regexp.MustCompile(`\bmake ([a-z0-9-]+)`)
	repoFile    = regexp.MustCompile(`\b((?:docs|artifacts|hack|test)/[A-Za-z0-9_./-]*[A-Za-z0-9_-])`)
)

// The comments of each sample in artifacts/examples name only what exists:
// a Secret the file defines or one the operator makes for a new server of
// the file (<name>-generated, <name>-operator, the Percona user's); field
// paths of the CRDs; kubectl ditto's subcommands; make targets; files of the
// repository.
func TestExampleCommentsNameWhatExists(t *testing.T) {
	crds := schemas(t)
	makefile := read(t, filepath.Join(root, "Makefile"))
	files, err := filepath.Glob(filepath.Join(root, "artifacts", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		text := read(t, f)
		known := secretsOf(t, text)
		var comments strings.Builder
		for _, line := range strings.Split(text, "\n") {
			if _, c, ok := strings.Cut(line, "#"); ok {
				comments.WriteString(c + "\n")
			}
		}
		c := comments.String()
		for _, m := range secretName.FindAllStringSubmatch(c, -1) {
			if !known[m[1]] {
				t.Errorf("%s: a comment names Secret %s, which neither the file nor the operator makes for it", rel(f), m[1])
			}
		}
		for _, m := range commentPath.FindAllStringSubmatch(c, -1) {
			path := strings.Split(m[1], ".")
			if !slices.ContainsFunc([]string{"dittoserver", "dittoshare", "dittouser"}, func(k string) bool { return resolve(crds[k], path) }) {
				t.Errorf("%s: a comment names %s, which no CRD has", rel(f), m[1])
			}
		}
		for _, m := range pluginCmd.FindAllStringSubmatch(c, -1) {
			if !slices.Contains(pluginCommands, m[1]) {
				t.Errorf("%s: a comment runs kubectl ditto %s, which the plugin does not have", rel(f), m[1])
			}
		}
		for _, m := range makeCmd.FindAllStringSubmatch(c, -1) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).MatchString(makefile) {
				t.Errorf("%s: a comment runs make %s: no such target", rel(f), m[1])
			}
		}
		for _, m := range repoFile.FindAllStringSubmatch(c, -1) {
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("%s: a comment names %s, which does not exist", rel(f), m[1])
			}
		}
	}
}

// secretsOf are the Secrets a sample defines and those the operator makes
// for each DittoServer in it.
func secretsOf(t *testing.T, text string) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, doc := range strings.Split(text, "\n---") {
		var o struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		switch o.Kind {
		case "Secret":
			known[o.Metadata.Name] = true
		case "DittoServer":
			for _, suffix := range []string{"-generated", "-operator", "-postgres-pguser-dittofs"} {
				known[o.Metadata.Name+suffix] = true
			}
		}
	}
	return known
}
