package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHeldOut(t *testing.T) {
	data := "tenure_months,monthly_charges,support_calls,plan,churned\n" +
		"1,120.00,6,basic,1\n" + // true probability ~1: the relationship predicts 1, right
		"70,20.00,0,premium,1\n" + // ~0: predicts 0, wrong
		"5,,1,standard,0\n" // missing value: left out
	rows, labels, optimal, err := heldOut([]byte(data))
	require.NoError(t, err)
	assert.Equal(t, []string{"1,120.00,6,0", "70,20.00,0,2"}, rows)
	assert.Equal(t, []int{1, 1}, labels)
	assert.InDelta(t, 0.5, optimal, 1e-9)

	for name, bad := range map[string]string{
		"unknown plan": "h\n1,2,3,gold,0\n",
		"text label":   "h\n1,2,3,basic,yes\n",
		"empty":        "",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, _, err := heldOut([]byte(bad))
			assert.Error(t, err)
		})
	}
}

func TestParsePredictions(t *testing.T) {
	tests := []struct {
		name, body string
		want       []float64
		wantErr    bool
	}{
		{"comma separated", "0.1,0.9,0.5", []float64{0.1, 0.9, 0.5}, false},
		{"one per line", "0.1\n0.9\n", []float64{0.1, 0.9}, false},
		{"an error document", `{"message":"no"}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePredictions([]byte(tt.body))
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFailureReason(t *testing.T) {
	note := `Execution arn:aws:states:us-east-1:123456789012:execution:m:e failed: {"Cause":"{\"detail\":\"FAILED\",\"reason\":\"prepare: error: 118 of 400 rows (29.5%) failed schema validation\",\"state\":\"FAILED\"}","Error":"PrepareFailed"}`
	assert.Equal(t, "prepare: error: 118 of 400 rows (29.5%) failed schema validation", failureReason(note))
	assert.Equal(t, "TrainingFailed: boom", failureReason(`Execution x failed: {"Cause":"boom","Error":"TrainingFailed"}`))
	assert.Equal(t, "something else", failureReason("something else"))
}

func TestCleanStateDirKeepsTheBuildCache(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"lambda/build/abc/bootstrap", "lambda/other/x", "s3/bucket/obj", "sns/outbox.jsonl"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644))
	}
	require.NoError(t, cleanStateDir(dir))
	var left []string
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, rel)
		}
		return err
	}))
	assert.Equal(t, []string{filepath.Join("lambda", "build", "abc", "bootstrap")}, left)
	assert.NoError(t, cleanStateDir(filepath.Join(dir, "missing")))
	assert.Error(t, cleanStateDir(""))
}
