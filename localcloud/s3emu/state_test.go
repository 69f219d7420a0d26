package s3emu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewRejectsCorruptState checks that each state file the store keeps,
// when it is not JSON, stops the service, is named, and is left as it was.
func TestNewRejectsCorruptState(t *testing.T) {
	tests := []struct {
		name string
		file func(t *testing.T, root string) string
	}{
		{name: "notifications", file: func(_ *testing.T, root string) string { return filepath.Join(root, "notifications.json") }},
		{name: "bucket", file: func(_ *testing.T, root string) string { return filepath.Join(root, "raw-bucket", "bucket.json") }},
		{name: "object index", file: func(t *testing.T, root string) string {
			t.Helper()
			indexes, err := filepath.Glob(filepath.Join(root, "raw-bucket", "objects", "*", "index.json"))
			require.NoError(t, err)
			require.Len(t, indexes, 1)
			return indexes[0]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := newFixture(t, dir)
			_, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/a.csv"), Body: strings.NewReader("a,b\n")})
			require.NoError(t, err)
			path := tt.file(t, filepath.Join(dir, "s3"))
			require.FileExists(t, path)
			require.NoError(t, os.WriteFile(path, []byte("{"), 0o644))
			_, err = New(Options{StateDir: dir})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "parse "+path)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "{", string(data))
		})
	}
}
