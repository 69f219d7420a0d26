package lambdaemu

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
)

// fakeMetrics is a hand-written awsmetrics.Sink that records every datum.
type fakeMetrics struct {
	mu   sync.Mutex
	data []awsmetrics.Datum
	err  error
}

func (f *fakeMetrics) PutMetricData(data []awsmetrics.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, data...)
	return f.err
}

func (f *fakeMetrics) take() []awsmetrics.Datum {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.data
	f.data = nil
	return out
}

func TestFunctionMetrics(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		function string
		payload  string
		zero     bool // EchoFunction has reserved concurrency 0
		fault    *FunctionError
		faultErr error
		// wantCounts are the published Count metrics; wantDuration the
		// minimum Duration (-1: no Duration).
		wantCounts   map[string]float64
		wantDuration time.Duration
	}{
		{name: "success", function: "EchoFunction", payload: `{"sleepMs":20}`,
			wantCounts: map[string]float64{"Invocations": 1, "Errors": 0}, wantDuration: 20 * time.Millisecond},
		{name: "function error", function: "fail", payload: `{}`,
			wantCounts: map[string]float64{"Invocations": 1, "Errors": 1}},
		{name: "throttled by reserved concurrency", function: "EchoFunction", payload: `{}`, zero: true,
			wantCounts: map[string]float64{"Throttles": 1}, wantDuration: -1},
		{name: "injected crash", function: "EchoFunction", payload: `{}`, fault: &FunctionError{Type: "Runtime.ExitError", Message: "injected"},
			wantCounts: map[string]float64{"Invocations": 1, "Errors": 1}},
		{name: "injected throttle", function: "EchoFunction", payload: `{}`, faultErr: throttled("ConcurrentInvocationLimitExceeded"),
			wantCounts: map[string]float64{"Throttles": 1}, wantDuration: -1},
		{name: "injected service error", function: "EchoFunction", payload: `{}`, faultErr: serviceError("boom"), wantDuration: -1},
		{name: "unknown function", function: "nope", payload: `{}`, wantDuration: -1},
		{name: "payload that is not JSON", function: "EchoFunction", payload: `{`, wantDuration: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeMetrics{}
			clk := clock.NewManual(t0)
			h := newHarness(t, func(o *Options) {
				o.Metrics, o.Clock = sink, clk
				if tt.fault != nil || tt.faultErr != nil {
					o.Faults = func(context.Context, string, time.Duration) (*FunctionError, error) { return tt.fault, tt.faultErr }
				}
				if tt.zero {
					zero := 0
					for i := range o.Functions {
						if o.Functions[i].LogicalID == "EchoFunction" {
							o.Functions[i].ReservedConcurrency = &zero
						}
					}
				}
			})
			_, _ = h.svc.Invoke(context.Background(), tt.function, []byte(tt.payload))
			name := "localcloud-EchoFunction"
			if tt.function == "fail" {
				name = "fail"
			}
			counts := map[string]float64{}
			var duration *awsmetrics.Datum
			for _, d := range sink.take() {
				assert.Equal(t, "AWS/Lambda", d.Namespace)
				assert.Equal(t, []awsmetrics.Dimension{{Name: "FunctionName", Value: name}}, d.Dimensions)
				assert.True(t, t0.Equal(d.Timestamp), "timestamped on the emulator's clock")
				if d.MetricName == "Duration" {
					assert.Equal(t, "Milliseconds", d.Unit)
					duration = &d
					continue
				}
				assert.Equal(t, "Count", d.Unit, d.MetricName)
				_, dup := counts[d.MetricName]
				assert.False(t, dup, "%s published twice", d.MetricName)
				counts[d.MetricName] = d.Value
			}
			if len(tt.wantCounts) == 0 {
				assert.Empty(t, counts, "an invocation that did not run and was not throttled publishes nothing")
			} else {
				assert.Equal(t, tt.wantCounts, counts)
			}
			if tt.wantDuration < 0 {
				assert.Nil(t, duration)
				return
			}
			require.NotNil(t, duration)
			assert.GreaterOrEqual(t, duration.Value, float64(tt.wantDuration.Milliseconds()))
			assert.Less(t, duration.Value, 5000.0, "below the function's timeout")
		})
	}
}

func TestFunctionMetricsSinkFailureIsLogged(t *testing.T) {
	sink := &fakeMetrics{err: errors.New("disk full")}
	h := newHarness(t, func(o *Options) {
		o.Metrics = sink
		o.Faults = func(context.Context, string, time.Duration) (*FunctionError, error) {
			return nil, throttled("ConcurrentInvocationLimitExceeded")
		}
	})
	_, err := h.svc.Invoke(context.Background(), "EchoFunction", []byte(`{}`))
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "the caller gets the throttle, not the metrics failure")
	assert.Len(t, sink.take(), 1)
	assert.Contains(t, h.logs.String(), "[localcloud-EchoFunction] local cloud: publish AWS/Lambda metrics: disk full")
}
