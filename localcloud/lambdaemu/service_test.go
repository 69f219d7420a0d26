package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/syncbuf"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// stateDir is shared by the package's tests so each test function binary
// is built once.
var stateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaemu-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stateDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type delivery struct {
	arn  string
	body []byte
}

// fakeDestinations records what the service delivers.
type fakeDestinations struct{ ch chan delivery }

func (f *fakeDestinations) send(_ context.Context, arn string, body []byte) error {
	f.ch <- delivery{arn, append([]byte(nil), body...)}
	return nil
}

func (f *fakeDestinations) next(t *testing.T, within time.Duration) delivery {
	t.Helper()
	select {
	case d := <-f.ch:
		return d
	case <-time.After(within):
		t.Fatalf("no delivery within %s", within)
		return delivery{}
	}
}

type harness struct {
	svc  *Service
	tpl  *samtemplate.Template
	logs *syncbuf.Buffer
	dest *fakeDestinations
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join("testdata", "template.yaml"), samtemplate.Options{})
	require.NoError(t, err)
	fns, err := tpl.Functions()
	require.NoError(t, err)
	h := &harness{tpl: tpl, logs: &syncbuf.Buffer{}, dest: &fakeDestinations{ch: make(chan delivery, 16)}}
	opts := Options{Functions: fns, StateDir: stateDir, Logs: h.logs, Destination: h.dest.send, Endpoint: "http://127.0.0.1:4566"}
	if mod != nil {
		mod(&opts)
	}
	h.svc, err = New(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, h.svc.Close())
		if t.Failed() {
			t.Logf("function logs:\n%s", h.logs.String())
		}
	})
	return h
}

