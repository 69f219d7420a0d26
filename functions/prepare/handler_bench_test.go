package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

// BenchmarkHandleStart is one warm "start" invocation: list the job's runs
// (two pages on a hand-written fake), find none for this execution, start
// one, the EMF record.
func BenchmarkHandleStart(b *testing.B) {
	f := &fakeGlue{pages: []glue.GetJobRunsOutput{
		{JobRuns: []gluetypes.JobRun{run("jr_a", "other-execution")}, NextToken: aws.String("1")},
		{JobRuns: []gluetypes.JobRun{run("jr_b", "another-execution")}},
	}}
	h, _, _ := newHandler(b, f)
	h.Log, h.Metrics = logging.New(io.Discard, "INFO"), metrics.New(io.Discard, "MLOps/bench", time.Now)
	req := loadRequest(b, "prepare-start.json")
	ctx := context.Background()
	_, err := h.Handle(ctx, req)
	require.NoError(b, err)
	require.Len(b, f.starts, 1, "the fixture must reach StartJobRun")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
		f.starts, f.listCalls = f.starts[:0], f.listCalls[:0]
	}
}
