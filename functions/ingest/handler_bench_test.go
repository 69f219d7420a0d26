package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

// BenchmarkHandleObjectCreated is one warm invocation for an uploaded
// dataset: decode the EventBridge event, check it, name the execution and
// StartExecution on a hand-written fake, the EMF record. Run with
// scripts/bench.sh (benchmarks/results/go-bench.txt).
func BenchmarkHandleObjectCreated(b *testing.B) {
	f := &fakeSFN{}
	h := &Handler{
		SFN: f, Config: Config{StateMachineARN: testStateMachine, Rules: testRules},
		Log:     logging.New(io.Discard, "INFO"),
		Metrics: metrics.New(io.Discard, "MLOps/bench", func() time.Time { return testNow }),
		Now:     func() time.Time { return testNow },
	}
	raw := loadEvent(b, "ingest-object-created.json")
	ctx := context.Background()
	require.NoError(b, h.Handle(ctx, raw))
	require.Len(b, f.calls, 1, "the fixture must reach StartExecution")
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Handle(ctx, raw); err != nil {
			b.Fatal(err)
		}
		f.calls = f.calls[:0]
	}
}