type echoResponse struct {
	Event       json.RawMessage   `json:"event"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	RemainingMs int64             `json:"remainingMs"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func (h *harness) echo(t *testing.T, fn string, event string) (echoResponse, *InvokeOutput) {
	t.Helper()
	out, err := h.svc.InvokeFunction(context.Background(), InvokeInput{Function: fn, Payload: []byte(event)})
	require.NoError(t, err)
	require.Nil(t, out.FunctionError, "payload: %s", out.Payload)
	var r echoResponse
	require.NoError(t, json.Unmarshal(out.Payload, &r), "payload: %s", out.Payload)
	return r, out
}

func TestInvokeRunsTheBinaryBehindTheRuntimeAPI(t *testing.T) {
	h := newHarness(t, nil)
	fn, err := h.tpl.Function("EchoFunction")
	require.NoError(t, err)

	r, out := h.echo(t, "EchoFunction", `{"hello":"world","log":"a log line"}`)
	assert.JSONEq(t, `{"hello":"world","log":"a log line"}`, string(r.Event))
	assert.Equal(t, out.RequestID, r.RequestID, "Lambda-Runtime-Aws-Request-Id reaches the handler")
	assert.Equal(t, fn.ARN, r.FunctionARN, "Lambda-Runtime-Invoked-Function-Arn reaches the handler")
	assert.InDelta(t, 5000, r.RemainingMs, 1500, "Lambda-Runtime-Deadline-Ms is now + Timeout")
	assert.True(t, out.Cold)
	assert.Positive(t, out.InitDuration)

	env := r.Env
	assert.Equal(t, fn.Name, env["AWS_LAMBDA_FUNCTION_NAME"])
	assert.Equal(t, "256", env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
	assert.Equal(t, "$LATEST", env["AWS_LAMBDA_FUNCTION_VERSION"])
	assert.Equal(t, "/aws/lambda/"+fn.Name, env["AWS_LAMBDA_LOG_GROUP_NAME"])
	assert.Regexp(t, `^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`, env["AWS_LAMBDA_LOG_STREAM_NAME"])
	assert.Equal(t, "us-east-1", env["AWS_REGION"])
	assert.Equal(t, "us-east-1", env["AWS_DEFAULT_REGION"])
	assert.Equal(t, "bootstrap", env["_HANDLER"])
	assert.NotEmpty(t, env["AWS_ACCESS_KEY_ID"])
	assert.NotEmpty(t, env["AWS_SECRET_ACCESS_KEY"])
	assert.NotEmpty(t, env["AWS_SESSION_TOKEN"])
	assert.Equal(t, "http://127.0.0.1:4566", env["AWS_ENDPOINT_URL"])
	assert.Equal(t, "hello", env["GREETING"], "template variables from Globals")
	assert.Contains(t, env["_X_AMZN_TRACE_ID"], "Root=1-", "Lambda-Runtime-Trace-Id reaches the handler")

	logs := h.logs.String()
	prefix := "[" + fn.Name + "] "
	assert.Contains(t, logs, prefix+"START RequestId: "+out.RequestID+" Version: $LATEST")
	assert.Contains(t, logs, prefix+"a log line")
	assert.Contains(t, logs, prefix+"REPORT RequestId: "+out.RequestID)
	assert.Contains(t, out.Log, "a log line", "the invocation's own log tail")
	assert.Contains(t, out.Log, "Init Duration:", "a cold start reports its init")
}

func TestWarmProcessIsReused(t *testing.T) {
	h := newHarness(t, nil)
	first, out1 := h.echo(t, "EchoFunction", `{}`)
	second, out2 := h.echo(t, "localcloud-EchoFunction", `{}`)
	assert.True(t, out1.Cold)
	assert.False(t, out2.Cold)
	assert.Equal(t, first.PID, second.PID)
	assert.NotEqual(t, out1.RequestID, out2.RequestID)
}

func TestFunctionFailures(t *testing.T) {
	tests := []struct {
		name        string
		function    string
		event       string
		wantType    string
		wantMessage string
		wantLog     string
		recovers    bool // the next invocation runs on a new, healthy process
	}{
		{name: "exceeds its timeout", function: "SlowFunction", event: `{"sleepMs":3000}`,
			wantType: "Sandbox.Timedout", wantMessage: "Task timed out after 1.00 seconds", wantLog: "Status: timeout", recovers: true},
		{name: "crashes mid-invocation", function: "CrashFunction", event: `{}`,
			wantType: "Runtime.ExitError", wantMessage: "Runtime exited with error: exit status 3", wantLog: "about to crash"},
		{name: "fails at init by exiting", function: "InitFailFunction", event: `{}`,
			wantType: "Runtime.ExitError", wantMessage: "Runtime exited with error: exit status 1", wantLog: "REQUIRED_SETTING is missing"},
		{name: "fails at init through /init/error", function: "InitReportFunction", event: `{}`,
			wantType: "Runtime.ConfigError", wantMessage: "config: REQUIRED_SETTING is missing", wantLog: "Status: error"},
		{name: "handler returns an error", function: "fail", event: `{"x":1}`,
			wantType: "PermanentError", wantMessage: `bad input: {"x":1}`},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := h.svc.InvokeFunction(context.Background(), InvokeInput{Function: tt.function, Payload: []byte(tt.event)})
			require.NoError(t, err)
			require.NotNil(t, out.FunctionError, "payload: %s", out.Payload)
			assert.Equal(t, tt.wantType, out.FunctionError.ErrorType())
			assert.Contains(t, out.FunctionError.ErrorMessage(), tt.wantMessage)
			var doc struct{ ErrorType, ErrorMessage string }
			require.NoError(t, json.Unmarshal(out.Payload, &doc), "the payload is Lambda's error document")
			assert.Equal(t, tt.wantType, doc.ErrorType)
			assert.Contains(t, doc.ErrorMessage, tt.wantMessage)
			_, err = h.svc.Invoke(context.Background(), tt.function, []byte(tt.event))
			var fe *FunctionError
			require.ErrorAs(t, err, &fe, "Invoke returns function failures as *FunctionError")
			if tt.wantLog != "" {
				assert.Contains(t, h.logs.String(), tt.wantLog)
			}
			if tt.function == "SlowFunction" {
				assert.Less(t, time.Since(start), 5*time.Second, "the timeout is enforced, not waited out")
			}
			if tt.recovers {
				r, out := h.echo(t, tt.function, `{"sleepMs":0}`)
				assert.True(t, out.Cold, "the timed-out process was replaced")
				assert.NotZero(t, r.PID)
			}
		})
	}
}

