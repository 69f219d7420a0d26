package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
)

// TestHandleWireProtocol runs the handler with the real SDK client against
// a server speaking SageMaker Runtime's wire protocol, so the headers sent
// and the typed errors decoded are the SDK's, not a fake's.
func TestHandleWireProtocol(t *testing.T) {
	tests := []struct {
		name            string
		event           string
		answer          func(w http.ResponseWriter, r *http.Request, body []byte)
		wantStatus      int
		wantVariant     string
		wantModelStatus float64
	}{
		{name: "prediction", event: "infer-predict-csv.json", wantStatus: 200, wantVariant: "champion"},
		{name: "target variant", event: "infer-target-variant.json", wantStatus: 200, wantVariant: "challenger"},
		{name: "model error", event: "infer-predict-csv.json", wantStatus: 502, wantModelStatus: 500,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 424, "ModelError", "Received server error (500) from primary with message "+secret,
					"OriginalStatusCode", "500", "OriginalMessage", `"`+secret+`"`,
					"LogStreamArn", `"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/churn-dev"`)
			}},
		{name: "validation error", event: "infer-predict-csv.json", wantStatus: 400,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 400, "ValidationError", "Invalid variant "+secret)
			}},
		{name: "endpoint not found", event: "infer-predict-csv.json", wantStatus: 503,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 400, "ValidationError", "Endpoint churn-dev of account 123456789012 not found. "+secret)
			}},
		{name: "model not ready", event: "infer-predict-csv.json", wantStatus: 503,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 429, "ModelNotReadyException", secret)
			}},
		{name: "throttled", event: "infer-predict-csv.json", wantStatus: 429,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 400, "ThrottlingException", "Rate exceeded "+secret)
			}},
		{name: "service unavailable", event: "infer-predict-csv.json", wantStatus: 503,
			answer: func(w http.ResponseWriter, _ *http.Request, _ []byte) {
				writeAWSError(w, 503, "ServiceUnavailable", secret)
			}},
		{name: "slow model", event: "infer-predict-csv.json", wantStatus: 504,
			answer: func(w http.ResponseWriter, r *http.Request, _ []byte) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newFakeEndpoint(t)
			fe.setAnswer(tt.answer)
			client := sagemakerruntime.NewFromConfig(fe.config(1))
			env := newTestEnv(t, client, nil, DefaultMaxBodyBytes)
			env.h.cfg.InvokeTimeout = 300 * time.Millisecond
			env.h.now = time.Now
			ev := loadEvent(t, tt.event)

			resp, err := env.h.Handle(context.Background(), ev)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, resp.StatusCode, resp.Body)
			assert.NotContains(t, resp.Body, secret)
			assert.NotContains(t, resp.Body, "arn:")

			fe.mu.Lock()
			defer fe.mu.Unlock()
			assert.Equal(t, "/endpoints/"+testEndpoint+"/invocations", fe.lastPath)
			assert.Equal(t, ev.RequestContext.RequestID, fe.lastHeaders.Get("X-Amzn-SageMaker-Inference-Id"))
			assert.Equal(t, "text/csv", fe.lastHeaders.Get("Content-Type"))
			assert.Equal(t, ev.Body, string(fe.lastBody))
			assert.Contains(t, fe.lastHeaders.Get("Authorization"), "/us-east-1/sagemaker/aws4_request", "SigV4 with SageMaker's signing name")
			if tt.wantStatus == 200 {
				assert.Equal(t, predictionBody, resp.Body)
				assert.Equal(t, tt.wantVariant, resp.Headers[ModelVariantHeader])
				assert.Equal(t, "text/csv; charset=utf-8", resp.Headers["Content-Type"])
				return
			}
			body := decodeError(t, resp.Body)
			if tt.wantModelStatus != 0 {
				assert.Equal(t, tt.wantModelStatus, body["modelStatusCode"], "OriginalStatusCode decoded from the wire")
			}
		})
	}
}

