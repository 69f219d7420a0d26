package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

// secret is planted in every fake AWS error text; no response body may
// ever contain it.
const secret = "SECRET-AWS-TEXT-5f2c"

// fakeRuntime is a hand-written EndpointInvoker.
type fakeRuntime struct {
	mu    sync.Mutex
	calls []*sagemakerruntime.InvokeEndpointInput
	fn    func(ctx context.Context, in *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error)
}

func (f *fakeRuntime) InvokeEndpoint(ctx context.Context, in *sagemakerruntime.InvokeEndpointInput, _ ...func(*sagemakerruntime.Options)) (*sagemakerruntime.InvokeEndpointOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	return f.fn(ctx, in)
}

// fakeStatus is a hand-written StatusDescriber.
type fakeStatus struct {
	calls int
	names []string
	fn    func() (string, error)
}

func (f *fakeStatus) EndpointStatus(_ context.Context, name string) (string, error) {
	f.calls++
	f.names = append(f.names, name)
	return f.fn()
}

// fakeClock is an injected clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// testEnv holds a handler and what it wrote.
type testEnv struct {
	h       *Handler
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	clock   *fakeClock
}

const testEndpoint = "churn-dev"

func newTestEnv(t testing.TB, rt EndpointInvoker, st StatusDescriber, maxBody int) *testEnv {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	var logs, ms bytes.Buffer
	cfg := Config{EndpointName: testEndpoint, MaxBodyBytes: maxBody, InvokeTimeout: 2 * time.Second}
	h := NewHandler(cfg, rt, st, metrics.New(&ms, "MLOps/test", clock.now), logging.New(&logs, "DEBUG"), clock.now)
	return &testEnv{h: h, logs: &logs, metrics: &ms, clock: clock}
}

// loadEvent reads a fixture from events/.
func loadEvent(t testing.TB, name string) events.APIGatewayProxyRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	var ev events.APIGatewayProxyRequest
	require.NoError(t, json.Unmarshal(raw, &ev))
	return ev
}

// decodeError parses an error answer's body.
func decodeError(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), "error body must be JSON: %s", body)
	return m
}

// emfRecords parses the EMF lines the handler wrote.
func emfRecords(t testing.TB, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	return out
}

// discardLogger is a logger for benchmarks.
func discardLogger() *slog.Logger { return logging.New(io.Discard, "ERROR") }

// fakeEndpoint is an httptest server speaking the SageMaker Runtime wire
// protocol (restJson1) for InvokeEndpoint, so the real SDK client can be
// pointed at it.
type fakeEndpoint struct {
	srv *httptest.Server

	// quiet skips recording requests, so benchmarks count the handler's
	// and the SDK's allocations rather than the fake's bookkeeping.
	quiet bool

	mu sync.Mutex
	// answer, when set, replaces the default success answer.
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
	// last request seen
	lastPath    string
	lastHeaders http.Header
	lastBody    []byte
}

// predictionBody is what the fake model answers.
const predictionBody = "0.1873\n"

func newFakeEndpoint(t testing.TB) *fakeEndpoint {
	t.Helper()
	f := &fakeEndpoint{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Pre-built answer headers (canonical keys, shared slices).
var (
	csvContentType   = []string{"text/csv; charset=utf-8"}
	championVariant  = []string{"champion"}
	predictionLength = []string{strconv.Itoa(len(predictionBody))}
	awsRequestID     = []string{"7c3f0000-0000-4000-8000-000000000000"}
)

func (f *fakeEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if f.quiet {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = csvContentType
		h["X-Amzn-Invoked-Production-Variant"] = championVariant
		h["Content-Length"] = predictionLength
		h["X-Amzn-Requestid"] = awsRequestID
		_, _ = io.WriteString(w, predictionBody)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.lastPath, f.lastHeaders, f.lastBody = r.URL.Path, r.Header.Clone(), body
	answer := f.answer
	f.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/endpoints/") || !strings.HasSuffix(r.URL.Path, "/invocations") {
		writeAWSError(w, http.StatusNotFound, "UnknownOperationException", "no such operation")
		return
	}
	if answer != nil {
		answer(w, r, body)
		return
	}
	variant := r.Header.Get("X-Amzn-SageMaker-Target-Variant")
	if variant == "" {
		variant = "champion"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("x-Amzn-Invoked-Production-Variant", variant)
	w.Header().Set("X-Amzn-RequestId", "7c3f0000-0000-4000-8000-000000000000")
	w.Header().Set("Content-Length", strconv.Itoa(len(predictionBody)))
	_, _ = io.WriteString(w, predictionBody)
}

func (f *fakeEndpoint) setAnswer(a func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// writeAWSError writes a restJson1 error answer the way SageMaker does.
func writeAWSError(w http.ResponseWriter, status int, code, message string, extra ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.Header().Set("X-Amzn-RequestId", "7c3f0000-0000-4000-8000-000000000000")
	fields := `"message":` + strconv.Quote(message)
	for i := 0; i+1 < len(extra); i += 2 {
		fields += "," + strconv.Quote(extra[i]) + ":" + extra[i+1]
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "{"+fields+"}")
}

// config returns an aws.Config whose clients talk to the fake, with no
// retries so each test sees one call.
func (f *fakeEndpoint) config(maxAttempts int) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(f.srv.URL),
		RetryMaxAttempts: maxAttempts,
		HTTPClient:       f.srv.Client(),
	}
}

// timeNow is the real clock, for benchmarks.
func timeNow() time.Time { return time.Now() }

// discardMetrics is an emitter that writes nowhere.
func discardMetrics() *metrics.Emitter { return metrics.New(io.Discard, "MLOps/test", time.Now) }