func TestConcurrentInvocations(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.svc.Build())
	const n = 20
	var wg sync.WaitGroup
	pids := make([]int, n)
	errs := make([]error, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := h.svc.Invoke(context.Background(), "EchoFunction", []byte(fmt.Sprintf(`{"sleepMs":500,"i":%d}`, i)))
			if err != nil {
				errs[i] = err
				return
			}
			var r echoResponse
			errs[i] = json.Unmarshal(out, &r)
			if string(r.Event) != fmt.Sprintf(`{"sleepMs":500,"i":%d}`, i) {
				errs[i] = fmt.Errorf("invocation %d got the event %s", i, r.Event)
			}
			pids[i] = r.PID
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, err := range errs {
		assert.NoError(t, err, "invocation %d", i)
	}
	distinct := map[int]bool{}
	for _, p := range pids {
		distinct[p] = true
	}
	assert.Len(t, distinct, n, "each concurrent invocation gets its own process")
	assert.Less(t, elapsed, 7*time.Second, "20 x 500 ms ran concurrently (serially it takes 10 s)")

	// Warm afterwards: 20 more reuse the 20 processes.
	before := len(distinct)
	for i := 0; i < 5; i++ {
		r, out := h.echo(t, "EchoFunction", `{}`)
		assert.False(t, out.Cold)
		assert.True(t, distinct[r.PID])
	}
	assert.Equal(t, before, len(distinct))
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.svc.Build())
	const n = 8
	type result struct {
		start, end time.Time
		err        error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := time.Now()
			_, err := h.svc.Invoke(context.Background(), "SerialFunction", []byte(`{"sleepMs":700}`))
			results[i] = result{s, time.Now(), err}
		}(i)
	}
	wg.Wait()
	var ok []result
	throttled := 0
	for _, r := range results {
		if r.err == nil {
			ok = append(ok, r)
			continue
		}
		var apiErr *APIError
		require.ErrorAs(t, r.err, &apiErr)
		assert.Equal(t, 429, apiErr.Status)
		assert.Equal(t, "TooManyRequestsException", apiErr.Code)
		assert.Equal(t, "Rate Exceeded.", apiErr.Message)
		assert.Equal(t, "ReservedFunctionConcurrentInvocationLimitExceeded", apiErr.Reason)
		throttled++
	}
	assert.GreaterOrEqual(t, len(ok), 1)
	assert.GreaterOrEqual(t, throttled, 1)
	for i := range ok {
		for j := range ok {
			if i != j {
				overlap := ok[i].start.Before(ok[j].end) && ok[j].start.Before(ok[i].end)
				assert.False(t, overlap, "two invocations ran at once with reserved concurrency 1")
			}
		}
	}
	// Once the slot is free again, the function runs.
	_, err := h.svc.Invoke(context.Background(), "SerialFunction", []byte(`{}`))
	assert.NoError(t, err)
}

// TestBackToBackCallsFindTheSlotFree: a caller that invokes again as soon
// as it has its answer is never throttled by its own previous invocation.
func TestBackToBackCallsFindTheSlotFree(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.svc.Build())
	for i := 0; i < 200; i++ {
		_, err := h.svc.Invoke(context.Background(), "SerialFunction", []byte(`{}`))
		require.NoError(t, err, "call %d", i)
	}
}

