package eventpattern

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformancePath is the shared, AWS-recorded case file, found beside the
// repository (<repo>/../shared/conformance/). It is never copied into the
// repository.
func conformancePath(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	// This package lives at <repo>/localcloud/eventpattern.
	return filepath.Join(wd, "..", "..", "..", "shared", "conformance", "eventbridge-patterns.json")
}

// TestConformance checks every case recorded against AWS's TestEventPattern
// API: match, nomatch, or error (the pattern is rejected). It reports the
// pass ratio and fails on any mismatch.
func TestConformance(t *testing.T) {
	path := conformancePath(t)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("conformance data not present at %s (it lives outside the repository); skipping", path)
	}
	require.NoError(t, err)
	var file struct {
		Cases []struct {
			ID       string          `json:"id"`
			Family   string          `json:"family"`
			Expected string          `json:"expected"`
			Event    json.RawMessage `json:"event"`
			Pattern  json.RawMessage `json:"pattern"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(data, &file))
	require.NotEmpty(t, file.Cases)
	passed := 0
	for _, c := range file.Cases {
		ok := t.Run(c.ID, func(t *testing.T) {
			got := "error"
			p, err := Compile(c.Pattern)
			if err == nil {
				m, err := p.Match(c.Event)
				require.NoError(t, err)
				got = map[bool]string{true: "match", false: "nomatch"}[m]
			}
			assert.Equal(t, c.Expected, got, "family %s, pattern %s, compile error %v", c.Family, c.Pattern, err)
		})
		if ok {
			passed++
		}
	}
	t.Logf("conformance: %d/%d cases pass (%.1f%%)", passed, len(file.Cases), 100*float64(passed)/float64(len(file.Cases)))
}
