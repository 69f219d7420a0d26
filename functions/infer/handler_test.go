package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/config"
)

// okOutput is a successful InvokeEndpoint answer from variant.
func okOutput(variant, body string) func(context.Context, *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
	return func(context.Context, *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
		return &sagemakerruntime.InvokeEndpointOutput{
			Body:                     []byte(body),
			ContentType:              aws.String("text/csv; charset=utf-8"),
			InvokedProductionVariant: aws.String(variant),
		}, nil
	}
}

func TestHandlePredictions(t *testing.T) {
	tests := []struct {
		name        string
		event       string
		edit        func(*events.APIGatewayProxyRequest)
		wantStatus  int
		wantCalled  bool
		wantBody    []byte // what SageMaker receives
		wantCT      string
		wantVariant string // TargetVariant sent
		wantJSON    bool   // a JSON request: CSV to the model, JSON predictions back
		wantMessage string // error message of a refused request
	}{
		{name: "csv", event: "infer-predict-csv.json", wantStatus: 200, wantCalled: true,
			wantBody: []byte("12,70.5,3,1\n"), wantCT: "text/csv"},
		{name: "json with charset", event: "infer-predict-json.json", wantStatus: 200, wantCalled: true,
			wantBody: []byte("12,70.5,3,1\n48,20,0,2"), wantCT: "text/csv", wantJSON: true},
		{name: "base64 body is decoded", event: "infer-predict-base64.json", wantStatus: 200, wantCalled: true,
			wantBody: []byte("12,70.5,3,1\n48,20.0,0,2\n"), wantCT: "text/csv"},
		{name: "target variant header", event: "infer-target-variant.json", wantStatus: 200, wantCalled: true,
			wantBody: []byte("12,70.5,3,1\n"), wantCT: "text/csv", wantVariant: "challenger"},
		{name: "target variant query", event: "infer-target-variant-query.json", wantStatus: 200, wantCalled: true,
			wantBody: []byte("12,70.5,3,1\n"), wantCT: "text/csv", wantVariant: "challenger"},
		{name: "lower-case content-type header", event: "infer-predict-csv.json", wantStatus: 200, wantCalled: true,
			edit: func(ev *events.APIGatewayProxyRequest) {
				delete(ev.Headers, "Content-Type")
				ev.Headers["content-type"] = "TEXT/CSV"
			},
			wantBody: []byte("12,70.5,3,1\n"), wantCT: "TEXT/CSV"},
		{name: "unsupported media type", event: "infer-unsupported-type.json", wantStatus: 415,
			wantMessage: "Content-Type must be text/csv or application/json"},
		{name: "missing content type", event: "infer-missing-content-type.json", wantStatus: 415,
			wantMessage: "Content-Type must be text/csv or application/json"},
		{name: "content type prefix is not enough", event: "infer-predict-csv.json", wantStatus: 415,
			edit:        func(ev *events.APIGatewayProxyRequest) { ev.Headers["Content-Type"] = "text/csvx" },
			wantMessage: "Content-Type must be text/csv or application/json"},
		{name: "malformed json", event: "infer-malformed-json.json", wantStatus: 400,
			wantMessage: "the request body is not valid JSON"},
		{name: "empty body", event: "infer-empty-body.json", wantStatus: 400,
			wantMessage: "the request body is empty"},
		{name: "bad variant", event: "infer-bad-variant.json", wantStatus: 400,
			wantMessage: "the target variant must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit"},
		{name: "conflicting variants", event: "infer-target-variant.json", wantStatus: 400,
			edit: func(ev *events.APIGatewayProxyRequest) {
				ev.QueryStringParameters = map[string]string{"variant": "champion"}
			},
			wantMessage: "the X-Target-Variant header and the variant query parameter differ"},
		{name: "bad base64", event: "infer-predict-base64.json", wantStatus: 400,
			edit:        func(ev *events.APIGatewayProxyRequest) { ev.Body = "!!!not base64!!!" },
			wantMessage: "the request body is not valid base64"},
		{name: "control character in content type", event: "infer-predict-csv.json", wantStatus: 400,
			edit:        func(ev *events.APIGatewayProxyRequest) { ev.Headers["Content-Type"] = "text/csv\x00" },
			wantMessage: "a header value is not printable ASCII or is too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &fakeRuntime{fn: okOutput("champion", "0.1873\n")}
			if tt.wantVariant != "" {
				rt.fn = okOutput(tt.wantVariant, "0.1873\n")
			}
			env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
			ev := loadEvent(t, tt.event)
			if tt.edit != nil {
				tt.edit(&ev)
			}
			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, resp.Body)
			assert.Equal(t, ev.RequestContext.RequestID, resp.Headers[RequestIDHeader])
			if !tt.wantCalled {
				assert.Empty(t, rt.calls, "SageMaker must not be called for a refused request")
				body := decodeError(t, resp.Body)
				assert.Equal(t, tt.wantMessage, body["message"])
				assert.Equal(t, ev.RequestContext.RequestID, body["requestId"])
				assert.Equal(t, "application/json", resp.Headers["Content-Type"])
				return
			}
			require.Len(t, rt.calls, 1)
			in := rt.calls[0]
			assert.Equal(t, testEndpoint, aws.ToString(in.EndpointName))
			assert.Equal(t, tt.wantBody, in.Body)
			assert.Equal(t, tt.wantCT, aws.ToString(in.ContentType))
			assert.Equal(t, ev.RequestContext.RequestID, aws.ToString(in.InferenceId), "InferenceId joins captured data to the request")
			assert.Equal(t, tt.wantVariant, aws.ToString(in.TargetVariant))
			assert.False(t, resp.IsBase64Encoded)
			if tt.wantJSON {
				assert.JSONEq(t, `{"predictions":[0.1873]}`, resp.Body)
				assert.Equal(t, "application/json", resp.Headers["Content-Type"])
			} else {
				assert.Equal(t, "0.1873\n", resp.Body)
				assert.Equal(t, "text/csv; charset=utf-8", resp.Headers["Content-Type"])
			}
			want := "champion"
			if tt.wantVariant != "" {
				want = tt.wantVariant
			}
			assert.Equal(t, want, resp.Headers[ModelVariantHeader])
		})
	}
}