func TestZeroReservedConcurrencyAlwaysThrottles(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		zero := 0
		for i := range o.Functions {
			if o.Functions[i].LogicalID == "EchoFunction" {
				o.Functions[i].ReservedConcurrency = &zero
			}
		}
	})
	_, err := h.svc.Invoke(context.Background(), "EchoFunction", []byte(`{}`))
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "TooManyRequestsException", apiErr.Code)
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, function, payload string
		wantStatus              int
		wantCode, wantMessage   string
	}{
		{"unknown function name", "nope", `{}`, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{"unknown function ARN", "arn:aws:lambda:us-east-1:123456789012:function:nope", `{}`, 404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{"unknown qualifier", "EchoFunction:prod", `{}`, 404, "ResourceNotFoundException", "function:localcloud-EchoFunction:prod"},
		{"malformed event", "EchoFunction", `{"a":`, 400, "InvalidRequestContentException", "Could not parse request body into json"},
		{"event that is not JSON", "EchoFunction", `hello`, 400, "InvalidRequestContentException", "Could not parse request body into json"},
		{"event over 6 MB", "EchoFunction", `"` + strings.Repeat("x", 6*1024*1024) + `"`, 413, "RequestTooLargeException", "Request must be smaller than"},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.Invoke(context.Background(), tt.function, []byte(tt.payload))
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantStatus, apiErr.Status)
			assert.Equal(t, tt.wantCode, apiErr.ErrorCode())
			assert.Contains(t, apiErr.ErrorMessage(), tt.wantMessage)
		})
	}
	assert.NotContains(t, h.logs.String(), "START", "no function ran")
}

func TestEventInvocationSuccessGoesToOnSuccess(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.svc.InvokeAsync(context.Background(), "EchoFunction", []byte(`{"async":true}`)))
	d := h.dest.next(t, 30*time.Second)
	assert.Equal(t, h.tpl.ARN("Successes"), d.arn)
	var rec struct {
		RequestContext struct {
			Condition              string
			FunctionArn            string
			ApproximateInvokeCount int
		}
		RequestPayload  json.RawMessage
		ResponsePayload echoResponse
	}
	require.NoError(t, json.Unmarshal(d.body, &rec))
	assert.Equal(t, "Success", rec.RequestContext.Condition)
	assert.Equal(t, h.tpl.ARN("EchoFunction")+":$LATEST", rec.RequestContext.FunctionArn)
	assert.Equal(t, 1, rec.RequestContext.ApproximateInvokeCount)
	assert.JSONEq(t, `{"async":true}`, string(rec.RequestPayload))
	assert.JSONEq(t, `{"async":true}`, string(rec.ResponsePayload.Event))
}

func TestEventInvocationRetriesThenFails(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	h := newHarness(t, func(o *Options) { o.Clock = clk })
	require.NoError(t, h.svc.InvokeAsync(context.Background(), "fail", []byte(`{"n":7}`)))

	got := map[string][]byte{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		select {
		case d := <-h.dest.ch:
			got[d.arn] = d.body
		case <-time.After(20 * time.Millisecond):
			clk.AdvanceToNext() // fast-forward the one-minute retry delay
		}
	}
	require.Len(t, got, 2, "an OnFailure record and a DLQ message")
	assert.JSONEq(t, `{"n":7}`, string(got[h.tpl.ARN("Dead")]), "the DLQ gets the original event")
	var rec struct {
		RequestContext struct {
			Condition              string
			ApproximateInvokeCount int
		}
		ResponseContext struct{ FunctionError string }
		ResponsePayload struct{ ErrorType string }
	}
	require.NoError(t, json.Unmarshal(got[h.tpl.ARN("Failures")], &rec))
	assert.Equal(t, "RetriesExhausted", rec.RequestContext.Condition)
	assert.Equal(t, 2, rec.RequestContext.ApproximateInvokeCount, "MaximumRetryAttempts 1 = two attempts")
	assert.Equal(t, "Unhandled", rec.ResponseContext.FunctionError)
	assert.Equal(t, "PermanentError", rec.ResponsePayload.ErrorType)
	assert.GreaterOrEqual(t, clk.Now().Sub(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)), time.Minute, "the retry waited a minute of cloud time")
}

