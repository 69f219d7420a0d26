package endpoint

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sdkConfig(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(url),
	}
}

func signed(method, path, service string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(""))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=x")
	return r
}

func TestRouterRoutesByCredentialScope(t *testing.T) {
	rt := NewRouter(nil)
	hit := map[string]int{}
	for _, svc := range []string{"s3", "sagemaker", SageMakerRuntime} {
		rt.Handle(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hit[svc]++
			w.WriteHeader(http.StatusNoContent)
		}))
	}
	tests := []struct {
		name, method, path, service, want string
	}{
		{"s3", http.MethodGet, "/bucket/key", "s3", "s3"},
		{"sagemaker control plane", http.MethodPost, "/", "sagemaker", "sagemaker"},
		{"sagemaker runtime", http.MethodPost, "/endpoints/churn/invocations", "sagemaker", SageMakerRuntime},
		{"sagemaker runtime async", http.MethodPost, "/endpoints/churn/async-invocations", "sagemaker", SageMakerRuntime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hit[tt.want]
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, signed(tt.method, tt.path, tt.service))
			assert.Equal(t, http.StatusNoContent, w.Code)
			assert.Equal(t, before+1, hit[tt.want])
		})
	}
	assert.Equal(t, []string{"s3", "sagemaker", SageMakerRuntime}, rt.Services())
}

func TestRouterErrorsAreAWSShaped(t *testing.T) {
	rt := NewRouter(nil)
	rt.Handle("events", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	tests := []struct {
		name        string
		req         func() *http.Request
		wantStatus  int
		wantInBody  string
		contentType string
	}{
		{"unsigned", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, 403, "<Code>MissingAuthenticationTokenException</Code>", "application/xml"},
		{"unknown service rest", func() *http.Request { return signed(http.MethodGet, "/", "dynamodb") }, 400, "<Code>UnknownOperationException</Code>", "application/xml"},
		{"unknown service json", func() *http.Request {
			r := signed(http.MethodPost, "/", "kinesis")
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.PutRecord")
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			return r
		}, 400, `"__type":"UnknownOperationException"`, "application/x-amz-json-1.1"},
		{"panic becomes 500 with body", func() *http.Request {
			r := signed(http.MethodPost, "/", "events")
			r.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			return r
		}, 500, `"__type":"InternalFailure"`, "application/x-amz-json-1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, tt.req())
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Contains(t, w.Body.String(), tt.wantInBody)
			assert.Equal(t, tt.contentType, w.Header().Get("Content-Type"))
			assert.NotEmpty(t, w.Header().Get("x-amzn-RequestId"))
		})
	}
}

// TestUnknownServiceThroughSDK checks that real SDK clients (AWS JSON 1.0
// and query protocol) decode the router's errors into API errors.
func TestUnknownServiceThroughSDK(t *testing.T) {
	srv, err := Start("127.0.0.1:0", NewRouter(nil))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Close(ctx))
	})
	cfg := sdkConfig(srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err = sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, "UnknownOperationException", apiErr.ErrorCode())

	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	assert.Equal(t, "UnknownOperationException", apiErr.ErrorCode())
	assert.Contains(t, apiErr.ErrorMessage(), `"sts"`)
}

func TestStartRefusesNonLoopback(t *testing.T) {
	_, err := Start("0.0.0.0:0", NewRouter(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
}

func TestServerServesAndStops(t *testing.T) {
	rt := NewRouter(nil)
	rt.Handle("s3", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	srv, err := Start("127.0.0.1:0", rt)
	require.NoError(t, err)
	assert.NotZero(t, srv.Port())
	req := signed(http.MethodGet, "/", "s3")
	req.RequestURI = ""
	req.URL.Scheme, req.URL.Host = "http", strings.TrimPrefix(srv.URL(), "http://")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "ok", string(body))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Close(ctx))
	require.NoError(t, srv.Close(ctx), "a second Close returns at once")
	_, err = http.DefaultClient.Do(req)
	assert.Error(t, err)
}

func TestRegisterFlags(t *testing.T) {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var c Config
	RegisterFlags(fs, &c)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, "127.0.0.1:4566", c.Addr())
	assert.Equal(t, ".localcloud", c.StateDir)
	require.NoError(t, fs.Parse([]string{"--port", "5000", "--state-dir", "/tmp/x"}))
	assert.Equal(t, "127.0.0.1:5000", c.Addr())
	assert.Equal(t, "/tmp/x", c.StateDir)
}
