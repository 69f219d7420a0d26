package cloudwatchemu

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/metrics"
)

// BenchmarkIngestLog measures one EMF line from the shared emitter,
// parsed, stored and appended to the datapoint log.
func BenchmarkIngestLog(b *testing.B) {
	clk := clock.NewManual(t0)
	svc, err := New(Options{StateDir: b.TempDir(), Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	var buf bytes.Buffer
	em := metrics.New(&buf, "MLOps/dev", clk.Now)
	if err := em.Emit([]metrics.Dimension{{Name: "EndpointName", Value: "churn-dev"}}, map[string]string{"requestId": "r"},
		metrics.Metric{Name: "Latency", Unit: metrics.Milliseconds, Value: 12}); err != nil {
		b.Fatal(err)
	}
	line := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc.IngestLog(line)
	}
}

// BenchmarkEvaluateNow measures one evaluation of a 3-of-3 hourly alarm
// over a day of per-minute datapoints.
func BenchmarkEvaluateNow(b *testing.B) {
	clk := clock.NewManual(t0)
	svc, err := New(Options{StateDir: b.TempDir(), Clock: clk, Alarms: []Alarm{driftAlarm(MissingMissing, 3, 3)}})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	for m := 0; m < 24*60; m++ {
		if err := driftPoint(svc, t0.Add(time.Duration(m)*time.Minute), float64(m%7)/10); err != nil {
			b.Fatal(err)
		}
	}
	clk.Advance(24 * time.Hour)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := svc.EvaluateNow(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