func TestEventInvocationRejectsBadRequests(t *testing.T) {
	h := newHarness(t, nil)
	err := h.svc.InvokeAsync(context.Background(), "EchoFunction", []byte(`not json`))
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "InvalidRequestContentException", apiErr.Code)
	err = h.svc.InvokeAsync(context.Background(), "missing", []byte(`{}`))
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "ResourceNotFoundException", apiErr.Code)
}

func TestNewRejectsOverReservedAccount(t *testing.T) {
	five := 5
	_, err := New(Options{Functions: []samtemplate.Function{{LogicalID: "A", Name: "a", ReservedConcurrency: &five}}, AccountConcurrency: 4, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds the account concurrency")
	_, err = New(Options{Functions: []samtemplate.Function{{LogicalID: "A", Name: "a"}, {LogicalID: "B", Name: "a"}}, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "used twice"))
	assert.False(t, errors.Is(err, context.Canceled))
}

func TestPanicReplacesTheProcess(t *testing.T) {
	h := newHarness(t, nil)
	out, err := h.svc.InvokeFunction(context.Background(), InvokeInput{Function: "fail", Payload: []byte(`{"panic":true}`)})
	require.NoError(t, err)
	require.NotNil(t, out.FunctionError)
	assert.Contains(t, out.FunctionError.Message, "handler panicked")
	// aws-lambda-go exits after reporting a panic: the next invocation must
	// start a new process instead of failing on the dead one.
	for i := 0; i < 3; i++ {
		out, err = h.svc.InvokeFunction(context.Background(), InvokeInput{Function: "fail", Payload: []byte(`{"x":1}`)})
		require.NoError(t, err)
		require.NotNil(t, out.FunctionError)
		assert.Equal(t, "PermanentError", out.FunctionError.Type, "attempt %d: %s", i, out.FunctionError.Message)
	}
}

func TestAccountConcurrencyThrottles(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.AccountConcurrency = 2 }) // SerialFunction reserves 1
	require.NoError(t, h.svc.Build())
	done := make(chan error, 1)
	go func() {
		_, err := h.svc.Invoke(context.Background(), "EchoFunction", []byte(`{"sleepMs":1500}`))
		done <- err
	}()
	// Wait until the echo invocation holds the only unreserved slot.
	require.Eventually(t, func() bool {
		h.svc.mu.Lock()
		defer h.svc.mu.Unlock()
		return h.svc.unreserved == 1
	}, 10*time.Second, 5*time.Millisecond)
	_, err := h.svc.Invoke(context.Background(), "SlowFunction", []byte(`{}`))
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.NotNil(t, apiErr, "the unreserved pool (2 - 1 reserved = 1) was full")
	assert.Equal(t, "TooManyRequestsException", apiErr.Code)
	assert.Equal(t, "ConcurrentInvocationLimitExceeded", apiErr.Reason)
	_, err = h.svc.Invoke(context.Background(), "SerialFunction", []byte(`{}`))
	assert.NoError(t, err, "reserved concurrency is not taken by other functions")
	assert.NoError(t, <-done)
}

func TestFaultHook(t *testing.T) {
	tests := []struct {
		name     string
		fe       *FunctionError
		err      error
		wantType string
		wantCode string
		runs     bool
	}{
		{name: "injected crash", fe: &FunctionError{Type: "Runtime.ExitError", Message: "injected"}, wantType: "Runtime.ExitError"},
		{name: "injected throttle", err: throttled("ReservedFunctionConcurrentInvocationLimitExceeded"), wantCode: "TooManyRequestsException"},
		{name: "no fault", runs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotFn string
			var gotTimeout time.Duration
			h := newHarness(t, func(o *Options) {
				o.Faults = func(_ context.Context, fn string, timeout time.Duration) (*FunctionError, error) {
					gotFn, gotTimeout = fn, timeout
					return tt.fe, tt.err
				}
			})
			out, err := h.svc.InvokeFunction(context.Background(), InvokeInput{Function: "EchoFunction", Payload: []byte(`{}`)})
			assert.Equal(t, "localcloud-EchoFunction", gotFn)
			assert.Equal(t, 5*time.Second, gotTimeout)
			switch {
			case tt.wantCode != "":
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.wantCode, apiErr.Code)
			case tt.wantType != "":
				require.NoError(t, err)
				require.NotNil(t, out.FunctionError)
				assert.Equal(t, tt.wantType, out.FunctionError.Type)
				assert.JSONEq(t, `{"errorType":"Runtime.ExitError","errorMessage":"injected"}`, string(out.Payload))
			default:
				require.NoError(t, err)
				assert.Nil(t, out.FunctionError)
			}
			assert.Equal(t, tt.runs, strings.Contains(h.logs.String(), "START RequestId"), "whether the function ran")
		})
	}
}

