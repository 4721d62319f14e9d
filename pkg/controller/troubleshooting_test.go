package controller

// docs/troubleshooting.md explains every reason the operator emits. The
// reasons are read from the source (every constant named Reason* in the two
// reasons.go files), so a reason added there without an entry in the
// document fails this test, naming it.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// reasonFiles declare every event and condition reason of the operator;
// the reasons both controllers report are in the API package, and a
// controller's constant that names one of them (dittov1alpha1.ReasonX) is
// read there.
var reasonFiles = []string{"reasons.go", "serverstate/reasons.go", "../apis/dittofs/v1alpha1/conditions.go"}

const troubleshootingDoc = "../../docs/troubleshooting.md"

// reasonConst is one Reason* constant and where it is declared.
type reasonConst struct {
	name, value, file string
}

// reasonConstants parses a Go file and returns its string constants named
// Reason*.
func reasonConstants(t *testing.T, file string) []reasonConst {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	var out []reasonConst
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				if sel, ok := vs.Values[i].(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "dittov1alpha1" && strings.HasPrefix(sel.Sel.Name, "Reason") {
						continue // declared, and checked, in the API package
					}
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: %s is not a string literal; the test reads reasons as literals", file, name.Name)
				}
				value, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: %s: %v", file, name.Name, err)
				}
				out = append(out, reasonConst{name: name.Name, value: value, file: file})
			}
		}
	}
	return out
}

var backquoted = regexp.MustCompile("`([^`]+)`")

// documentedReasons are the reasons that have an entry in a Markdown
// document: in backquotes in a heading, or in the first cell of a table row.
// A mention in prose is not an entry.
func documentedReasons(doc string) map[string]bool {
	found := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		var text string
		switch {
		case strings.HasPrefix(line, "#"):
			text = line
		case strings.HasPrefix(line, "|"):
			text, _, _ = strings.Cut(line[1:], "|")
		default:
			continue
		}
		for _, m := range backquoted.FindAllStringSubmatch(text, -1) {
			found[m[1]] = true
		}
	}
	return found
}

func TestTroubleshootingEntriesAreHeadingsAndFirstTableCells(t *testing.T) {
	doc := strings.Join([]string{
		"### `InHeading`",
		"| `InFirstCell` | Warning | mentions `InOtherCell` |",
		"Prose mentions `InProse`.",
	}, "\n")
	got := documentedReasons(doc)
	for reason, want := range map[string]bool{"InHeading": true, "InFirstCell": true, "InOtherCell": false, "InProse": false} {
		if got[reason] != want {
			t.Errorf("%s documented = %v, want %v", reason, got[reason], want)
		}
	}
}

func TestTroubleshootingCoversEveryReason(t *testing.T) {
	raw, err := os.ReadFile(troubleshootingDoc)
	if err != nil {
		t.Fatalf("read %s: %v", troubleshootingDoc, err)
	}
	documented := documentedReasons(string(raw))

	var missing []string
	for _, file := range reasonFiles {
		consts := reasonConstants(t, file)
		if len(consts) == 0 {
			t.Fatalf("%s declares no Reason* constants: the reasons moved and this test must follow them", file)
		}
		for _, c := range consts {
			if !documented[c.value] {
				missing = append(missing, c.file+": "+c.name+" = "+strconv.Quote(c.value))
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%s has no entry (a heading or first table cell with the reason in backquotes) for:\n  %s",
			troubleshootingDoc, strings.Join(missing, "\n  "))
	}
}
