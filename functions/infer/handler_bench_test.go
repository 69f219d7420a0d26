package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/metrics"
)

// roundTripFunc is an http.RoundTripper in a func: the SDK's whole client
// side runs (serialisation, signing, retries, deserialisation) while no
// server runs in this process, so allocs/op counts the proxy and the SDK
// call only. (BenchmarkHandlePredict's httptest server allocates in the
// same process and is counted with it.)
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answerPrediction answers every InvokeEndpoint with predictionBody.
func answerPrediction(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header: http.Header{
			"Content-Type":                      csvContentType,
			"X-Amzn-Invoked-Production-Variant": championVariant,
		},
		ContentLength: int64(len(predictionBody)),
		Body:          io.NopCloser(strings.NewReader(predictionBody)),
		Request:       r,
	}, nil
}

// BenchmarkHandlePredictClientSide is one warm POST /v1/predictions with the
// real SDK client over an in-memory transport: the allocation budget of
// the proxy (<= 400 per warm invocation including the SDK call) is read
// from this benchmark (BENCHMARKS.md).
func BenchmarkHandlePredictClientSide(b *testing.B) {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 3,
		HTTPClient:       &http.Client{Transport: roundTripFunc(answerPrediction)},
	}
	h := NewHandler(Config{EndpointName: testEndpoint, MaxBodyBytes: DefaultMaxBodyBytes, InvokeTimeout: 5 * time.Second},
		sagemakerruntime.NewFromConfig(cfg), nil, metrics.New(io.Discard, "MLOps/bench", timeNow), discardLogger(), time.Now)
	ev := loadEvent(b, "infer-predict-csv.json")
	ctx, cancel := context.WithTimeout(context.Background(), 29*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, ev)
	require.NoError(b, err)
	require.Equal(b, 200, resp.StatusCode, resp.Body)
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h.Handle(ctx, ev); resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
