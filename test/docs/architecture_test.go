package docs

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/dittofs/dittofs-operator"

// packagePath matches a package docs/architecture.md names in backticks.
var packagePath = regexp.MustCompile("`((?:pkg|cmd)(?:/[a-z0-9_-]+)*)`")

// Every package docs/architecture.md names exists and holds Go code: a
// package moved or removed makes the page wrong, and this test says which.
func TestArchitectureNamesExistingPackages(t *testing.T) {
	page := read(t, filepath.Join(root, "docs", "architecture.md"))
	named := map[string]bool{}
	for _, m := range packagePath.FindAllStringSubmatch(page, -1) {
		named[m[1]] = true
	}
	if len(named) < 5 {
		t.Fatalf("docs/architecture.md names %d packages; the pattern no longer finds them", len(named))
	}
	for pkg := range named {
		if len(goFiles(t, filepath.Join(root, pkg))) == 0 && !hasGoBelow(t, filepath.Join(root, pkg)) {
			t.Errorf("docs/architecture.md names `%s`, which holds no Go package", pkg)
		}
	}
}

// The machinery and the builders sit below the controllers, as the page
// says: none of them imports pkg/controller.
func TestMachineryDoesNotImportTheController(t *testing.T) {
	for _, pkg := range []string{"pkg/controller/caches", "pkg/controller/crdwatch", "pkg/controller/volumes", "pkg/controller/kit", "pkg/controller/resources"} {
		for _, f := range goFiles(t, filepath.Join(root, pkg)) {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				if path, _ := strconv.Unquote(imp.Path.Value); path == module+"/pkg/controller" {
					t.Errorf("%s imports pkg/controller", rel(f))
				}
			}
		}
	}
}

// goFiles are the Go files of the package in dir (tests included).
func goFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// hasGoBelow reports whether a directory (pkg/generated) holds Go packages
// further down.
func hasGoBelow(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
