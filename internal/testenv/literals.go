package testenv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// StringLiterals returns the string literals of the Go test files in dir
// that are at least minLen bytes long: the inputs a package's tests already
// thought of, as seeds for its fuzz targets.
func StringLiterals(tb testing.TB, dir string, minLen int) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && len(s) >= minLen {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}
