package faultinject

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
		want    int
	}{
		{name: "valid", doc: `{"faults":[{"service":"states","operation":"StartExecution","action":"throttle","count":2},{"service":"lambda","target":"ingest","action":"hang","latency":"2s"},{"service":"s3","operation":"Notify","action":"duplicate","times":10}]}`, want: 3},
		{name: "latency in milliseconds", doc: `{"faults":[{"service":"sagemaker","action":"latency","latency":250}]}`, want: 1},
		{name: "empty", doc: `{"faults":[]}`, want: 0},
		{name: "unknown field is an error", doc: `{"faults":[{"service":"states","action":"throttle","cout":2}]}`, wantErr: `unknown field "cout"`},
		{name: "unknown action", doc: `{"faults":[{"service":"states","action":"explode"}]}`, wantErr: `action "explode" is not one of`},
		{name: "missing service", doc: `{"faults":[{"action":"throttle"}]}`, wantErr: "service is required"},
		{name: "negative count", doc: `{"faults":[{"service":"s3","action":"throttle","count":-1}]}`, wantErr: "must not be negative"},
		{name: "status not an error", doc: `{"faults":[{"service":"s3","action":"fail","status":200}]}`, wantErr: "not an HTTP error status"},
		{name: "bad pattern", doc: `{"faults":[{"service":"s3","action":"fail","target":"[a"}]}`, wantErr: "pattern"},
		{name: "bad duration", doc: `{"faults":[{"service":"s3","action":"latency","latency":"soon"}]}`, wantErr: "duration"},
		{name: "not JSON", doc: `faults: []`, wantErr: "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := Parse([]byte(tt.doc))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, rules, tt.want)
		})
	}
}

func TestDecideCountsSkipsAndMatches(t *testing.T) {
	tests := []struct {
		name  string
		rule  Rule
		calls [][3]string // service, op, target
		want  []bool      // fault applied?
	}{
		{name: "count limits the faulted calls", rule: Rule{Service: "states", Operation: "StartExecution", Action: ActionThrottle, Count: 2},
			calls: [][3]string{{"states", "StartExecution", ""}, {"states", "StartExecution", ""}, {"states", "StartExecution", ""}},
			want:  []bool{true, true, false}},
		{name: "skip lets the first calls through", rule: Rule{Service: "glue", Action: ActionFail, Skip: 1, Count: 1},
			calls: [][3]string{{"glue", "StartJobRun", ""}, {"glue", "GetJobRun", ""}, {"glue", "GetJobRun", ""}},
			want:  []bool{false, true, false}},
		{name: "other services and operations are untouched", rule: Rule{Service: "sagemaker", Operation: "Create*", Action: ActionThrottle},
			calls: [][3]string{{"sagemaker", "CreateTrainingJob", ""}, {"sagemaker", "DescribeTrainingJob", ""}, {"glue", "CreateJob", ""}},
			want:  []bool{true, false, false}},
		{name: "target is a substring or a pattern", rule: Rule{Service: "lambda", Target: "ingest", Action: ActionCrash},
			calls: [][3]string{{"lambda", OpInvoke, "mlops-ingest"}, {"lambda", OpInvoke, "mlops-train"}},
			want:  []bool{true, false}},
		{name: "service wildcard", rule: Rule{Service: "*", Operation: "Describe*", Action: ActionLatency},
			calls: [][3]string{{"sagemaker", "DescribeEndpoint", ""}, {"glue", "GetJobRun", ""}},
			want:  []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj, err := New(Options{Rules: []Rule{tt.rule}})
			require.NoError(t, err)
			var got []bool
			for _, c := range tt.calls {
				got = append(got, inj.decide(c[0], c[1], c[2], func(string) bool { return true }) != nil)
			}
			assert.Equal(t, tt.want, got)
			applied := 0
			for _, w := range tt.want {
				if w {
					applied++
				}
			}
			assert.Len(t, inj.Injected(), applied, "every injected fault is recorded")
		})
	}
}

