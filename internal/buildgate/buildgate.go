// Package buildgate holds the build gates of the Lambda functions: every
// function builds for linux/arm64 with -tags lambda.norpc, its stripped
// binary stays under its size budget (raw and zipped), and it links none of
// the packages that make Go binaries heavy and slow to start (net/rpc,
// html/template, the v1 AWS SDK) unless BENCHMARKS.md records why.
//
// The checks are plain functions so that their logic is tested on
// synthetic packages; the gate itself is the test of this package, which
// `go test ./...` (and so `make test`) runs.
package buildgate

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// MiB is 2^20 bytes, the unit of every budget.
const MiB = 1 << 20

// Budget is the largest stripped linux/arm64 binary a function may have,
// raw and as the deployment zip.
type Budget struct {
	Raw, Zipped int64
}

// String formats the budget in MiB.
func (b Budget) String() string {
	return fmt.Sprintf("%.1f MiB raw / %.1f MiB zipped", float64(b.Raw)/MiB, float64(b.Zipped)/MiB)
}

// Budgets returned by BudgetFor (issue 9): the latency-critical inference
// proxy is held to the size of aws-lambda-go plus one SDK client; every
// other function (control plane and the drift monitor) to a few clients.
var (
	ProxyBudget        = Budget{Raw: 9 * MiB, Zipped: 3.5 * MiB}
	ControlPlaneBudget = Budget{Raw: 13 * MiB, Zipped: 5 * MiB}
)

// BudgetFor returns the size budget of the function named name.
func BudgetFor(name string) Budget {
	if name == "infer" {
		return ProxyBudget
	}
	return ControlPlaneBudget
}

// Forbidden are the import paths no function may link; an entry ending in
// "/" forbids every package under it.
var Forbidden = []string{
	"net/rpc",                    // aws-lambda-go without -tags lambda.norpc; disables method dead-code elimination
	"html/template",              // pulled in by net/rpc's debug pages
	"github.com/aws/aws-sdk-go/", // SDK v1, pulled in by aws-xray-sdk-go v1.8.5 (with gRPC)
}

// Functions lists the Lambda functions of the module rooted at modDir: the
// directories under functions/ that hold a main.go.
func Functions(modDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(modDir, "functions"))
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(modDir, "functions", e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no function (functions/*/main.go) under %s", modDir)
	}
	return names, nil
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// lambdaEnv is the environment of the deployed build (see the Makefile).
func lambdaEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=", "GOWORK=off")
}

// Build compiles package pkg (relative to modDir, e.g. ./functions/infer)
// exactly as deployed: linux/arm64, static, -trimpath, -tags lambda.norpc,
// stripped. The output is written to out.
func Build(ctx context.Context, modDir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = modDir
	cmd.Env = lambdaEnv()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -tags lambda.norpc %s (linux/arm64): %w\n%s", pkg, err, strings.TrimSpace(buf.String()))
	}
	return nil
}

// Deps lists every package pkg links when built as deployed
// (go list -deps -tags lambda.norpc, linux/arm64).
func Deps(ctx context.Context, modDir, pkg string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = modDir
	cmd.Env = lambdaEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s (linux/arm64): %w\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	var deps []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			deps = append(deps, line)
		}
	}
	return deps, nil
}

// Sizes returns the size of the binary at path and of the deployment zip
// holding it as "bootstrap" (deflate, as `sam build` and `zip` produce).
func Sizes(path string) (raw, zipped int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("binary size: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("binary size: %w", err)
	}
	var buf countWriter
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, 0, fmt.Errorf("zip %s: %w", path, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, 0, fmt.Errorf("zip %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return 0, 0, fmt.Errorf("zip %s: %w", path, err)
	}
	return st.Size(), buf.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// CheckSize reports an error naming the function, its sizes and its budget
// when the binary is over the budget, raw or zipped.
func CheckSize(name string, raw, zipped int64, b Budget) error {
	var over []string
	if raw > b.Raw {
		over = append(over, fmt.Sprintf("raw %.2f MiB > %.2f MiB", float64(raw)/MiB, float64(b.Raw)/MiB))
	}
	if zipped > b.Zipped {
		over = append(over, fmt.Sprintf("zipped %.2f MiB > %.2f MiB", float64(zipped)/MiB, float64(b.Zipped)/MiB))
	}
	if len(over) == 0 {
		return nil
	}
	return fmt.Errorf("function %s is over its size budget (%s): %s; BENCHMARKS.md says what each dependency costs", name, b, strings.Join(over, ", "))
}

// Exceptions are recorded reasons to link a forbidden package, keyed by
// function then forbidden entry (as in Forbidden).
type Exceptions map[string]map[string]string

// exceptionLine is one recorded exception in BENCHMARKS.md, a Markdown
// bullet of the form "- gate exception: <function> <forbidden entry>: <why>".
// A line indented by four spaces or more is a code block (an example of the
// syntax, say) and does not count.
var exceptionLine = regexp.MustCompile(`^ {0,3}[-*]\s+gate exception:\s+(\S+)\s+(\S+):\s*(.*?)\s*$`)

// ParseExceptions reads the exceptions recorded in BENCHMARKS.md. An
// exception without a reason, or for an entry that is not forbidden, is an
// error: the gate must not be silenced by accident.
func ParseExceptions(md []byte) (Exceptions, error) {
	ex := Exceptions{}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		m := exceptionLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fn, entry, why := m[1], m[2], m[3]
		switch {
		case !isForbiddenEntry(entry):
			errs = append(errs, fmt.Errorf("line %d: %q is not a forbidden entry (one of %s)", n, entry, strings.Join(Forbidden, ", ")))
		case why == "":
			errs = append(errs, fmt.Errorf("line %d: exception for %s %s gives no reason", n, fn, entry))
		default:
			if ex[fn] == nil {
				ex[fn] = map[string]string{}
			}
			ex[fn][entry] = why
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return ex, errors.Join(errs...)
}

func isForbiddenEntry(s string) bool {
	for _, f := range Forbidden {
		if s == f {
			return true
		}
	}
	return false
}

// matches reports whether import path p is covered by forbidden entry f.
func matches(f, p string) bool {
	if strings.HasSuffix(f, "/") {
		return strings.HasPrefix(p, f) || p == strings.TrimSuffix(f, "/")
	}
	return p == f
}

// Violations returns the forbidden packages among deps that function fn
// links without a recorded exception, sorted.
func Violations(fn string, deps []string, ex Exceptions) []string {
	var out []string
	for _, p := range deps {
		for _, f := range Forbidden {
			if matches(f, p) && ex[fn][f] == "" {
				out = append(out, p)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Summarize shortens a violation list for an error message: the forbidden
// entries hit and how many packages each covers.
func Summarize(violations []string) string {
	counts := map[string]int{}
	var order []string
	for _, p := range violations {
		for _, f := range Forbidden {
			if matches(f, p) {
				if counts[f] == 0 {
					order = append(order, f)
				}
				counts[f]++
				break
			}
		}
	}
	parts := make([]string, 0, len(order))
	for _, f := range order {
		parts = append(parts, fmt.Sprintf("%s (%d packages)", f, counts[f]))
	}
	return strings.Join(parts, ", ")
}
