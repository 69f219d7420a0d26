package harness

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TracingImport is the package a function links to be traced by X-Ray.
const TracingImport = "github.com/gomlops/mlops/shared/tracing"

// WriteTracingVariant writes to outDir a copy of the function's main
// package (its non-test .go files from srcDir) whose main calls
// tracing.Instrument on the aws.Config right after it is loaded, as the
// design's composition root does when a function opts in. outDir must lie
// inside the module so that the copy builds with the module's imports.
// A main without an awsconfig.Load assignment followed by its error check
// is an error: the variant would not measure what it claims.
func WriteTracingVariant(srcDir, outDir string) error {
	entries, err := os.ReadDir(srcDir)
	if err != nil {
		return fmt.Errorf("tracing variant of %s: %w", srcDir, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("tracing variant of %s: %w", srcDir, err)
	}
	sawMain := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(srcDir, name))
		if err != nil {
			return fmt.Errorf("tracing variant of %s: %w", srcDir, err)
		}
		if name == "main.go" {
			sawMain = true
			if src, err = InstrumentMain(src); err != nil {
				return fmt.Errorf("tracing variant of %s: %w", srcDir, err)
			}
		}
		if err := os.WriteFile(filepath.Join(outDir, name), src, 0o644); err != nil {
			return fmt.Errorf("tracing variant of %s: %w", srcDir, err)
		}
	}
	if !sawMain {
		return fmt.Errorf("tracing variant of %s: no main.go", srcDir)
	}
	return nil
}

// InstrumentMain rewrites a composition root so that it calls
// tracing.Instrument(&cfg) after `cfg, err := awsconfig.Load(...)` and the
// statement after it (the error check), adding the import.
func InstrumentMain(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse main.go: %w", err)
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == TracingImport {
			return nil, fmt.Errorf("main.go already imports %s", TracingImport)
		}
	}
	done := false
	ast.Inspect(f, func(n ast.Node) bool {
		block, ok := n.(*ast.BlockStmt)
		if !ok || done {
			return !done
		}
		for i, st := range block.List {
			cfg := awsconfigLoadTarget(st)
			if cfg == "" || i+1 >= len(block.List) {
				continue
			}
			if _, isIf := block.List[i+1].(*ast.IfStmt); !isIf {
				continue
			}
			call := &ast.ExprStmt{X: &ast.CallExpr{
				Fun:  &ast.SelectorExpr{X: ast.NewIdent("tracing"), Sel: ast.NewIdent("Instrument")},
				Args: []ast.Expr{&ast.UnaryExpr{Op: token.AND, X: ast.NewIdent(cfg)}},
			}}
			list := append([]ast.Stmt(nil), block.List[:i+2]...)
			list = append(list, call)
			block.List = append(list, block.List[i+2:]...)
			done = true
			return false
		}
		return true
	})
	if !done {
		return nil, fmt.Errorf("main.go has no `cfg, err := awsconfig.Load(...)` followed by its error check")
	}
	addImport(f, TracingImport)
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, fmt.Errorf("print main.go: %w", err)
	}
	return format.Source(buf.Bytes())
}

// awsconfigLoadTarget returns the variable assigned by
// `x, err := awsconfig.Load(...)`, or "".
func awsconfigLoadTarget(st ast.Stmt) string {
	as, ok := st.(*ast.AssignStmt)
	if !ok || len(as.Lhs) != 2 || len(as.Rhs) != 1 {
		return ""
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Load" {
		return ""
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "awsconfig" {
		return ""
	}
	id, ok := as.Lhs[0].(*ast.Ident)
	if !ok {
		return ""
	}
	return id.Name
}

func addImport(f *ast.File, path string) {
	spec := &ast.ImportSpec{Path: &ast.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			gd.Specs = append(gd.Specs, spec)
			if !gd.Lparen.IsValid() {
				gd.Lparen = gd.Pos()
			}
			f.Imports = append(f.Imports, spec)
			return
		}
	}
	f.Decls = append([]ast.Decl{&ast.GenDecl{Tok: token.IMPORT, Specs: []ast.Spec{spec}}}, f.Decls...)
	f.Imports = append(f.Imports, spec)
}