// sagemakerErr builds the typed errors the SDK returns, each carrying the
// secret marker wherever AWS puts text.
func sagemakerErrors() map[string]error {
	return map[string]error{
		"validation":         &types.ValidationError{Message: aws.String("1 validation error detected: " + secret)},
		"endpoint not found": &types.ValidationError{Message: aws.String("Endpoint churn-dev of account 123456789012 not found. " + secret)},
		"model error": &types.ModelError{Message: aws.String("Received server error (500) from primary " + secret),
			OriginalStatusCode: aws.Int32(500), OriginalMessage: aws.String("Traceback " + secret),
			LogStreamArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/churn-dev " + secret)},
		"model not ready":  &types.ModelNotReadyException{Message: aws.String(secret)},
		"throttling":       &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded " + secret},
		"service down":     &types.ServiceUnavailable{Message: aws.String(secret)},
		"internal failure": &types.InternalFailure{Message: aws.String(secret)},
		"dependency":       &types.InternalDependencyException{Message: aws.String(secret)},
		"access denied":    &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User arn:aws:sts::123456789012:assumed-role/x is not authorized " + secret},
		"unknown":          errors.New("something odd " + secret),
		"deadline":         fmt.Errorf("operation error SageMaker Runtime: InvokeEndpoint, %w", &smithy.CanceledError{Err: context.DeadlineExceeded}),
		"network timeout":  &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}},
		"retries exhausted": &retry.MaxAttemptsError{Attempt: 3,
			Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: secret}},
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout " + secret }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestHandlePredictionsErrorMapping(t *testing.T) {
	errs := sagemakerErrors()
	tests := []struct {
		err             string
		wantStatus      int
		wantRetryAfter  string
		wantModelStatus float64
		wantClass       string
	}{
		{err: "validation", wantStatus: 400, wantClass: classInvalid},
		{err: "endpoint not found", wantStatus: 503, wantRetryAfter: "30", wantClass: classEndpointMissing},
		{err: "model error", wantStatus: 502, wantModelStatus: 500, wantClass: classModel},
		{err: "model not ready", wantStatus: 503, wantRetryAfter: "30", wantClass: classEndpointMissing},
		{err: "throttling", wantStatus: 429, wantRetryAfter: "1", wantClass: classThrottled},
		{err: "retries exhausted", wantStatus: 429, wantRetryAfter: "1", wantClass: classThrottled},
		{err: "service down", wantStatus: 503, wantRetryAfter: "30", wantClass: classEndpointMissing},
		{err: "internal failure", wantStatus: 503, wantRetryAfter: "30", wantClass: classEndpointMissing},
		{err: "dependency", wantStatus: 503, wantRetryAfter: "30", wantClass: classEndpointMissing},
		{err: "access denied", wantStatus: 500, wantClass: classInternal},
		{err: "unknown", wantStatus: 500, wantClass: classInternal},
		{err: "deadline", wantStatus: 504, wantClass: classTimeout},
		{err: "network timeout", wantStatus: 504, wantClass: classTimeout},
	}
	require.Len(t, tests, len(errs), "every fake error has a case")
	for _, tt := range tests {
		t.Run(tt.err, func(t *testing.T) {
			fakeErr, ok := errs[tt.err]
			require.True(t, ok)
			rt := &fakeRuntime{fn: func(context.Context, *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
				return nil, fmt.Errorf("invoke endpoint: %w", fakeErr)
			}}
			env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
			ev := loadEvent(t, "infer-target-variant.json")
			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantRetryAfter, resp.Headers["Retry-After"])
			assert.NotContains(t, resp.Body, secret, "AWS error text leaked to the client")
			assert.NotContains(t, resp.Body, "arn:")
			for k, v := range resp.Headers {
				assert.NotContains(t, v, secret, "header %s", k)
			}
			body := decodeError(t, resp.Body)
			assert.Equal(t, ev.RequestContext.RequestID, body["requestId"])
			assert.NotEmpty(t, body["message"])
			wantKeys := 2
			if tt.wantModelStatus != 0 {
				assert.Equal(t, tt.wantModelStatus, body["modelStatusCode"])
				wantKeys = 3
			}
			assert.Len(t, body, wantKeys, "error bodies carry only message, requestId (and the model's status)")
			if tt.wantStatus == 500 {
				assert.Equal(t, "internal error", body["message"])
			}
			// The log keeps the detail for operators.
			if strings.Contains(fakeErr.Error(), secret) {
				assert.Contains(t, env.logs.String(), secret)
			}
			// One Errors record, by class, endpoint and requested variant.
			recs := emfRecords(t, env.metrics)
			require.Len(t, recs, 1)
			assert.Equal(t, tt.wantClass, recs[0]["ErrorClass"])
			assert.Equal(t, testEndpoint, recs[0]["EndpointName"])
			assert.Equal(t, "challenger", recs[0]["Variant"])
			assert.Equal(t, 1.0, recs[0]["Errors"])
		})
	}
}

