package sagemakeremu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/syncbuf"
	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
)

// fakeMetrics is a hand-written awsmetrics.Sink that records every call.
type fakeMetrics struct {
	mu    sync.Mutex
	calls [][]awsmetrics.Datum
	err   error
}

func (f *fakeMetrics) PutMetricData(data []awsmetrics.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]awsmetrics.Datum(nil), data...))
	return f.err
}

func (f *fakeMetrics) take() [][]awsmetrics.Datum {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// noStore is an ObjectStore the metrics tests never reach.
type noStore struct{}

func (noStore) GetObject(context.Context, string, string) (io.ReadCloser, error) {
	return nil, errors.New("no store in this test")
}
func (noStore) PutObject(context.Context, string, string, io.Reader) error {
	return errors.New("no store in this test")
}
func (noStore) List(context.Context, string, string) ([]string, error) {
	return nil, errors.New("no store in this test")
}

// modelFunc is a fake model server: the request body picks the answer.
func modelFunc(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch string(body) {
	case "slow":
		time.Sleep(30 * time.Millisecond)
		_, _ = w.Write([]byte("0.5"))
	case "bad":
		http.Error(w, "unparseable row", http.StatusBadRequest)
	case "boom":
		http.Error(w, "model crashed", http.StatusInternalServerError)
	default:
		_, _ = w.Write([]byte("0.1"))
	}
}

// serveFleet makes endpoint name serve variants from the given model
// server URLs, without Python: the test plays the model containers.
// Endpoints are removed at cleanup, before Close (whose stop would signal
// the processes these fake servers do not have).
func serveFleet(t *testing.T, svc *Service, name string, servers map[string]*modelServer) {
	t.Helper()
	spec := &fleetSpec{ConfigName: name + "-config"}
	for v := range servers {
		spec.Variants = append(spec.Variants, variantSpec{Name: v, Weight: 1})
	}
	svc.mu.Lock()
	svc.endpoints[name] = &endpoint{Name: name, Status: epInService, serving: &fleet{spec: spec, servers: servers}}
	svc.mu.Unlock()
	t.Cleanup(func() {
		svc.mu.Lock()
		delete(svc.endpoints, name)
		svc.mu.Unlock()
	})
}

func fakeServer(url string, client *http.Client) *modelServer {
	return &modelServer{url: url, client: client, exited: make(chan struct{})}
}

func TestInvocationMetrics(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	sink := &fakeMetrics{}
	logs := &syncbuf.Buffer{}
	svc, err := New(Options{StateDir: t.TempDir(), Store: noStore{}, Clock: clk, Metrics: sink, Seed: 1,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Timings: Timings{CaptureFlush: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })

	model := httptest.NewServer(http.HandlerFunc(modelFunc))
	t.Cleanup(model.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close() // connections are refused
	dead := fakeServer(model.URL, model.Client())
	close(dead.exited)
	serveFleet(t, svc, "churn", map[string]*modelServer{"AllTraffic": fakeServer(model.URL, model.Client())})
	serveFleet(t, svc, "broken", map[string]*modelServer{"Dead": dead, "Unreachable": fakeServer(goneURL, model.Client())})

	rtSrv := httptest.NewServer(svc.RuntimeHandler())
	t.Cleanup(rtSrv.Close)
	rt := sagemakerruntime.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(rtSrv.URL), RetryMaxAttempts: 1})

	dims := func(ep, variant string) []awsmetrics.Dimension {
		return []awsmetrics.Dimension{{Name: "EndpointName", Value: ep}, {Name: "VariantName", Value: variant}}
	}
	tests := []struct {
		name      string
		endpoint  string
		variant   string
		body      string
		wantErr   string
		want4XX   float64
		want5XX   float64
		latencies bool
		minModel  time.Duration
	}{
		{name: "success", endpoint: "churn", body: "1,2,3,4", latencies: true},
		{name: "slow model", endpoint: "churn", body: "slow", latencies: true, minModel: 30 * time.Millisecond},
		{name: "model answers 4xx", endpoint: "churn", body: "bad", wantErr: "ModelError", want4XX: 1, latencies: true},
		{name: "model answers 5xx", endpoint: "churn", body: "boom", wantErr: "ModelError", want5XX: 1, latencies: true},
		{name: "model server down", endpoint: "broken", variant: "Dead", body: "x", wantErr: "ModelError", want5XX: 1},
		{name: "model server unreachable", endpoint: "broken", variant: "Unreachable", body: "x", wantErr: "ModelError", want5XX: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(time.Duration(i+1) * time.Second)
			at := clk.Now()
			in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(tt.endpoint), ContentType: aws.String("text/csv"), Body: []byte(tt.body)}
			if tt.variant != "" {
				in.TargetVariant = aws.String(tt.variant)
			}
			_, err := rt.InvokeEndpoint(context.Background(), in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			calls := sink.take()
			require.Len(t, calls, 1, "one PutMetricData per call, before the answer")
			got := map[string]awsmetrics.Datum{}
			for _, d := range calls[0] {
				assert.Equal(t, "AWS/SageMaker", d.Namespace)
				assert.Equal(t, dims(tt.endpoint, firstNonEmpty(tt.variant, "AllTraffic")), d.Dimensions, d.MetricName)
				assert.True(t, at.Equal(d.Timestamp), "%s timestamped %s, want the emulator's clock %s", d.MetricName, d.Timestamp, at)
				got[d.MetricName] = d
			}
			assert.Equal(t, awsmetrics.Datum{Namespace: "AWS/SageMaker", MetricName: "Invocations", Dimensions: got["Invocations"].Dimensions, Timestamp: at, Unit: "None", Value: 1}, got["Invocations"])
			assert.Equal(t, tt.want4XX, got["Invocation4XXErrors"].Value)
			assert.Equal(t, "None", got["Invocation4XXErrors"].Unit)
			assert.Equal(t, tt.want5XX, got["Invocation5XXErrors"].Value)
			assert.Equal(t, "None", got["Invocation5XXErrors"].Unit)
			model, hasModel := got["ModelLatency"]
			overhead, hasOverhead := got["OverheadLatency"]
			if !tt.latencies {
				assert.Len(t, got, 3, "no latency without a model answer")
				assert.False(t, hasModel || hasOverhead)
				return
			}
			require.Len(t, got, 5)
			require.True(t, hasModel && hasOverhead)
			assert.Equal(t, "Microseconds", model.Unit)
			assert.Equal(t, "Microseconds", overhead.Unit)
			assert.Positive(t, model.Value)
			assert.GreaterOrEqual(t, model.Value, float64(tt.minModel.Microseconds()))
			assert.Less(t, model.Value, float64((5 * time.Second).Microseconds()))
			assert.GreaterOrEqual(t, overhead.Value, 0.0)
			assert.Less(t, overhead.Value, float64((5 * time.Second).Microseconds()))
		})
	}

	t.Run("calls routed to no variant publish nothing", func(t *testing.T) {
		for _, in := range []*sagemakerruntime.InvokeEndpointInput{
			{EndpointName: aws.String("nope"), Body: []byte("x")},
			{EndpointName: aws.String("churn"), TargetVariant: aws.String("Nope"), Body: []byte("x")},
			{EndpointName: aws.String("churn"), Body: bytes.Repeat([]byte("x"), maxInvokeBytes+1)},
		} {
			_, err := rt.InvokeEndpoint(context.Background(), in)
			require.ErrorContains(t, err, "ValidationError")
		}
		assert.Empty(t, sink.take())
	})

	t.Run("a failing sink is logged and the call still succeeds", func(t *testing.T) {
		sink.mu.Lock()
		sink.err = errors.New("disk full")
		sink.mu.Unlock()
		out, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("churn"), Body: []byte("1")})
		require.NoError(t, err)
		assert.Equal(t, "0.1", string(out.Body))
		assert.Len(t, sink.take(), 1)
		assert.Contains(t, logs.String(), "publish endpoint invocation metrics")
		assert.Contains(t, logs.String(), "disk full")
	})
}

func TestInvocationMetricsDisabled(t *testing.T) {
	svc, err := New(Options{StateDir: t.TempDir(), Store: noStore{}, Clock: clock.NewManual(time.Now()), Timings: Timings{CaptureFlush: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Close()) })
	model := httptest.NewServer(http.HandlerFunc(modelFunc))
	t.Cleanup(model.Close)
	serveFleet(t, svc, "churn", map[string]*modelServer{"AllTraffic": fakeServer(model.URL, model.Client())})
	rec := httptest.NewRecorder()
	svc.RuntimeHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/endpoints/churn/invocations", strings.NewReader("1")))
	assert.Equal(t, http.StatusOK, rec.Code, "without a sink the call is served as before")
	assert.Equal(t, "0.1", rec.Body.String())
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
