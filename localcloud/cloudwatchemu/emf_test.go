package cloudwatchemu

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
)

func TestParseEMF(t *testing.T) {
	ts := t0.Add(time.Minute)
	line := func(members, directives string) []byte {
		return []byte(`{` + members + `"_aws":{"Timestamp":` + strconv.FormatInt(ts.UnixMilli(), 10) + `,"CloudWatchMetrics":[` + directives + `]}}`)
	}
	tests := []struct {
		name    string
		line    []byte
		want    []Datum
		wantErr string
	}{
		{
			name: "array values and two dimension sets",
			line: line(`"Service":"infer","Op":"predict","Latency":[10,20,30],`, `{"Namespace":"N","Dimensions":[["Service"],["Service","Op"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}`),
			want: []Datum{
				{Namespace: "N", MetricName: "Latency", Dimensions: []Dimension{{"Service", "infer"}}, Timestamp: ts, Unit: "Milliseconds", Values: []float64{10, 20, 30}},
				{Namespace: "N", MetricName: "Latency", Dimensions: []Dimension{{"Op", "predict"}, {"Service", "infer"}}, Timestamp: ts, Unit: "Milliseconds", Values: []float64{10, 20, 30}},
			},
		},
		{
			name: "empty dimension set and default unit",
			line: line(`"Count":1,`, `{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"Count"}]}`),
			want: []Datum{{Namespace: "N", MetricName: "Count", Timestamp: ts, Unit: "None", Values: []float64{1}}},
		},
		{
			name: "a metric without its member is skipped",
			line: line(`"A":1,`, `{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A"},{"Name":"B"}]}`),
			want: []Datum{{Namespace: "N", MetricName: "A", Timestamp: ts, Unit: "None", Values: []float64{1}}},
		},
		{name: "no namespace", line: line(`"A":1,`, `{"Dimensions":[],"Metrics":[{"Name":"A"}]}`), wantErr: "Namespace"},
		{name: "no dimensions member", line: line(`"A":1,`, `{"Namespace":"N","Metrics":[{"Name":"A"}]}`), wantErr: "Dimensions is required"},
		{name: "dimension member missing", line: line(`"A":1,`, `{"Namespace":"N","Dimensions":[["Svc"]],"Metrics":[{"Name":"A"}]}`), wantErr: `dimension "Svc"`},
		{name: "dimension member not a string", line: line(`"Svc":3,"A":1,`, `{"Namespace":"N","Dimensions":[["Svc"]],"Metrics":[{"Name":"A"}]}`), wantErr: "not a string"},
		{name: "unknown unit", line: line(`"A":1,`, `{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","Unit":"Furlongs"}]}`), wantErr: "unit"},
		{name: "value not a number", line: line(`"A":"1",`, `{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A"}]}`), wantErr: "not a number"},
		{name: "bad storage resolution", line: line(`"A":1,`, `{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A","StorageResolution":5}]}`), wantErr: "StorageResolution"},
		{name: "no timestamp", line: []byte(`{"A":1,"_aws":{"CloudWatchMetrics":[]}}`), wantErr: "Timestamp is required"},
		{name: "too old", line: []byte(`{"A":1,"_aws":{"Timestamp":1000,"CloudWatchMetrics":[]}}`), wantErr: "14 days"},
		{name: "not an object", line: []byte(`[1]`), wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEMF(tt.line, t0)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIngestLogDropsInvalidRecordsWhole(t *testing.T) {
	svc, _ := newService(t, t.TempDir(), clock.NewManual(t0))
	// The second directive is invalid: CloudWatch extracts nothing.
	svc.IngestLog([]byte(`{"A":1,"_aws":{"Timestamp":` + strconv.FormatInt(t0.UnixMilli(), 10) + `,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"A"}]},{"Dimensions":[],"Metrics":[]}]}}`))
	assert.Empty(t, svc.ListMetrics("", "", nil))
}

func TestRunEvaluatesEveryMinuteOnTheClock(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, events := newService(t, t.TempDir(), clk, driftAlarm(MissingNotBreaching, 1, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { return clk.Pending() > 0 }, 5*time.Second, time.Millisecond)
	clk.Advance(time.Minute)
	require.Eventually(t, func() bool { return len(events.all()) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, StateOK, state(t, svc, "mlops-dev-drift").StateValue)
}

func TestAlarmFromTemplateErrors(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"threshold not a number", map[string]any{"Threshold": "high"}, "Threshold"},
		{"anomaly detection property", map[string]any{"ThresholdMetricId": "ad1"}, "ThresholdMetricId"},
		{"missing metric", map[string]any{"EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}, "MetricName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AlarmFromTemplate("a", tt.props)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func FuzzParseEMF(f *testing.F) {
	f.Add([]byte(`{"A":[1,2],"S":"x","_aws":{"Timestamp":1795597200000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["S"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]}}`))
	f.Add([]byte(`{"_aws":{}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		data, err := ParseEMF(line, t0)
		if err != nil {
			return
		}
		for _, d := range data {
			if d.Namespace == "" || d.MetricName == "" || len(d.Values) == 0 || !units[d.Unit] {
				t.Fatalf("accepted an invalid datum %+v from %q", d, line)
			}
		}
	})
}