func TestHandleBodySizeCap(t *testing.T) {
	const limit = 1000
	csvOf := func(n int) string { return strings.Repeat("1", n-1) + "\n" }
	tests := []struct {
		name       string
		body       string
		base64     bool
		wantStatus int
	}{
		{name: "plain at the limit", body: csvOf(limit), wantStatus: 200},
		{name: "plain one byte over", body: csvOf(limit + 1), wantStatus: 413},
		{name: "base64 at the limit", body: base64.StdEncoding.EncodeToString([]byte(csvOf(limit))), base64: true, wantStatus: 200},
		{name: "base64 one byte over", body: base64.StdEncoding.EncodeToString([]byte(csvOf(limit + 1))), base64: true, wantStatus: 413},
		{name: "base64 unpadded at the limit", body: base64.RawStdEncoding.EncodeToString([]byte(csvOf(limit))), base64: true, wantStatus: 200},
		{name: "base64 two bytes over", body: base64.StdEncoding.EncodeToString([]byte(csvOf(limit + 2))), base64: true, wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &fakeRuntime{fn: okOutput("champion", "1\n")}
			env := newTestEnv(t, rt, nil, limit)
			ev := loadEvent(t, "infer-predict-csv.json")
			ev.Body, ev.IsBase64Encoded = tt.body, tt.base64
			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, resp.Body)
			if tt.wantStatus == 413 {
				assert.Empty(t, rt.calls, "an oversized body must be refused before SageMaker is called")
				assert.Equal(t, "the request body is too large", decodeError(t, resp.Body)["message"])
				return
			}
			require.Len(t, rt.calls, 1)
			assert.Len(t, rt.calls[0].Body, limit)
		})
	}
}

func TestHandleDefaultCapIsBelowSageMakerLimit(t *testing.T) {
	assert.Less(t, DefaultMaxBodyBytes, SageMakerMaxBodyBytes)
	assert.Equal(t, 6291456, SageMakerMaxBodyBytes, "InvokeEndpoint's BodyBlob maximum")
}

