package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/metrics"
)

// The benchmarks measure one warm invocation against an in-process fake
// endpoint with the real SDK client, and the same client calling the fake
// directly; the ratio of the two is the proxy's added cost
// (docs/inference.md). Run:
//
//	env -u AWS_CA_BUNDLE go test -run '^$' -bench . -benchmem ./functions/infer

// BenchmarkHandlePredict is one warm POST /v1/predictions: parsing,
// InvokeEndpoint through the SDK, the EMF record and the response.
func BenchmarkHandlePredict(b *testing.B) {
	fe := newFakeEndpoint(b)
	fe.quiet = true
	h := newWireHandler(fe, metrics.New(io.Discard, "MLOps/bench", timeNow))
	ev := loadEvent(b, "infer-predict-csv.json")
	ctx, cancel := lambdaContext()
	defer cancel()
	resp, err := h.Handle(ctx, ev)
	require.NoError(b, err)
	require.Equal(b, 200, resp.StatusCode, resp.Body)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if resp, _ := h.Handle(ctx, ev); resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkHandlePredictWithEventCodec adds what the Lambda runtime does
// around Handle: decoding the event JSON and encoding the response.
func BenchmarkHandlePredictWithEventCodec(b *testing.B) {
	fe := newFakeEndpoint(b)
	fe.quiet = true
	h := newWireHandler(fe, metrics.New(io.Discard, "MLOps/bench", timeNow))
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "infer-predict-csv.json"))
	require.NoError(b, err)
	ctx, cancel := lambdaContext()
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		resp, _ := h.Handle(ctx, ev)
		if _, err := json.Marshal(resp); err != nil || resp.StatusCode != 200 {
			b.Fatalf("status %d: %v", resp.StatusCode, err)
		}
	}
}

// BenchmarkDirectInvoke is the baseline: the same SDK client calling the
// same fake endpoint with the same request, with no proxy around it.
func BenchmarkDirectInvoke(b *testing.B) {
	fe := newFakeEndpoint(b)
	fe.quiet = true
	client := sagemakerruntime.NewFromConfig(fe.config(3))
	ev := loadEvent(b, "infer-predict-csv.json")
	body := []byte(ev.Body)
	in := &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String(testEndpoint),
		Body:         body,
		ContentType:  aws.String("text/csv"),
		InferenceId:  aws.String(ev.RequestContext.RequestID),
	}
	ctx, cancel := lambdaContext()
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.InvokeEndpoint(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// lambdaContext is a context like the one the Lambda runtime passes: it
// carries the invocation's deadline (API Gateway's 29 s at most).
func lambdaContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 29*time.Second)
}
