package lambdaemu

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// Builder compiles functions for the host with the flags of the deployed
// build (CGO_ENABLED=0, -trimpath, -tags lambda.norpc, -ldflags='-s -w')
// and caches each binary under Dir by a hash of the module's Go sources,
// go.mod and go.sum: an unchanged function is never rebuilt, even across
// restarts.
type Builder struct {
	// Dir holds the cached binaries (<state dir>/lambda/build).
	Dir string
	// Go is the go command (default "go").
	Go string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// Build returns the path of the function's host binary, building it when
// its sources changed since the cached build.
func (b *Builder) Build(ctx context.Context, fn samtemplate.Function) (string, error) {
	pkgDir, modDir, err := mainPackage(fn)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(modDir, pkgDir)
	if err != nil {
		return "", fmt.Errorf("function %s: package %s outside module %s", fn.LogicalID, pkgDir, modDir)
	}
	sum, err := sourceHash(modDir, rel)
	if err != nil {
		return "", fmt.Errorf("function %s: hash sources of %s: %w", fn.LogicalID, modDir, err)
	}
	// Keyed by content only: functions sharing a package share a binary.
	out := filepath.Join(b.Dir, sum[:20], "bootstrap")

	lock := b.lock(out)
	lock.Lock()
	defer lock.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("function %s: build cache: %w", fn.LogicalID, err)
	}
	goCmd := b.Go
	if goCmd == "" {
		goCmd = "go"
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", tmp, "./"+filepath.ToSlash(rel))
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("function %s: go build ./%s in %s: %w\n%s", fn.LogicalID, rel, modDir, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("function %s: build cache: %w", fn.LogicalID, err)
	}
	return out, nil
}

func (b *Builder) lock(key string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks == nil {
		b.locks = map[string]*sync.Mutex{}
	}
	l, ok := b.locks[key]
	if !ok {
		l = &sync.Mutex{}
		b.locks[key] = l
	}
	return l
}

// mainPackage finds the directory of the function's main package and of
// its Go module.
//
// For BuildMethod go1.x (or none) it is CodeUri itself. For BuildMethod
// makefile it is the package the Makefile's build-<LogicalId> recipe
// builds when written out literally, else CodeUri when it holds a main
// package, else CodeUri/functions/<name> (this repository's layout:
// IngestFunction -> functions/ingest).
func mainPackage(fn samtemplate.Function) (pkgDir, modDir string, err error) {
	if !supportedRuntime(fn.Runtime) {
		return "", "", fmt.Errorf("function %s: Runtime %q is not supported: the local cloud runs Go functions (go1.x, provided.al2, provided.al2023)", fn.LogicalID, fn.Runtime)
	}
	if fn.CodeURI == "" {
		return "", "", fmt.Errorf("function %s: no CodeUri: set it to the function's source directory", fn.LogicalID)
	}
	if st, err := os.Stat(fn.CodeURI); err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("function %s: CodeUri %s is not a directory", fn.LogicalID, fn.CodeURI)
	}
	switch strings.ToLower(fn.BuildMethod) {
	case "", "go1.x":
		pkgDir = fn.CodeURI
		if !isMainPackage(pkgDir) {
			return "", "", fmt.Errorf("function %s: CodeUri %s holds no Go main package", fn.LogicalID, pkgDir)
		}
	case "makefile":
		pkgDir = makefilePackage(fn)
		if pkgDir == "" {
			return "", "", fmt.Errorf("function %s: BuildMethod makefile: found no Go main package (looked at the build-%s recipe in %s, at CodeUri itself and at %s)",
				fn.LogicalID, fn.LogicalID, filepath.Join(fn.CodeURI, "Makefile"), filepath.Join(fn.CodeURI, "functions", shortName(fn.LogicalID)))
		}
	default:
		return "", "", fmt.Errorf("function %s: Metadata.BuildMethod %q is not supported (go1.x or makefile)", fn.LogicalID, fn.BuildMethod)
	}
	modDir, err = moduleRoot(pkgDir)
	if err != nil {
		return "", "", fmt.Errorf("function %s: %w", fn.LogicalID, err)
	}
	return pkgDir, modDir, nil
}

func supportedRuntime(rt string) bool {
	return rt == "" || rt == "go1.x" || strings.HasPrefix(rt, "provided")
}