func TestHandleSuccessMetricsAndHeaders(t *testing.T) {
	rt := &fakeRuntime{fn: okOutput("challenger", "0.93\n")}
	env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
	// The fake model takes 42ms on the injected clock.
	rt.fn = func(ctx context.Context, in *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
		env.clock.t = env.clock.t.Add(42 * time.Millisecond)
		return okOutput("challenger", "0.93\n")(ctx, in)
	}
	ev := loadEvent(t, "infer-target-variant.json")
	resp, err := env.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "challenger", resp.Headers[ModelVariantHeader])

	recs := emfRecords(t, env.metrics)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, testEndpoint, r["EndpointName"])
	assert.Equal(t, "challenger", r["Variant"])
	assert.Equal(t, 42.0, r["InvokeLatency"])
	assert.Equal(t, float64(len("12,70.5,3,1\n")), r["RequestBytes"])
	assert.Equal(t, float64(len("0.93\n")), r["ResponseBytes"])
	assert.Equal(t, ev.RequestContext.RequestID, r["apiRequestId"])
	meta := r["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	assert.Equal(t, "MLOps/test", meta["Namespace"])
	assert.Equal(t, []any{[]any{"EndpointName", "Variant"}}, meta["Dimensions"])
}

func TestHandleBinaryModelOutputIsBase64(t *testing.T) {
	raw := []byte{0xff, 0xfe, 0x00, 0x01}
	rt := &fakeRuntime{fn: func(context.Context, *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
		return &sagemakerruntime.InvokeEndpointOutput{Body: raw}, nil
	}}
	env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
	resp, err := env.h.Handle(context.Background(), loadEvent(t, "infer-predict-csv.json"))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	assert.True(t, resp.IsBase64Encoded)
	assert.Equal(t, base64.StdEncoding.EncodeToString(raw), resp.Body)
	assert.Equal(t, "application/octet-stream", resp.Headers["Content-Type"])
	assert.NotContains(t, resp.Headers, ModelVariantHeader, "no variant header when SageMaker names none")
}

func TestHandleDeadline(t *testing.T) {
	tests := []struct {
		name          string
		invokeTimeout time.Duration
		lambdaLeft    time.Duration // 0: no Lambda deadline
	}{
		{name: "INVOKE_TIMEOUT expires", invokeTimeout: 50 * time.Millisecond},
		{name: "Lambda deadline is nearer", invokeTimeout: time.Hour, lambdaLeft: deadlineMargin + 50*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &fakeRuntime{fn: func(ctx context.Context, _ *sagemakerruntime.InvokeEndpointInput) (*sagemakerruntime.InvokeEndpointOutput, error) {
				<-ctx.Done() // a model that never answers
				return nil, &smithy.CanceledError{Err: ctx.Err()}
			}}
			env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
			env.h.cfg.InvokeTimeout = tt.invokeTimeout
			env.h.now = time.Now // real time: the deadline must really pass
			ctx := context.Background()
			if tt.lambdaLeft > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.lambdaLeft)
				defer cancel()
			}
			start := time.Now()
			resp, err := env.h.Handle(ctx, loadEvent(t, "infer-predict-csv.json"))
			require.NoError(t, err)
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			assert.Less(t, time.Since(start), 5*time.Second)
			if tt.lambdaLeft > 0 {
				assert.NoError(t, ctx.Err(), "the handler answered before the Lambda deadline")
			}
		})
	}
}

func TestHandleRoutes(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		edit       func(*events.APIGatewayProxyRequest)
		wantStatus int
		wantAllow  string
	}{
		{name: "GET on predictions", event: "infer-wrong-method.json", wantStatus: 405, wantAllow: "POST"},
		{name: "POST on health", event: "infer-health.json", wantStatus: 405, wantAllow: "GET",
			edit: func(ev *events.APIGatewayProxyRequest) { ev.HTTPMethod = "POST" }},
		{name: "unknown resource", event: "infer-predict-csv.json", wantStatus: 404,
			edit: func(ev *events.APIGatewayProxyRequest) { ev.Resource = "/v1/admin" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &fakeRuntime{fn: okOutput("champion", "1\n")}
			st := &fakeStatus{fn: func() (string, error) { return "InService", nil }}
			env := newTestEnv(t, rt, st, DefaultMaxBodyBytes)
			ev := loadEvent(t, tt.event)
			if tt.edit != nil {
				tt.edit(&ev)
			}
			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantAllow, resp.Headers["Allow"])
			assert.Empty(t, rt.calls)
			assert.Zero(t, st.calls)
			decodeError(t, resp.Body)
		})
	}
}