func TestJSONLoggingConfig(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		for i := range o.Functions {
			if o.Functions[i].LogicalID == "EchoFunction" {
				o.Functions[i].Logging = samtemplate.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "debug", LogGroup: "/custom/echo"}
			}
		}
	})
	r, out := h.echo(t, "EchoFunction", `{}`)
	assert.Equal(t, "JSON", r.Env["AWS_LAMBDA_LOG_FORMAT"])
	assert.Equal(t, "DEBUG", r.Env["AWS_LAMBDA_LOG_LEVEL"])
	assert.Equal(t, "/custom/echo", r.Env["AWS_LAMBDA_LOG_GROUP_NAME"])
	assert.Contains(t, out.Log, "START RequestId: "+out.RequestID, "platform lines stay in the text format")
	r, _ = h.echo(t, "SerialFunction", `{}`)
	assert.NotContains(t, r.Env, "AWS_LAMBDA_LOG_FORMAT", "unset without LoggingConfig")
	assert.Equal(t, "/aws/lambda/localcloud-SerialFunction", r.Env["AWS_LAMBDA_LOG_GROUP_NAME"])
}

func TestPendingEventsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	first := newHarness(t, func(o *Options) { o.StateDir, o.Clock = dir, clk })
	require.NoError(t, first.svc.InvokeAsync(context.Background(), "fail", []byte(`{"keep":1}`)))
	// The first attempt fails; the retry waits a minute on the clock.
	require.Eventually(t, func() bool { return clk.Pending() > 0 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, first.svc.Close())
	pending, err := filepath.Glob(filepath.Join(dir, "lambda", "async", "*.json"))
	require.NoError(t, err)
	require.Len(t, pending, 1, "the unfinished event is kept in the state directory")

	second := newHarness(t, func(o *Options) { o.StateDir, o.Clock = dir, clk })
	got := map[string][]byte{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		select {
		case d := <-second.dest.ch:
			got[d.arn] = d.body
		case <-time.After(20 * time.Millisecond):
			clk.AdvanceToNext()
		}
	}
	require.Len(t, got, 2, "the resumed event ends at its destinations")
	assert.JSONEq(t, `{"keep":1}`, string(got[second.tpl.ARN("Dead")]))
	assert.Contains(t, second.logs.String(), "resumed from")
	assert.Empty(t, first.dest.ch, "nothing was delivered before the restart")
	require.Eventually(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(dir, "lambda", "async", "*.json"))
		return len(left) == 0
	}, 10*time.Second, 10*time.Millisecond, "a finished event leaves the state directory")
}

func TestCorruptPendingEventIsAClearError(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lambda", "async"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lambda", "async", "x.json"), []byte("{"), 0o644))
	_, err := New(Options{StateDir: dir})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is corrupt (move it away to start)")
}

func TestLogTailIsBounded(t *testing.T) {
	h := newHarness(t, nil)
	big := strings.Repeat("x", 200*1024)
	_, out := h.echo(t, "EchoFunction", `{"log":"`+big+`"}`)
	assert.LessOrEqual(t, len(out.Log), maxLogTail)
	assert.Contains(t, out.Log, "REPORT RequestId: "+out.RequestID, "the tail keeps the end")
	assert.Contains(t, h.logs.String(), big, "the stream still gets every line")
}