// shortName turns IngestFunction into ingest.
func shortName(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

func makefilePackage(fn samtemplate.Function) string {
	if dir := makefileRecipePackage(filepath.Join(fn.CodeURI, "Makefile"), fn.LogicalID); dir != "" {
		p := filepath.Join(fn.CodeURI, dir)
		if isMainPackage(p) {
			return p
		}
	}
	if isMainPackage(fn.CodeURI) {
		return fn.CodeURI
	}
	p := filepath.Join(fn.CodeURI, "functions", shortName(fn.LogicalID))
	if isMainPackage(p) {
		return p
	}
	return ""
}

// makefileRecipePackage returns the relative package path ("./x/y") that
// a literal `build-<id>:` recipe builds (`go build ... ./pkg`, or the
// directory a preceding `cd dir &&` enters), or "".
func makefileRecipePackage(path, id string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "build-"+id+":") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return ""
		}
		fields := strings.Fields(line)
		base := "."
		for i, f := range fields {
			if f == "cd" && i+1 < len(fields) {
				base = filepath.Join(base, strings.TrimSuffix(fields[i+1], ";"))
				continue
			}
			if f != "build" || i == 0 || !strings.HasSuffix(fields[i-1], "go") {
				continue
			}
			pkg := "."
			for j := i + 1; j < len(fields); j++ {
				a := fields[j]
				if a == "-o" {
					j++
					continue
				}
				if strings.HasPrefix(a, "./") || a == "." {
					pkg = a
				}
			}
			return "./" + filepath.ToSlash(filepath.Join(base, pkg))
		}
	}
	return ""
}

func isMainPackage(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "package ") {
				if strings.TrimSpace(strings.TrimPrefix(line, "package ")) == "main" {
					return true
				}
				break
			}
		}
	}
	return false
}

// moduleRoot walks up from dir to the directory holding go.mod.
func moduleRoot(dir string) (string, error) {
	d := dir
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s: a Go function needs a module", dir)
		}
		d = parent
	}
}

// sourceHash hashes what the function's binary is built from: go.mod and
// go.sum, and the files of every package of the module the main package
// imports, directly or not (found by parsing import clauses, so a change
// to another function does not rebuild this one). A package's files are
// all its non-test files, including non-Go files in it and in its
// non-package subdirectories (what //go:embed can reach). The package
// path and the target platform are part of the hash.
func sourceHash(modDir, rel string) (string, error) {
	modPath, err := modulePath(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", err
	}
	files := []string{filepath.Join(modDir, "go.mod")}
	if _, err := os.Stat(filepath.Join(modDir, "go.sum")); err == nil {
		files = append(files, filepath.Join(modDir, "go.sum"))
	}
	seen := map[string]bool{}
	queue := []string{filepath.Join(modDir, rel)}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		pkgFiles, imports, err := packageFiles(dir)
		if err != nil {
			return "", err
		}
		files = append(files, pkgFiles...)
		for _, imp := range imports {
			if imp == modPath || strings.HasPrefix(imp, modPath+"/") {
				queue = append(queue, filepath.Join(modDir, filepath.FromSlash(strings.TrimPrefix(imp, modPath))))
			}
		}
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s/%s\x00%s\x00", rel, runtime.GOOS, runtime.GOARCH, runtime.Version())
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		r, _ := filepath.Rel(modDir, f)
		fmt.Fprintf(h, "%s\x00%d\x00", r, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// modulePath reads the module line of a go.mod.
func modulePath(goMod string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no module line", goMod)
}

// packageFiles lists a package directory's files (tests excluded; non-Go
// files and non-package subdirectories included) and the imports of its
// Go files.
func packageFiles(dir string) ([]string, []string, error) {
	var files, imports []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == dir {
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || hasGoFiles(path) {
				return filepath.SkipDir // hidden, test data, or another package
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		files = append(files, path)
		if strings.HasSuffix(name, ".go") && filepath.Dir(path) == dir {
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return nil // go build will report it
			}
			for _, imp := range f.Imports {
				imports = append(imports, strings.Trim(imp.Path.Value, `"`))
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read package %s: %w", dir, err)
	}
	return files, imports, nil
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}
