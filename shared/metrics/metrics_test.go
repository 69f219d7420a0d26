package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
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

// TestEmitEncodesLikeEncodingJSON checks the hand-written encoder against
// encoding/json on awkward strings and numbers.
func TestEmitEncodesLikeEncodingJSON(t *testing.T) {
	tests := []struct {
		name  string
		value string
		num   float64
	}{
		{name: "plain", value: "churn-dev", num: 12.5},
		{name: "quotes and backslashes", value: `a"b\c`, num: 0},
		{name: "control characters", value: "tab\tnl\ncr\r\x00\x1f", num: -3},
		{name: "invalid utf-8", value: "bad\xff\xfebytes", num: 1e-7},
		{name: "line separators", value: "x\u2028y\u2029z", num: 1e21},
		{name: "non-ascii", value: "café ✓", num: 123456789.125},
		{name: "tiny negative", value: "", num: -4.2e-9},
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := New(&buf, "NS "+tt.value, func() time.Time { return at })
			require.NoError(t, e.Emit([]Dimension{{"Dim", tt.value}}, map[string]string{"prop": tt.value}, Metric{"M", Count, tt.num}))
			require.True(t, json.Valid(buf.Bytes()), buf.String())
			var got map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
			want, err := json.Marshal(map[string]any{"Dim": tt.value, "prop": tt.value, "M": tt.num,
				"_aws": map[string]any{"Timestamp": at.UnixMilli(), "CloudWatchMetrics": []any{map[string]any{
					"Namespace": "NS " + tt.value, "Dimensions": [][]string{{"Dim"}},
					"Metrics": []any{map[string]any{"Name": "M", "Unit": "Count"}}}}}})
			require.NoError(t, err)
			var wantMap map[string]any
			require.NoError(t, json.Unmarshal(want, &wantMap))
			assert.Equal(t, wantMap, got)
			// Same bytes for the string and the number as encoding/json.
			wantStr, _ := json.Marshal(tt.value)
			assert.Contains(t, buf.String(), `"Dim":`+string(wantStr))
			wantNum, _ := json.Marshal(tt.num)
			assert.Contains(t, buf.String(), `"M":`+string(wantNum))
		})
	}
}

func TestEmitEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "MLOps", time.Now)

	require.NoError(t, e.Emit([]Dimension{{"A", "dim"}, {"B", "b1"}, {"B", "b2"}}, map[string]string{"A": "prop"}, Metric{"M", "", 1}))
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got), buf.String())
	assert.Equal(t, "prop", got["A"], "a property replaces a dimension's value")
	assert.Equal(t, "b2", got["B"], "the last of a repeated dimension wins")
	assert.NotContains(t, buf.String(), `"Unit"`, "an empty unit is omitted")

	buf.Reset()
	assert.ErrorContains(t, e.Emit(nil, nil, Metric{"M", Count, 1}, Metric{"M", Count, 2}), `"M"`)
	assert.ErrorContains(t, e.Emit(nil, map[string]string{"M": "x"}, Metric{"M", Count, 1}), `"M"`)
	assert.ErrorContains(t, e.Emit(nil, nil, Metric{"_aws", Count, 1}), `"_aws"`)
	assert.ErrorContains(t, e.Emit(nil, nil, Metric{"NaN", Count, math.NaN()}), "unsupported value")
	assert.ErrorContains(t, e.Emit(nil, nil, Metric{"Inf", Count, math.Inf(1)}), "unsupported value")
	assert.Zero(t, buf.Len(), "a rejected record writes nothing")
}

func TestEmitWriteError(t *testing.T) {
	e := New(failingWriter{}, "MLOps", time.Now)
	assert.ErrorContains(t, e.Emit(nil, nil, Metric{"M", Count, 1}), "write EMF record")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

// TestEmitDoesNotAllocate keeps the per-invocation cost of metrics at zero
// allocations once warm (the inference function has an allocation budget).
func TestEmitDoesNotAllocate(t *testing.T) {
	e := New(io.Discard, "MLOps", time.Now)
	dims := []Dimension{{"EndpointName", "churn-dev"}, {"Variant", "champion"}}
	props := map[string]string{"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}
	allocs := testing.AllocsPerRun(100, func() {
		_ = e.Emit(dims, props, Metric{"Latency", Milliseconds, 12.5}, Metric{"Bytes", Bytes, 12})
	})
	assert.Zero(t, allocs)
}
