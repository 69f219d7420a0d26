package buildgate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gateTimeout bounds every go command of the gates; builds are cached by
// go, so after the first run only linking costs time.
const gateTimeout = 5 * time.Minute

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot(".")
	require.NoError(t, err)
	return root
}

func exceptions(t *testing.T, root string) Exceptions {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(root, "BENCHMARKS.md"))
	if os.IsNotExist(err) {
		return Exceptions{}
	}
	require.NoError(t, err)
	ex, err := ParseExceptions(md)
	require.NoError(t, err, "BENCHMARKS.md gate exceptions")
	return ex
}

// TestFunctionsWithinBudget is the size gate: every function builds for
// linux/arm64 with -tags lambda.norpc, stripped, and stays under its budget.
func TestFunctionsWithinBudget(t *testing.T) {
	root := moduleRoot(t)
	names, err := Functions(root)
	require.NoError(t, err)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), gateTimeout)
	defer cancel()
	// Two builds at a time: the machines have two cores.
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	sizes := make([][2]int64, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, name, "bootstrap")
			if err := Build(ctx, root, "./functions/"+name, out); err != nil {
				errs[i] = err
				return
			}
			raw, zipped, err := Sizes(out)
			errs[i] = err
			sizes[i] = [2]int64{raw, zipped}
		}()
	}
	wg.Wait()
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, errs[i])
			raw, zipped := sizes[i][0], sizes[i][1]
			t.Logf("%s: %.2f MiB raw, %.2f MiB zipped (budget %s)", name, float64(raw)/MiB, float64(zipped)/MiB, BudgetFor(name))
			assert.NoError(t, CheckSize(name, raw, zipped, BudgetFor(name)))
		})
	}
}

// TestNoForbiddenPackages is the dependency gate: no function links
// net/rpc, html/template or the v1 AWS SDK unless BENCHMARKS.md records why.
func TestNoForbiddenPackages(t *testing.T) {
	root := moduleRoot(t)
	names, err := Functions(root)
	require.NoError(t, err)
	ex := exceptions(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), gateTimeout)
	defer cancel()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			deps, err := Deps(ctx, root, "./functions/"+name)
			require.NoError(t, err)
			require.Contains(t, deps, "github.com/aws/aws-lambda-go/lambda", "go list must see the whole dependency graph")
			v := Violations(name, deps, ex)
			assert.Empty(t, v, "function %s links %s; remove the import or record a '- gate exception: %s <entry>: <why>' line in BENCHMARKS.md", name, Summarize(v), name)
		})
	}
}

