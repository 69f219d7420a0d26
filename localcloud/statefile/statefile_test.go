package statefile

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type state struct {
	Seq   int64             `json:"seq"`
	Names map[string]string `json:"names"`
}

func TestRead(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, path string)
		wantFound bool
		want      state
		wantErr   string // with the path appended
	}{
		{name: "missing file is nothing stored", setup: func(*testing.T, string) {}, want: state{Seq: -1}},
		{name: "stored state", setup: write(`{"seq":7,"names":{"a":"b"}}`), wantFound: true, want: state{Seq: 7, Names: map[string]string{"a": "b"}}},
		{name: "not JSON names the file", setup: write(`{"seq":`), wantFound: true, want: state{Seq: -1}, wantErr: "parse "},
		{name: "wrong JSON type names the file", setup: write(`[1,2]`), wantFound: true, want: state{Seq: -1}, wantErr: "parse "},
		{name: "unreadable file names the file", setup: func(t *testing.T, path string) { require.NoError(t, os.Mkdir(path, 0o755)) },
			want: state{Seq: -1}, wantErr: "read "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			tt.setup(t, path)
			got := state{Seq: -1}
			found, err := Read(path, &got)
			assert.Equal(t, tt.wantFound, found, "found")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr+path)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, got, "value after Read")
		})
	}
}

func write(content string) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		t.Helper()
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
}

func TestWrite(t *testing.T) {
	previous := state{Seq: 1, Names: map[string]string{"old": "x"}}
	tests := []struct {
		name string
		// path is relative to a fresh directory holding previous at
		// "state.json".
		path    string
		setup   func(t *testing.T, dir string)
		value   any
		want    state
		wantErr string
	}{
		{name: "replaces the stored state", path: "state.json", value: state{Seq: 2, Names: map[string]string{"new": "y"}},
			want: state{Seq: 2, Names: map[string]string{"new": "y"}}},
		{name: "creates missing directories", path: "sub/dir/state.json", value: state{Seq: 3}, want: state{Seq: 3}},
		{name: "a value JSON cannot encode changes nothing", path: "state.json", value: map[string]float64{"x": math.NaN()},
			want: previous, wantErr: "encode "},
		{name: "a failed rename changes nothing and leaves no temporary file", path: "taken",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "taken", "child"), 0o755))
			},
			value: state{Seq: 4}, want: previous, wantErr: "replace "},
		{name: "a directory that cannot be created is an error", path: "state.json/inner.json", value: state{Seq: 5},
			want: previous, wantErr: "create "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stored := filepath.Join(dir, "state.json")
			require.NoError(t, Write(stored, previous))
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			path := filepath.Join(dir, tt.path)
			err := Write(path, tt.value)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				_, statErr := os.Stat(path + ".tmp")
				assert.Error(t, statErr, "temporary file left behind")
				stored = filepath.Join(dir, "state.json")
			} else {
				require.NoError(t, err)
				stored = path
			}
			var got state
			found, err := Read(stored, &got)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, tt.want, got)
			entries, err := os.ReadDir(filepath.Dir(stored))
			require.NoError(t, err)
			for _, e := range entries {
				assert.NotEqual(t, ".tmp", filepath.Ext(e.Name()), "temporary file %s left behind", e.Name())
			}
		})
	}
}

func TestWriteIsReadableJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	require.NoError(t, Write(path, []string{"b", "a"}))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `["b","a"]`, string(data))
}
