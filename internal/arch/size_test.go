package arch

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Size limits of non-test code (docs/architecture.md, "Conventions").
const (
	maxFuncLines = 80
	maxFileLines = 600
)

// enforced are the directories (relative to the module root; "x/..." for
// x and below) whose code must keep the limits now. Every other directory
// is measured and reported (go test -v -run Size ./internal/arch) until its
// owners bring it within the limits and add it here.
var enforced = []string{
	"internal/engine/...", "internal/event/...", "internal/incident/...", "internal/alerting/...", "internal/recovery",
	"internal/api/...", "internal/web/...", "internal/store/...", "internal/server/...", "internal/arch/...",
	"internal/config/...", "internal/agent/...", "internal/auth/...", "internal/runbook/...", "internal/maintenance/...",
	"internal/state/...", "internal/docs/...", "internal/recovery/policy/...", "internal/check/pingcheck/...",
	"internal/check/ftpcheck/...", "internal/check/logcheck/...", "internal/check/httpcheck/...", "internal/notify/...", "bench/...", "internal/cli/...",
	"internal/poller/...", "internal/broker/...",
}

// enforcedFiles are single files held to the limits in directories not
// enforced as a whole.
var enforcedFiles = []string{}

// oversize is one function or file over its limit.
type oversize struct {
	where string // file:line
	what  string
	lines int
	limit int
}

func (o oversize) String() string {
	return fmt.Sprintf("%s: %s is %d lines (limit %d)", o.where, o.what, o.lines, o.limit)
}

// measure parses every non-test Go file under root.
func measure(root string) ([]oversize, error) {
	var out []oversize
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "vendor" || (strings.HasPrefix(n, ".") && p != root) {
				return filepath.SkipDir
			}
			return nil
		}
		// storetest is the stores' conformance suite: test code in
		// ordinary files because every store's tests call it.
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(filepath.ToSlash(p), "/internal/store/storetest/") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		relp, _ := filepath.Rel(root, p)
		relp = filepath.ToSlash(relp)
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
			out = append(out, oversize{relp + ":1", "file", n, maxFileLines})
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
			if n := end - start + 1; n > maxFuncLines {
				name := fn.Name.Name
				if fn.Recv != nil && len(fn.Recv.List) > 0 {
					name = "(" + types(fn.Recv.List[0].Type) + ")." + name
				}
				out = append(out, oversize{fmt.Sprintf("%s:%d", relp, start), "func " + name, n, maxFuncLines})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].lines > out[j].lines })
	return out, err
}

func types(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "*" + types(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return types(t.X)
	case *ast.IndexListExpr:
		return types(t.X)
	}
	return "?"
}

func isEnforced(file string) bool {
	for _, f := range enforcedFiles {
		if f == file {
			return true
		}
	}
	return matchAny(enforced, filepath.ToSlash(filepath.Dir(file)))
}

func TestSizeLimits(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s", root)
	}
	all, err := measure(root)
	if err != nil {
		t.Fatal(err)
	}
	var reported int
	for _, o := range all {
		file := o.where[:strings.LastIndex(o.where, ":")]
		if isEnforced(file) {
			t.Errorf("size: %s", o)
			continue
		}
		reported++
		t.Logf("over the limit (not yet enforced here): %s", o)
	}
	t.Logf("%d functions or files over the limits outside the enforced packages", reported)
}
