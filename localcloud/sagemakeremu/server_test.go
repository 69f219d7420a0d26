package sagemakeremu

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartServerFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
		return p
	}
	tests := []struct {
		name    string
		python  string
		wantErr string
	}{
		{name: "interpreter missing", python: filepath.Join(dir, "nope"), wantErr: "cannot import xgboost (install the Debian package python3-xgboost"},
		{name: "xgboost missing", python: script("no-xgboost", `echo "ModuleNotFoundError: No module named 'xgboost'" >&2; exit 1`), wantErr: "cannot import xgboost (install the Debian package python3-xgboost"},
		{name: "model does not load", python: script("bad-model", `echo "cannot load the model: bad magic" >&2; exit 2`), wantErr: "model server did not start: cannot load the model: bad magic"},
		{name: "bad port line", python: script("bad-port", `echo "hello"; exit 0`), wantErr: "model server did not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{opts: Options{Python: tt.python}, log: slog.New(slog.DiscardHandler), algoDir: dir}
			srv, err := s.startServer(context.Background(), "ep", "AllTraffic", dir)
			assert.Nil(t, srv)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestAlgorithmScripts runs train.py's and serve.py's own unittest tests
// with the interpreter the emulator uses.
func TestAlgorithmScripts(t *testing.T) {
	requirePython(t)
	cmd := exec.Command(python, "-B", "-m", "unittest", "-q", "test_train", "test_serve")
	cmd.Dir = "algo"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "OK")
}