func TestControlPlaneEndpointStatus(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}
	tests := []struct {
		name       string
		status     int
		errorType  string
		body       string
		wantStatus string
		wantKind   faults.Kind
		wantCode   string
	}{
		{name: "in service", status: 200, body: `{"EndpointName":"churn-dev","EndpointStatus":"InService","ProductionVariants":[]}`, wantStatus: "InService"},
		{name: "missing endpoint", status: 400, body: `{"__type":"com.amazonaws.sagemaker#ValidationException","message":"Could not find endpoint \"churn-dev\"."}`,
			wantKind: faults.NotFound, wantCode: "ValidationException"},
		{name: "throttled by header", status: 400, errorType: "ThrottlingException:http://internal.amazon.com/", body: `{"message":"Rate exceeded"}`,
			wantKind: faults.Throttled, wantCode: "ThrottlingException"},
		{name: "server error without a code", status: 500, body: `oops`, wantKind: faults.Unavailable},
		{name: "answer without status", status: 200, body: `{}`, wantKind: faults.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signingTime := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			var sigOK bool
			var target, gotBody string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				gotBody, target = string(raw), r.Header.Get("X-Amz-Target")
				sigOK = signatureMatches(t, r, raw, creds, signingTime)
				if tt.errorType != "" {
					w.Header().Set("X-Amzn-ErrorType", tt.errorType)
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.StaticCredentialsProvider{Value: creds}}
			cp := NewControlPlane(cfg, func() time.Time { return signingTime })

			got, err := cp.EndpointStatus(context.Background(), "churn-dev")
			assert.Equal(t, "SageMaker.DescribeEndpoint", target)
			assert.JSONEq(t, `{"EndpointName":"churn-dev"}`, gotBody)
			assert.True(t, sigOK, "the request carries a valid SigV4 signature")
			if tt.wantStatus != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, got)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.wantKind, faults.KindOf(err), err.Error())
			assert.Equal(t, tt.wantCode, faults.Code(err))
		})
	}
}

// signatureMatches re-signs the received request with the same inputs and
// compares the Authorization headers.
func signatureMatches(t *testing.T, r *http.Request, body []byte, creds aws.Credentials, at time.Time) bool {
	t.Helper()
	clone, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
	require.NoError(t, err)
	for _, h := range []string{"Content-Type", "X-Amz-Target"} {
		clone.Header.Set(h, r.Header.Get(h))
	}
	sum := sha256Hex(body)
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, clone, sum, "sagemaker", "us-east-1", at))
	return r.Header.Get("Authorization") == clone.Header.Get("Authorization") &&
		r.Header.Get("X-Amz-Security-Token") == "token"
}

func TestNewControlPlaneEndpoint(t *testing.T) {
	tests := []struct {
		name string
		cfg  aws.Config
		want string
	}{
		{name: "regional", cfg: aws.Config{Region: "eu-west-1"}, want: "https://api.sagemaker.eu-west-1.amazonaws.com/"},
		{name: "china", cfg: aws.Config{Region: "cn-north-1"}, want: "https://api.sagemaker.cn-north-1.amazonaws.com.cn/"},
		{name: "base endpoint", cfg: aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:4566/")}, want: "http://127.0.0.1:4566/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, NewControlPlane(tt.cfg, time.Now).url)
		})
	}
}

func TestControlPlaneNeedsRegionAndCredentials(t *testing.T) {
	_, err := NewControlPlane(aws.Config{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, time.Now).EndpointStatus(context.Background(), "e")
	assert.ErrorContains(t, err, "no AWS region")
	_, err = NewControlPlane(aws.Config{Region: "us-east-1"}, time.Now).EndpointStatus(context.Background(), "e")
	assert.ErrorContains(t, err, "no AWS credentials")
}

// newWireHandler is a handler with the real SDK client pointed at fe.
func newWireHandler(fe *fakeEndpoint, m *metrics.Emitter) *Handler {
	cfg := Config{EndpointName: testEndpoint, MaxBodyBytes: DefaultMaxBodyBytes, InvokeTimeout: 5 * time.Second}
	client := sagemakerruntime.NewFromConfig(fe.config(3))
	return NewHandler(cfg, client, nil, m, discardLogger(), time.Now)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