// writeModule writes a throwaway module (files by relative path) and
// returns its directory.
func writeModule(t *testing.T, module string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module " + module + "\n\ngo 1.26\n"
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

// TestGateFlagsOversizeBinary proves the size gate on a tiny synthetic
// package: a real arm64 build over a tiny budget fails, under a generous
// one passes.
func TestGateFlagsOversizeBinary(t *testing.T) {
	mod := writeModule(t, "example.com/tiny", map[string]string{
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n",
	})
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), gateTimeout)
	defer cancel()
	require.NoError(t, Build(ctx, mod, ".", out))
	raw, zipped, err := Sizes(out)
	require.NoError(t, err)
	require.Greater(t, raw, zipped, "a Go binary compresses")

	tests := []struct {
		name    string
		budget  Budget
		wantErr string
	}{
		{name: "raw over", budget: Budget{Raw: raw - 1, Zipped: zipped}, wantErr: "raw"},
		{name: "zipped over", budget: Budget{Raw: raw, Zipped: zipped - 1}, wantErr: "zipped"},
		{name: "both over", budget: Budget{Raw: 1024, Zipped: 1024}, wantErr: "raw"},
		{name: "exactly at budget", budget: Budget{Raw: raw, Zipped: zipped}},
		{name: "control-plane budget", budget: ControlPlaneBudget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSize("tiny", raw, zipped, tt.budget)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "function tiny is over its size budget")
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// TestGateFlagsForbiddenImport proves the dependency gate on synthetic
// packages listed with the real go list: direct and transitive imports of
// forbidden packages are flagged, a recorded exception lets one through.
func TestGateFlagsForbiddenImport(t *testing.T) {
	// A module posing as the v1 SDK, so that the prefix rule is exercised
	// through go list without the network.
	mod := writeModule(t, "github.com/aws/aws-sdk-go", map[string]string{
		"aws/aws.go":       "package aws\n\n// V is a value.\nconst V = 1\n",
		"cmd/v1/main.go":   "package main\n\nimport \"github.com/aws/aws-sdk-go/aws\"\n\nfunc main() { println(aws.V) }\n",
		"cmd/rpc/main.go":  "package main\n\nimport \"net/rpc\"\n\nfunc main() { _ = rpc.DefaultServer }\n",
		"cmd/tmpl/main.go": "package main\n\nimport \"github.com/aws/aws-sdk-go/internal/page\"\n\nfunc main() { page.Render() }\n",
		"internal/page/page.go": "package page\n\nimport (\n\t\"html/template\"\n\t\"os\"\n)\n\n// Render writes a page.\n" +
			"func Render() { _ = template.Must(template.New(\"p\").Parse(\"x\")).Execute(os.Stdout, nil) }\n",
		"cmd/clean/main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"clean\") }\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), gateTimeout)
	defer cancel()
	tests := []struct {
		name string
		pkg  string
		ex   Exceptions
		want []string
	}{
		{name: "v1 SDK", pkg: "./cmd/v1", want: []string{"github.com/aws/aws-sdk-go/aws"}},
		{name: "net/rpc drags in html/template", pkg: "./cmd/rpc", want: []string{"html/template", "net/rpc"}},
		{name: "html/template through another package", pkg: "./cmd/tmpl", want: []string{"html/template"}},
		{name: "clean", pkg: "./cmd/clean"},
		{name: "recorded exceptions", pkg: "./cmd/rpc", ex: Exceptions{"synthetic": {"net/rpc": "measured", "html/template": "measured"}}},
		{name: "an exception covers only its entry", pkg: "./cmd/rpc", ex: Exceptions{"synthetic": {"net/rpc": "measured"}}, want: []string{"html/template"}},
		{name: "exception of another function does not apply", pkg: "./cmd/rpc", ex: Exceptions{"other": {"net/rpc": "why"}}, want: []string{"html/template", "net/rpc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps, err := Deps(ctx, mod, tt.pkg)
			require.NoError(t, err)
			got := Violations("synthetic", deps, tt.ex)
			// The module's own packages are also under the v1 prefix;
			// compare only what the case is about.
			var relevant []string
			for _, p := range got {
				if !strings.HasPrefix(p, "github.com/aws/aws-sdk-go/cmd/") && !strings.HasPrefix(p, "github.com/aws/aws-sdk-go/internal/") {
					relevant = append(relevant, p)
				}
			}
			assert.Equal(t, tt.want, relevant)
		})
	}
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name string
		deps []string
		ex   Exceptions
		want []string
	}{
		{name: "v2 SDK is not v1", deps: []string{"github.com/aws/aws-sdk-go-v2/aws", "github.com/aws/aws-sdk-go-v2/service/s3"}},
		{name: "v1 SDK packages", deps: []string{"fmt", "github.com/aws/aws-sdk-go/aws/session", "github.com/aws/aws-sdk-go/aws"},
			want: []string{"github.com/aws/aws-sdk-go/aws", "github.com/aws/aws-sdk-go/aws/session"}},
		{name: "v1 module root", deps: []string{"github.com/aws/aws-sdk-go"}, want: []string{"github.com/aws/aws-sdk-go"}},
		{name: "text/template is allowed", deps: []string{"text/template", "net/http"}},
		{name: "net/rpc/jsonrpc is not net/rpc", deps: []string{"net/rpc/jsonrpc"}},
		{name: "exception", deps: []string{"html/template"}, ex: Exceptions{"fn": {"html/template": "why"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Violations("fn", tt.deps, tt.ex))
		})
	}
}

func TestParseExceptions(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		want    Exceptions
		wantErr string
	}{
		{name: "none", md: "# Benchmarks\n\nno exceptions\n", want: Exceptions{}},
		{name: "one", md: "## Gate exceptions\n- gate exception: monitor github.com/aws/aws-sdk-go/: X-Ray pays here, see table\n",
			want: Exceptions{"monitor": {"github.com/aws/aws-sdk-go/": "X-Ray pays here, see table"}}},
		{name: "star bullet", md: "* gate exception: infer net/rpc: measured\n", want: Exceptions{"infer": {"net/rpc": "measured"}}},
		{name: "no reason", md: "- gate exception: infer net/rpc:\n", wantErr: "gives no reason"},
		{name: "indented example is a code block", md: "    - gate exception: <function> <entry>: <why>\n", want: Exceptions{}},
		{name: "not a forbidden entry", md: "- gate exception: infer fmt: because\n", wantErr: "not a forbidden entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExceptions([]byte(tt.md))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize([]string{"github.com/aws/aws-sdk-go/aws", "github.com/aws/aws-sdk-go/aws/session", "net/rpc"})
	assert.Equal(t, "github.com/aws/aws-sdk-go/ (2 packages), net/rpc (1 packages)", got)
}

func TestFunctions(t *testing.T) {
	root := moduleRoot(t)
	names, err := Functions(root)
	require.NoError(t, err)
	assert.Contains(t, names, "infer")
	_, err = Functions(t.TempDir())
	assert.Error(t, err)
}

func TestBudgetFor(t *testing.T) {
	assert.Equal(t, ProxyBudget, BudgetFor("infer"))
	assert.Equal(t, ControlPlaneBudget, BudgetFor("train"))
	assert.Equal(t, "9.0 MiB raw / 3.5 MiB zipped", ProxyBudget.String())
}
