package glueemu

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewRejectsCorruptRuns checks that a runs file that is not JSON stops
// the service, names the file and is left as it was.
func TestNewRejectsCorruptRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "glue", "runs.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(`{"not":"a list"}`), 0o644))
	_, err := New(Options{StateDir: dir, Output: io.Discard})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse "+path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `{"not":"a list"}`, string(data))
}
