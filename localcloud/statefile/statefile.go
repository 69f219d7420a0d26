// Package statefile keeps the local cloud's emulator state in JSON files
// under the state directory, so a restarted local cloud finds its rules,
// queues, topics, runs, buckets and jobs again.
//
// Write replaces a file atomically: it writes a sibling "<name>.tmp" and
// renames it over the file, so a reader (or a local cloud started after a
// crash) sees the old state or the new one, never half of it. Read treats a
// missing file as "nothing stored yet".
//
// Write does not fsync. The state belongs to a development tool: the crash
// that matters is the process's, after which the kernel still writes what it
// was given, and an fsync per change (every SQS message) would slow every
// test and demo. A power loss may lose the last changes; the rename never
// leaves a torn file behind.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Read decodes the JSON file at path into v and reports whether the file
// exists. A missing file is not an error: v is left as it was. A file that
// cannot be read or is not JSON for v is an error naming the file.
func Read(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("parse %s: %w", path, err)
	}
	return true, nil
}

// Write stores v as indented JSON at path, creating the directory when
// needed, and replaces the previous file atomically. When it fails the
// previous file is unchanged and no temporary file is left behind.
func Write(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
