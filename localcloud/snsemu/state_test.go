package snsemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewRejectsCorruptTopics checks that a topics file that is not JSON
// stops the service, names the file and is left as it was.
func TestNewRejectsCorruptTopics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sns", "topics.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(`["arn:aws:sns`), 0o644))
	_, err := New(Options{StateDir: dir, Topics: []string{"t"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse "+path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `["arn:aws:sns`, string(data))
}
