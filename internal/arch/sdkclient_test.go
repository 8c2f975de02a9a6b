package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestSDKClientsStayOutOfInterfaces keeps the AWS SDK clients where the
// linker can drop the operations mamori never calls (docs/install.md,
// "Binary size"): a service client is built only in a package's sdk*.go,
// which keeps the operations it calls as method values. A client built
// anywhere else is one conversion away from an interface, and then every
// operation of that service is linked in (EC2 alone: ~20 MB).
func TestSDKClientsStayOutOfInterfaces(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"internal/cloud/aws/hub.go": true, // sts for AssumeRole: a handful of operations
	}
	err = filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if allowed[rel] || strings.HasPrefix(filepath.Base(path), "sdk") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewFromConfig" {
				t.Errorf("%s: builds an AWS SDK client (%s.NewFromConfig); build it in the package's sdk.go as a struct of the method values it calls (docs/install.md, \"Binary size\")", rel, sel.X)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
