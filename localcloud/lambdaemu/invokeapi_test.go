package lambdaemu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sdkClient(t *testing.T, h *harness) *lambda.Client {
	t.Helper()
	srv := httptest.NewServer(h.svc)
	t.Cleanup(srv.Close)
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      aws.NopRetryer{},
	})
}

func TestInvokeAPIThroughTheSDK(t *testing.T) {
	h := newHarness(t, nil)
	client := sdkClient(t, h)
	ctx := context.Background()

	t.Run("request response with log tail", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("EchoFunction"),
			Payload:      []byte(`{"sdk":1,"log":"from the sdk"}`),
			LogType:      lambdatypes.LogTypeTail,
		})
		require.NoError(t, err)
		assert.Equal(t, int32(200), out.StatusCode)
		assert.Nil(t, out.FunctionError)
		assert.Equal(t, "$LATEST", aws.ToString(out.ExecutedVersion))
		var r echoResponse
		require.NoError(t, json.Unmarshal(out.Payload, &r))
		assert.JSONEq(t, `{"sdk":1,"log":"from the sdk"}`, string(r.Event))
		logs, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		require.NoError(t, err)
		assert.Contains(t, string(logs), "START RequestId: "+r.RequestID)
		assert.Contains(t, string(logs), "from the sdk")
	})
	t.Run("by ARN", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(h.tpl.ARN("EchoFunction")), Payload: []byte(`{}`)})
		require.NoError(t, err)
		assert.Nil(t, out.FunctionError)
	})
	t.Run("function error", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("fail"), Payload: []byte(`{"x":2}`)})
		require.NoError(t, err, "a function error is a successful Invoke call")
		assert.Equal(t, "Unhandled", aws.ToString(out.FunctionError))
		assert.JSONEq(t, `{"errorMessage":"bad input: {\"x\":2}","errorType":"PermanentError"}`, string(out.Payload))
	})
	t.Run("event", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"ev":1}`)})
		require.NoError(t, err)
		assert.Equal(t, int32(202), out.StatusCode)
		d := h.dest.next(t, 30*time.Second)
		assert.Contains(t, string(d.body), `"condition":"Success"`)
		assert.Contains(t, string(d.body), `"requestPayload":{"ev":1}`)
	})
	t.Run("dry run", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: lambdatypes.InvocationTypeDryRun})
		require.NoError(t, err)
		assert.Equal(t, int32(204), out.StatusCode)
	})

	errCases := []struct {
		name     string
		in       *lambda.InvokeInput
		wantCode string
		check    func(t *testing.T, err error)
	}{
		{"unknown function", &lambda.InvokeInput{FunctionName: aws.String("nope")}, "ResourceNotFoundException", func(t *testing.T, err error) {
			var nf *lambdatypes.ResourceNotFoundException
			require.ErrorAs(t, err, &nf)
			assert.Contains(t, nf.ErrorMessage(), "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope")
		}},
		{"malformed event", &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: []byte(`{`)}, "InvalidRequestContentException", func(t *testing.T, err error) {
			var ic *lambdatypes.InvalidRequestContentException
			require.ErrorAs(t, err, &ic)
		}},
		{"unknown function on dry run", &lambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: lambdatypes.InvocationTypeDryRun}, "ResourceNotFoundException", nil},
		{"malformed event on Event invocation", &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`[`)}, "InvalidRequestContentException", nil},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.Invoke(ctx, tt.in)
			var apiErr smithy.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantCode, apiErr.ErrorCode())
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestInvokeAPIThrottleThroughTheSDK(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.svc.Build())
	client := sdkClient(t, h)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("SerialFunction"), Payload: []byte(`{"sleepMs":700}`)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	throttles := 0
	for err := range errs {
		if err == nil {
			continue
		}
		var tm *lambdatypes.TooManyRequestsException
		require.ErrorAs(t, err, &tm)
		assert.Equal(t, lambdatypes.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded, tm.Reason)
		throttles++
	}
	assert.GreaterOrEqual(t, throttles, 1)
}

func TestInvokeAPIRejectsOtherRoutes(t *testing.T) {
	h := newHarness(t, nil)
	srv := httptest.NewServer(h.svc)
	defer srv.Close()
	tests := []struct {
		name, method, path, invocationType string
		wantStatus                         int
		wantType                           string
	}{
		{"other operation", http.MethodGet, "/2015-03-31/functions/EchoFunction/policy", "", 404, "UnknownOperationException"},
		{"other service path", http.MethodPost, "/2015-03-31/event-source-mappings/", "", 404, "UnknownOperationException"},
		{"wrong method", http.MethodGet, "/2015-03-31/functions/EchoFunction/invocations", "", 405, "UnknownOperationException"},
		{"bad invocation type", http.MethodPost, "/2015-03-31/functions/EchoFunction/invocations", "Later", 400, "InvalidParameterValueException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{}`))
			require.NoError(t, err)
			if tt.invocationType != "" {
				req.Header.Set("X-Amz-Invocation-Type", tt.invocationType)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantType, resp.Header.Get("x-amzn-ErrorType"))
			assert.True(t, json.Valid(body), "body %q", body)
			assert.NotEmpty(t, resp.Header.Get("x-amzn-RequestId"))
		})
	}
}

func TestReadOperationsThroughTheSDK(t *testing.T) {
	h := newHarness(t, nil)
	client := sdkClient(t, h)
	ctx := context.Background()

	list, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	require.NoError(t, err)
	var names []string
	for _, f := range list.Functions {
		names = append(names, aws.ToString(f.FunctionName))
	}
	assert.Equal(t, h.svc.FunctionNames(), names)

	got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("SerialFunction")})
	require.NoError(t, err)
	cfg := got.Configuration
	assert.Equal(t, h.tpl.ARN("SerialFunction"), aws.ToString(cfg.FunctionArn))
	assert.Equal(t, int32(5), aws.ToInt32(cfg.Timeout))
	assert.Equal(t, int32(256), aws.ToInt32(cfg.MemorySize))
	assert.Equal(t, "hello", cfg.Environment.Variables["GREETING"])
	assert.Equal(t, lambdatypes.StateActive, cfg.State)
	require.NotNil(t, got.Concurrency)
	assert.Equal(t, int32(1), aws.ToInt32(got.Concurrency.ReservedConcurrentExecutions))

	conf, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(h.tpl.ARN("EchoFunction"))})
	require.NoError(t, err)
	assert.Equal(t, "localcloud-EchoFunction", aws.ToString(conf.FunctionName))

	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var nf *lambdatypes.ResourceNotFoundException
	require.ErrorAs(t, err, &nf)
}