func TestHandleRequestIDFallback(t *testing.T) {
	rt := &fakeRuntime{fn: okOutput("champion", "1\n")}
	env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
	ev := loadEvent(t, "infer-predict-csv.json")
	ev.RequestContext.RequestID = ""
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	resp, err := env.h.Handle(ctx, ev)
	require.NoError(t, err)
	assert.Equal(t, "lambda-req-1", resp.Headers[RequestIDHeader])
	require.Len(t, rt.calls, 1)
	assert.Equal(t, "lambda-req-1", aws.ToString(rt.calls[0].InferenceId))
}

func TestHandleHealth(t *testing.T) {
	tests := []struct {
		name          string
		status        string
		err           error
		wantCode      int
		wantStatus    string
		wantInService bool
	}{
		{name: "in service", status: "InService", wantCode: 200, wantStatus: "InService", wantInService: true},
		{name: "updating still serves", status: "Updating", wantCode: 200, wantStatus: "Updating"},
		{name: "creating", status: "Creating", wantCode: 503, wantStatus: "Creating"},
		{name: "failed", status: "Failed", wantCode: 503, wantStatus: "Failed"},
		{name: "missing endpoint", err: &smithy.GenericAPIError{Code: "ValidationException", Message: "Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev\". " + secret},
			wantCode: 503, wantStatus: "NotFound"},
		{name: "control plane throttled", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: secret},
			wantCode: 503, wantStatus: "Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &fakeStatus{fn: func() (string, error) { return tt.status, tt.err }}
			rt := &fakeRuntime{}
			env := newTestEnv(t, rt, st, DefaultMaxBodyBytes)
			ev := loadEvent(t, "infer-health.json")
			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantCode, resp.StatusCode)
			assert.NotContains(t, resp.Body, secret)
			body := decodeError(t, resp.Body)
			assert.Equal(t, tt.wantStatus, body["status"])
			assert.Equal(t, tt.wantInService, body["inService"])
			assert.Equal(t, ev.RequestContext.RequestID, body["requestId"])
			assert.Equal(t, []string{testEndpoint}, st.names)
			assert.Empty(t, rt.calls, "the health check never invokes the model")
			if tt.wantCode == 503 {
				assert.Equal(t, "30", resp.Headers["Retry-After"])
			}
		})
	}
}

func TestHandleHealthIsCached(t *testing.T) {
	status := "Creating"
	st := &fakeStatus{fn: func() (string, error) { return status, nil }}
	env := newTestEnv(t, &fakeRuntime{}, st, DefaultMaxBodyBytes)
	ev := loadEvent(t, "infer-health.json")

	resp, err := env.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode)
	status = "InService"
	env.clock.t = env.clock.t.Add(healthTTL - time.Millisecond)
	resp, err = env.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode, "a fresh answer is reused")
	assert.Equal(t, 1, st.calls)

	env.clock.t = env.clock.t.Add(time.Millisecond)
	resp, err = env.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, "a stale answer is refreshed")
	assert.Equal(t, 2, st.calls)
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults", env: map[string]string{"ENDPOINT_NAME": "churn-dev"},
			want: Config{EndpointName: "churn-dev", MaxBodyBytes: DefaultMaxBodyBytes, InvokeTimeout: 10 * time.Second}},
		{name: "explicit", env: map[string]string{"ENDPOINT_NAME": "e", "MAX_BODY_BYTES": "1024", "INVOKE_TIMEOUT": "3s"},
			want: Config{EndpointName: "e", MaxBodyBytes: 1024, InvokeTimeout: 3 * time.Second}},
		{name: "everything wrong at once", env: map[string]string{"MAX_BODY_BYTES": "6291457", "INVOKE_TIMEOUT": "soon"},
			wantErr: []string{"ENDPOINT_NAME", "MAX_BODY_BYTES", "INVOKE_TIMEOUT"}},
		{name: "timeout not below API Gateway's", env: map[string]string{"ENDPOINT_NAME": "e", "INVOKE_TIMEOUT": "29s"},
			wantErr: []string{"INVOKE_TIMEOUT: 29s must be below"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(config.New(config.MapLookup(tt.env)))
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
