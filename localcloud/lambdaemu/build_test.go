package lambdaemu

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// writeModule lays out a tiny stdlib-only module; files maps relative
// paths to contents.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/app\n\ngo 1.22\n"
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

const mainGo = "package main\n\nfunc main() { println(\"v1\") }\n"

func TestBuilderCachesUntilSourcesChange(t *testing.T) {
	mod := writeModule(t, map[string]string{
		"hello/main.go":      "package main\n\nimport _ \"example.com/app/lib\"\n\nfunc main() { println(\"v1\") }\n",
		"lib/lib.go":         "package lib\n",
		"lib/data/rules.txt": "a\n",
		"other/other.go":     "package other\n",
	})
	b := &Builder{Dir: t.TempDir()}
	fn := samtemplate.Function{LogicalID: "HelloFunction", Runtime: "provided.al2023", CodeURI: filepath.Join(mod, "hello")}

	first, err := b.Build(context.Background(), fn)
	require.NoError(t, err)
	st1, err := os.Stat(first)
	require.NoError(t, err)

	again, err := b.Build(context.Background(), fn)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	st2, _ := os.Stat(again)
	assert.Equal(t, st1.ModTime(), st2.ModTime(), "an unchanged function is not rebuilt")

	tests := []struct {
		name, file, body string
		rebuilds         bool
	}{
		{"a test file changes", "hello/main_test.go", "package main\n", false},
		{"a non-Go file changes", "README.md", "hi\n", false},
		{"a package it does not import changes", "other/other.go", "package other\n\nconst Y = 2\n", false},
		{"a package it imports changes", "lib/lib.go", "package lib\n\nconst X = 1\n", true},
		{"a file an imported package can embed changes", "lib/data/rules.txt", "b\n", true},
		{"the function's source changes", "hello/main.go", "package main\n\nimport _ \"example.com/app/lib\"\n\nfunc main() { println(\"v2\") }\n", true},
		{"go.sum appears", "go.sum", "", true},
	}
	prev := first
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(mod, tt.file), []byte(tt.body), 0o644))
			got, err := b.Build(context.Background(), fn)
			require.NoError(t, err)
			if tt.rebuilds {
				assert.NotEqual(t, prev, got)
			} else {
				assert.Equal(t, prev, got)
			}
			prev = got
		})
	}
}

func TestMainPackageDiscovery(t *testing.T) {
	mod := writeModule(t, map[string]string{
		"functions/ingest/main.go": mainGo,
		"cmd/other/main.go":        mainGo,
		"Makefile":                 "build-OtherFunction:\n\tGOOS=linux go build -o $(ARTIFACTS_DIR)/bootstrap ./cmd/other\n\nbuild-CdFunction:\n\tcd cmd/other && GOOS=linux go build -o $(ARTIFACTS_DIR)/bootstrap\n",
		"notmain/lib.go":           "package notmain\n",
		"nested/go.mod":            "module example.com/nested\n\ngo 1.22\n",
		"nested/main.go":           mainGo,
	})
	tests := []struct {
		name    string
		fn      samtemplate.Function
		wantPkg string
		wantMod string
		wantErr string
	}{
		{"makefile: literal recipe", samtemplate.Function{LogicalID: "OtherFunction", BuildMethod: "makefile", CodeURI: mod}, "cmd/other", ".", ""},
		{"makefile: recipe that cds into the package", samtemplate.Function{LogicalID: "CdFunction", BuildMethod: "makefile", CodeURI: mod}, "cmd/other", ".", ""},
		{"makefile: repository layout functions/<name>", samtemplate.Function{LogicalID: "IngestFunction", BuildMethod: "makefile", CodeURI: mod}, "functions/ingest", ".", ""},
		{"go1.x: CodeUri package", samtemplate.Function{LogicalID: "X", BuildMethod: "go1.x", Runtime: "go1.x", CodeURI: filepath.Join(mod, "cmd", "other")}, "cmd/other", ".", ""},
		{"go1.x: own go.mod under CodeUri", samtemplate.Function{LogicalID: "N", CodeURI: filepath.Join(mod, "nested")}, "nested", "nested", ""},
		{"makefile: nothing found", samtemplate.Function{LogicalID: "TrainFunction", BuildMethod: "makefile", CodeURI: mod}, "", "", "BuildMethod makefile: found no Go main package"},
		{"not a main package", samtemplate.Function{LogicalID: "L", CodeURI: filepath.Join(mod, "notmain")}, "", "", "holds no Go main package"},
		{"missing CodeUri", samtemplate.Function{LogicalID: "M"}, "", "", "no CodeUri"},
		{"CodeUri not a directory", samtemplate.Function{LogicalID: "M", CodeURI: filepath.Join(mod, "nope")}, "", "", "is not a directory"},
		{"python runtime", samtemplate.Function{LogicalID: "P", Runtime: "python3.12", CodeURI: mod}, "", "", `Runtime "python3.12" is not supported`},
		{"esbuild build method", samtemplate.Function{LogicalID: "E", BuildMethod: "esbuild", CodeURI: mod}, "", "", `BuildMethod "esbuild" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg, modDir, err := mainPackage(tt.fn)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), tt.fn.LogicalID, "the error names the function")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(mod, tt.wantPkg), pkg)
			assert.Equal(t, filepath.Join(mod, tt.wantMod), modDir)
		})
	}
}

func TestBuildErrorShowsCompilerOutput(t *testing.T) {
	mod := writeModule(t, map[string]string{"bad/main.go": "package main\n\nfunc main() { undefinedThing() }\n"})
	b := &Builder{Dir: t.TempDir()}
	_, err := b.Build(context.Background(), samtemplate.Function{LogicalID: "BadFunction", CodeURI: filepath.Join(mod, "bad")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "function BadFunction: go build")
	assert.Contains(t, err.Error(), "undefined: undefinedThing")
}