func TestNilInjectorInjectsNothing(t *testing.T) {
	var inj *Injector
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	assert.NotNil(t, inj.Wrap(next))
	assert.Nil(t, inj.LambdaHook())
	fe, err := inj.LambdaFault(context.Background(), "f", time.Second)
	assert.Nil(t, fe)
	assert.NoError(t, err)
	assert.Nil(t, inj.Injected())
	inj.Wait()
}

// fakeBackend answers every request 200 with an empty JSON/XML document
// and counts what got through.
type fakeBackend struct{ calls atomic.Int32 }

func (f *fakeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Header.Get("X-Amz-Target") != "" || strings.HasPrefix(r.URL.Path, "/2015-03-31/") || strings.HasPrefix(r.URL.Path, "/endpoints/") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:m:e","startDate":1}`))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func awsConfig(url string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1, // see each injected error, not the SDK's retries
	}
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want an AWS API error, got %v", err)
	return ae.ErrorCode()
}

func TestWrapAnswersInEachServicesProtocol(t *testing.T) {
	inj, err := New(Options{})
	require.NoError(t, err)
	backend := &fakeBackend{}
	srv := httptest.NewServer(inj.Wrap(backend))
	t.Cleanup(srv.Close)
	cfg := awsConfig(srv.URL)
	ctx := context.Background()

	tests := []struct {
		name     string
		rule     Rule
		call     func() error
		wantCode string
	}{
		{name: "step functions throttled (JSON 1.0)", rule: Rule{Service: "states", Operation: "StartExecution", Action: ActionThrottle, Count: 1},
			call: func() error {
				_, err := sfn.NewFromConfig(cfg).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:m")})
				return err
			}, wantCode: "ThrottlingException"},
		{name: "s3 put slowed down (REST-XML)", rule: Rule{Service: "s3", Operation: "PutObject", Target: "raw/", Action: ActionThrottle, Count: 1},
			call: func() error {
				_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("raw/x.csv"), Body: strings.NewReader("a")})
				return err
			}, wantCode: "SlowDown"},
		{name: "lambda invoke throttled (REST-JSON)", rule: Rule{Service: "lambda", Operation: OpInvoke, Target: "ingest", Action: ActionThrottle, Count: 1},
			call: func() error {
				_, err := lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ingest")})
				return err
			}, wantCode: "TooManyRequestsException"},
		{name: "sns publish throttled (query)", rule: Rule{Service: "sns", Operation: "Publish", Action: ActionThrottle, Count: 1},
			call: func() error {
				_, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:t"), Message: aws.String("m")})
				return err
			}, wantCode: "Throttled"},
		{name: "sagemaker runtime model error", rule: Rule{Service: "sagemaker-runtime", Operation: "InvokeEndpoint", Action: ActionFail, Error: "ModelError", Status: 424, Message: "model crashed", Count: 1},
			call: func() error {
				_, err := sagemakerruntime.NewFromConfig(cfg).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("ep"), Body: []byte("1,2"), ContentType: aws.String("text/csv")})
				return err
			}, wantCode: "ModelError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inj.Add(tt.rule)
			require.NoError(t, err)
			before := backend.calls.Load()
			err = tt.call()
			require.Error(t, err)
			assert.Equal(t, tt.wantCode, apiCode(t, err))
			assert.Equal(t, before, backend.calls.Load(), "the faulted call never reaches the service")
			// Count 1: the next call goes through.
			require.NoError(t, tt.call())
			assert.Equal(t, before+1, backend.calls.Load())
		})
	}
}

func TestWrapLatencyAndTimeout(t *testing.T) {
	inj, err := New(Options{Rules: []Rule{
		{ID: "slow", Service: "states", Operation: "DescribeExecution", Action: ActionLatency, Latency: Duration(150 * time.Millisecond)},
		{ID: "stuck", Service: "states", Operation: "StopExecution", Action: ActionTimeout},
	}})
	require.NoError(t, err)
	backend := &fakeBackend{}
	srv := httptest.NewServer(inj.Wrap(backend))
	t.Cleanup(srv.Close)
	client := sfn.NewFromConfig(awsConfig(srv.URL))

	t.Run("latency delays and lets through", func(t *testing.T) {
		start := time.Now()
		_, err := client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:m:e")})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		assert.EqualValues(t, 1, backend.calls.Load())
	})
	t.Run("timeout holds until the caller gives up", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:m:e")})
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.EqualValues(t, 1, backend.calls.Load(), "the timed-out call never reached the service")
	})
}

