package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e := New(&buf, "MLOps", func() time.Time { return at })

	require.NoError(t, e.Emit(
		[]Dimension{{"Endpoint", "churn"}, {"Variant", "AllTraffic"}},
		map[string]string{"requestId": "r-1"},
		Metric{"Latency", Milliseconds, 12.5}, Metric{"Errors", Count, 0},
	))

	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	want := map[string]any{
		"Endpoint": "churn", "Variant": "AllTraffic", "requestId": "r-1", "Latency": 12.5, "Errors": 0.0,
		"_aws": map[string]any{
			"Timestamp": float64(at.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "MLOps",
				"Dimensions": []any{[]any{"Endpoint", "Variant"}},
				"Metrics": []any{
					map[string]any{"Name": "Latency", "Unit": "Milliseconds"},
					map[string]any{"Name": "Errors", "Unit": "Count"},
				},
			}},
		},
	}
	assert.Equal(t, want, got)
	assert.Equal(t, byte('\n'), buf.Bytes()[buf.Len()-1], "one record per line")
}

func TestEmitRejectsNameClashAndSkipsEmpty(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "MLOps", time.Now)
	assert.NoError(t, e.Emit(nil, nil))
	assert.Zero(t, buf.Len())
	err := e.Emit([]Dimension{{"Endpoint", "x"}}, nil, Metric{"Endpoint", Count, 1})
	assert.ErrorContains(t, err, `"Endpoint"`)
	assert.Zero(t, buf.Len())
}
