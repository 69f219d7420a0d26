package main

import (
	"context"
	"io"
	"testing"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

// BenchmarkHandleStartUpdate is one warm "start" invocation of a later
// deployment: CreateModel, CreateEndpointConfig, DescribeEndpoint and a
// blue/green UpdateEndpoint with auto-rollback, on hand-written fakes.
func BenchmarkHandleStartUpdate(b *testing.B) {
	sm := &fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, oldConfig, "")}
	h, _, _ := newHandler(sm, &fakeS3{})
	h.Log = logging.New(io.Discard, "INFO")
	h.Metrics = metrics.New(io.Discard, "MLOps/bench", func() time.Time { return testNow })
	req := loadRequest(b, "deploy-start.json")
	ctx := context.Background()
	_, err := h.Handle(ctx, req)
	require.NoError(b, err)
	require.Len(b, sm.updates, 1, "the fixture must reach UpdateEndpoint")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
		sm.models, sm.configs, sm.describes, sm.creates, sm.updates = sm.models[:0], sm.configs[:0], sm.describes[:0], sm.creates[:0], sm.updates[:0]
	}
}
