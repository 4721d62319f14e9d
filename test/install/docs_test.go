package install

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// docBlock is a fenced code block of a Markdown file.
type docBlock struct {
	lang, text string
}

// readDoc returns a Markdown file's prose (outside code blocks) and its code
// blocks.
func readDoc(t *testing.T, path string) (string, []docBlock) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var prose strings.Builder
	var blocks []docBlock
	var cur *docBlock
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{lang: strings.TrimPrefix(line, "```")}
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		default:
			prose.WriteString(line + "\n")
		}
	}
	if cur != nil {
		t.Fatalf("%s: unterminated code block", path)
	}
	return prose.String(), blocks
}

var (
	repoPath   = regexp.MustCompile(`(?:^|[\s\x60(])((?:artifacts|docs|hack|test|cmd|pkg)/[A-Za-z0-9_./-]*[A-Za-z0-9_-]|Makefile|Dockerfile)`)
	mdLink     = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]+)?\)`)
	makeTarget = regexp.MustCompile(`\bmake ([a-z0-9-]+)`)
	kustomizeK = regexp.MustCompile(`\s-k\s+([A-Za-z0-9_./-]*[A-Za-z0-9_-])`)
	selector   = regexp.MustCompile(`\s-l\s+([A-Za-z0-9_./=-]*[A-Za-z0-9_-])`)
	snippetDir = regexp.MustCompile(`^#\s*(\S+)/kustomization\.yaml`)
)

// docs/install.md says only what is true of this repository: the files it
// names exist, its links and their anchors resolve, its make targets exist,
// every directory it applies with -k renders (the repository's own and the
// kustomizations it shows, placed where their comment says, with the
// repository checked out beside them), its label selectors name labels the
// install and the operator set, and its command that removes the operator
// names every kind of object the installs create but the CRDs and namespace.
func TestInstallDocIsTrue(t *testing.T) {
	doc := filepath.Join(root, "docs", "install.md")
	prose, blocks := readDoc(t, doc)
	all := prose
	for _, b := range blocks {
		all += b.text
	}

	for _, m := range repoPath.FindAllStringSubmatch(all, -1) {
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("install.md names %s, which does not exist", m[1])
		}
	}
	for _, m := range mdLink.FindAllStringSubmatch(prose, -1) {
		if strings.Contains(m[1], "://") {
			continue
		}
		target := filepath.Join(filepath.Dir(doc), m[1])
		if _, err := os.Stat(target); err != nil {
			t.Errorf("install.md links to %s, which does not exist", m[1])
			continue
		}
		if m[2] != "" && !hasAnchor(t, target, strings.TrimPrefix(m[2], "#")) {
			t.Errorf("install.md links to %s%s: no such heading", m[1], m[2])
		}
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range makeTarget.FindAllStringSubmatch(all, -1) {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(makefile) {
			t.Errorf("install.md runs make %s: no such target", m[1])
		}
	}

	// The kustomizations the document shows, where their comment puts them,
	// with the repository checked out beside them as dittofs-operator.
	work := t.TempDir()
	if err := os.Symlink(root, filepath.Join(work, "dittofs-operator")); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, b := range blocks {
		if b.lang != "yaml" || !strings.Contains(b.text, "kind: Kustomization") {
			continue
		}
		m := snippetDir.FindStringSubmatch(b.text)
		if m == nil {
			t.Errorf("a kustomization in install.md does not say where it lives (# <dir>/kustomization.yaml):\n%s", b.text)
			continue
		}
		dir := filepath.Join(work, m[1])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Beside the repository: ../dittofs-operator resolves from dir's parent.
		if parent := filepath.Dir(dir); parent != work {
			_ = os.Symlink(root, filepath.Join(parent, "dittofs-operator"))
		}
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		r := render(t, dir)
		if len(r.all("Deployment")) != 1 || len(r.all("CustomResourceDefinition")) == 0 {
			t.Errorf("the kustomization %s of install.md does not install the operator", m[1])
		}
		shown[m[1]] = true
	}
	if len(shown) == 0 {
		t.Error("install.md shows no kustomization of the user's own")
	}

	var commands string
	for _, b := range blocks {
		if b.lang == "sh" {
			commands += b.text
		}
	}
	applied := map[string]bool{}
	for _, m := range kustomizeK.FindAllStringSubmatch(all, -1) {
		applied[m[1]] = true
	}
	for _, dir := range []string{"artifacts/deploy", "artifacts/namespaced"} {
		if !applied[dir] {
			t.Errorf("install.md never applies %s", dir)
		}
	}
	for dir := range applied {
		switch {
		case shown[dir]:
		case strings.HasPrefix(dir, "artifacts/"):
			render(t, filepath.Join(root, dir))
		default:
			t.Errorf("install.md applies -k %s, which is neither in the repository nor shown", dir)
		}
	}

	labels := map[string]bool{partOf + "=" + operatorName: true, resources.KeptForLabel: true,
		resources.ComponentLabel + "=" + resources.ComponentStorage: true}
	for _, m := range selector.FindAllStringSubmatch(all, -1) {
		if !labels[m[1]] {
			t.Errorf("install.md selects -l %s, a label neither the install nor the operator sets that way", m[1])
		}
	}

	removal := ""
	for _, line := range strings.Split(commands, "\n") {
		if strings.HasPrefix(line, "kubectl delete ") && strings.Contains(line, "-l "+partOf+"="+operatorName) {
			removal = line
		}
	}
	if removal == "" {
		t.Fatal("install.md has no command that removes the operator by its label")
	}
	kinds := strings.Split(strings.Fields(removal)[2], ",")
	for _, dir := range []string{baseDir, namespacedDir} {
		for _, o := range render(t, dir).objs {
			k := strings.ToLower(o.GetKind())
			if k == "customresourcedefinition" || k == "namespace" {
				continue
			}
			if !slices.Contains(kinds, k) {
				t.Errorf("%q leaves the %s %s of %s behind", removal, o.GetKind(), o.GetName(), filepath.Base(dir))
			}
		}
	}
}

// hasAnchor reports whether a Markdown file has a heading whose GitHub
// anchor is anchor.
func hasAnchor(t *testing.T, path, anchor string) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		if strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-") == anchor {
			return true
		}
	}
	return false
}
