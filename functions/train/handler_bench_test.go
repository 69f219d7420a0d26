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

// BenchmarkHandleStart is one warm "start" invocation: build the training
// job request from the prepared data and CreateTrainingJob on a
// hand-written fake, the EMF record.
func BenchmarkHandleStart(b *testing.B) {
	sm := &fakeSageMaker{}
	h, _, _ := newHandler(sm, nil)
	h.Log, h.Metrics = logging.New(io.Discard, "INFO"), metrics.New(io.Discard, "MLOps/bench", time.Now)
	req := loadRequest(b, "train-start.json")
	ctx := context.Background()
	_, err := h.Handle(ctx, req)
	require.NoError(b, err)
	require.Len(b, sm.creates, 1, "the fixture must reach CreateTrainingJob")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
		sm.creates = sm.creates[:0]
	}
}

// BenchmarkHandleStatus is one warm "status" poll (DescribeTrainingJob on
// the fake: in progress), what the state machine calls most often.
func BenchmarkHandleStatus(b *testing.B) {
	sm := &fakeSageMaker{}
	h, _, _ := newHandler(sm, nil)
	h.Log, h.Metrics = logging.New(io.Discard, "INFO"), metrics.New(io.Discard, "MLOps/bench", time.Now)
	req := loadRequest(b, "train-status.json")
	ctx := context.Background()
	_, err := h.Handle(ctx, req)
	require.NoError(b, err)
	require.Len(b, sm.describes, 1, "the fixture must reach DescribeTrainingJob")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
		sm.describes = sm.describes[:0]
	}
}