func TestControlAPI(t *testing.T) {
	inj, err := New(Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(inj.Wrap(&fakeBackend{}))
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	status, out := do("POST", ControlPath, `{"service":"glue","operation":"StartJobRun","action":"throttle","count":3}`)
	require.Equal(t, http.StatusOK, status, out)
	assert.Equal(t, []any{"fault-1"}, out["ids"])

	status, out = do("POST", ControlPath, `{"faults":[{"id":"crash-ingest","service":"lambda","target":"ingest","action":"crash"}]}`)
	require.Equal(t, http.StatusOK, status, out)
	assert.Equal(t, []any{"crash-ingest"}, out["ids"])

	status, out = do("POST", ControlPath, `{"id":"crash-ingest","service":"lambda","action":"crash"}`)
	assert.Equal(t, http.StatusBadRequest, status, "duplicate id")
	assert.Contains(t, out["message"], "already exists")

	status, out = do("POST", ControlPath, `{"service":"lambda","action":"crash","tagret":"x"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, out["message"], "unknown field")

	status, out = do("GET", ControlPath, "")
	require.Equal(t, http.StatusOK, status)
	faults := out["faults"].([]any)
	require.Len(t, faults, 2)
	assert.EqualValues(t, 3, faults[0].(map[string]any)["remaining"])
	assert.EqualValues(t, -1, faults[1].(map[string]any)["remaining"])

	_, _ = inj.LambdaFault(context.Background(), "mlops-ingest", time.Second)
	status, out = do("GET", ControlPath+"/injected", "")
	require.Equal(t, http.StatusOK, status)
	rec := out["injected"].([]any)
	require.Len(t, rec, 1)
	assert.Equal(t, "crash-ingest", rec[0].(map[string]any)["rule"])

	status, _ = do("DELETE", ControlPath+"/crash-ingest", "")
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = do("DELETE", ControlPath+"/crash-ingest", "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = do("DELETE", ControlPath, "")
	assert.Equal(t, http.StatusNoContent, status)
	assert.Empty(t, inj.Rules())
	status, _ = do("PATCH", ControlPath, "")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestLambdaFault(t *testing.T) {
	tests := []struct {
		name      string
		rule      Rule
		wantType  string
		wantCode  string
		wantSlept time.Duration
	}{
		{name: "crash", rule: Rule{Service: "lambda", Action: ActionCrash}, wantType: "Runtime.ExitError"},
		{name: "init error", rule: Rule{Service: "lambda", Action: ActionInitError}, wantType: "Runtime.InitError"},
		{name: "hang runs into the timeout", rule: Rule{Service: "lambda", Action: ActionHang, Latency: Duration(50 * time.Millisecond)}, wantType: "Sandbox.Timedout", wantSlept: 50 * time.Millisecond},
		{name: "hang never outlasts the function timeout", rule: Rule{Service: "lambda", Action: ActionHang, Latency: Duration(time.Hour)}, wantType: "Sandbox.Timedout", wantSlept: 100 * time.Millisecond},
		{name: "throttle", rule: Rule{Service: "lambda", Action: ActionThrottle}, wantCode: "TooManyRequestsException"},
		{name: "fail", rule: Rule{Service: "lambda", Action: ActionFail, Error: "ServiceException"}, wantCode: "ServiceException"},
		{name: "latency then run", rule: Rule{Service: "lambda", Action: ActionLatency, Latency: Duration(30 * time.Millisecond)}, wantSlept: 30 * time.Millisecond},
		{name: "http-only actions do not apply", rule: Rule{Service: "lambda", Action: ActionTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj, err := New(Options{Rules: []Rule{tt.rule}})
			require.NoError(t, err)
			start := time.Now()
			fe, err := inj.LambdaHook()(context.Background(), "fn", 100*time.Millisecond)
			assert.GreaterOrEqual(t, time.Since(start), tt.wantSlept)
			if tt.wantCode != "" {
				var ae *lambdaemu.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.wantCode, ae.Code)
				return
			}
			require.NoError(t, err)
			if tt.wantType == "" {
				assert.Nil(t, fe)
				return
			}
			require.NotNil(t, fe)
			assert.Equal(t, tt.wantType, fe.Type)
			var doc map[string]string
			require.NoError(t, json.Unmarshal(fe.Payload, &doc))
			assert.Equal(t, tt.wantType, doc["errorType"])
		})
	}
}

// recordingEmitter records the keys of emitted S3 events in order.
type recordingEmitter struct {
	mu   sync.Mutex
	keys []string
}

func (r *recordingEmitter) Emit(_ context.Context, ev eventbridge.Event) error {
	var d struct {
		Object struct{ Key string } `json:"object"`
	}
	_ = json.Unmarshal(ev.Detail, &d)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, d.Object.Key)
	return nil
}

func (r *recordingEmitter) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

func s3Event(key string) eventbridge.Event {
	detail, _ := json.Marshal(map[string]any{"bucket": map[string]string{"name": "raw"}, "object": map[string]string{"key": key}})
	return eventbridge.Event{DetailType: "Object Created", Source: "aws.s3", Detail: detail}
}

func TestEmitterEventFaults(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		keys []string
		want []string
	}{
		{name: "duplicate", rule: Rule{Service: "s3", Operation: OpNotify, Target: "raw/a", Action: ActionDuplicate, Times: 3, Count: 1},
			keys: []string{"a", "b", "a"}, want: []string{"a", "a", "a", "b", "a"}},
		{name: "reorder: the held event arrives after the next one", rule: Rule{Service: "s3", Operation: OpNotify, Action: ActionReorder, Count: 1},
			keys: []string{"first", "second"}, want: []string{"second", "first"}},
		{name: "reorder of one object: any later event overtakes it", rule: Rule{Service: "s3", Operation: OpNotify, Target: "raw/a", Action: ActionReorder, Latency: Duration(time.Hour)},
			keys: []string{"a", "b"}, want: []string{"b", "a"}},
		{name: "delay: the late event arrives last", rule: Rule{Service: "s3", Operation: OpNotify, Target: "raw/late", Action: ActionDelay, Latency: Duration(100 * time.Millisecond)},
			keys: []string{"late", "x", "y"}, want: []string{"x", "y", "late"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj, err := New(Options{Rules: []Rule{tt.rule}})
			require.NoError(t, err)
			rec := &recordingEmitter{}
			em := inj.Emitter(rec)
			for _, k := range tt.keys {
				require.NoError(t, em.Emit(context.Background(), s3Event(k)))
			}
			inj.Wait()
			assert.Equal(t, tt.want, rec.got())
		})
	}
}

func TestReorderHeldEventIsReleasedByRemove(t *testing.T) {
	inj, err := New(Options{Rules: []Rule{{ID: "hold", Service: "s3", Action: ActionReorder, Latency: Duration(time.Hour)}}})
	require.NoError(t, err)
	rec := &recordingEmitter{}
	require.NoError(t, inj.Emitter(rec).Emit(context.Background(), s3Event("k")))
	assert.Empty(t, rec.got())
	require.True(t, inj.Remove("hold"))
	inj.Wait()
	assert.Equal(t, []string{"k"}, rec.got(), "nothing is lost when a rule goes away")
}

type countingInvoker struct{ n atomic.Int32 }

func (c *countingInvoker) InvokeAsync(context.Context, string, []byte) error { c.n.Add(1); return nil }

type countingStarter struct{ names []string }

func (c *countingStarter) StartExecution(_ context.Context, _, name, _ string) error {
	c.names = append(c.names, name)
	return nil
}

func TestEventBridgeTargets(t *testing.T) {
	inj, err := New(Options{Rules: []Rule{
		{Service: "events", Operation: OpDeliver, Target: "function:ingest", Action: ActionDuplicate, Times: 10, Count: 1},
		{Service: "events", Operation: OpDeliver, Target: "stateMachine:", Action: ActionThrottle, Count: 1},
	}})
	require.NoError(t, err)
	inv := &countingInvoker{}
	require.NoError(t, inj.LambdaTargets(inv).InvokeAsync(context.Background(), "arn:aws:lambda:us-east-1:123456789012:function:ingest", []byte(`{}`)))
	assert.EqualValues(t, 10, inv.n.Load())

	st := &countingStarter{}
	starter := inj.ExecutionTargets(st)
	err = starter.StartExecution(context.Background(), "arn:aws:states:us-east-1:123456789012:stateMachine:p", "n1", "{}")
	var ae *awsproto.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "ThrottlingException", ae.Code, "EventBridge classifies it as THROTTLING and retries")
	require.NoError(t, starter.StartExecution(context.Background(), "arn:aws:states:us-east-1:123456789012:stateMachine:p", "n2", "{}"))
	assert.Equal(t, []string{"n2"}, st.names)
}

func TestOperationNames(t *testing.T) {
	tests := []struct {
		name, service, method, url, target, body string
		header                                   map[string]string
		wantOp, wantTarget                       string
	}{
		{name: "json target", service: "glue", method: "POST", url: "/", header: map[string]string{"X-Amz-Target": "AWSGlue.StartJobRun"}, wantOp: "StartJobRun", wantTarget: "/"},
		{name: "cbor", service: "monitoring", method: "POST", url: "/service/GraniteServiceVersion20100801/operation/PutMetricData", wantOp: "PutMetricData"},
		{name: "lambda invoke", service: "lambda", method: "POST", url: "/2015-03-31/functions/mlops-ingest/invocations", wantOp: OpInvoke, wantTarget: "mlops-ingest"},
		{name: "runtime", service: "sagemaker-runtime", method: "POST", url: "/endpoints/ep/invocations", wantOp: "InvokeEndpoint", wantTarget: "ep"},
		{name: "s3 get", service: "s3", method: "GET", url: "/b/k/x.csv", wantOp: "GetObject", wantTarget: "b/k/x.csv"},
		{name: "s3 list v2", service: "s3", method: "GET", url: "/b?list-type=2", wantOp: "ListObjectsV2", wantTarget: "b"},
		{name: "s3 copy", service: "s3", method: "PUT", url: "/b/k", header: map[string]string{"x-amz-copy-source": "/b/j"}, wantOp: "CopyObject", wantTarget: "b/k"},
		{name: "query body", service: "sns", method: "POST", url: "/", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "Action=Publish&TopicArn=x", wantOp: "Publish", wantTarget: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.url, bytes.NewBufferString(tt.body))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			op, target := Operation(tt.service, r)
			assert.Equal(t, tt.wantOp, op)
			if tt.wantTarget != "" {
				assert.Equal(t, tt.wantTarget, target)
			}
			if tt.body != "" {
				require.NoError(t, r.ParseForm())
				assert.Equal(t, "x", r.Form.Get("TopicArn"), "the body is restored for the service")
			}
		})
	}
}

func TestProxy(t *testing.T) {
	backend := &fakeBackend{}
	upstream := httptest.NewServer(backend)
	t.Cleanup(upstream.Close)
	var target atomic.Value
	target.Store("")
	inj, err := New(Options{Rules: []Rule{{Service: "states", Operation: "StartExecution", Action: ActionThrottle, Count: 1}}})
	require.NoError(t, err)
	proxy := httptest.NewServer(inj.Proxy(func() string { return target.Load().(string) }))
	t.Cleanup(proxy.Close)
	client := sfn.NewFromConfig(awsConfig(proxy.URL))
	start := func() error {
		_, err := client.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:m")})
		return err
	}

	assert.Equal(t, "ThrottlingException", apiCode(t, start()), "the fault answers before the target is known")
	assert.Equal(t, "ServiceUnavailable", apiCode(t, start()), "no target yet: a clear AWS error")
	target.Store(upstream.URL)
	require.NoError(t, start(), "then calls go through to the target")
	assert.EqualValues(t, 1, backend.calls.Load())
}
