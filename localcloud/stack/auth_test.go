package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

func signed(t *testing.T, method, url, service, region string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, url, nil)
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()))
	return req
}

func TestAPIAuthorizer(t *testing.T) {
	tpl, err := samtemplate.Load("testdata/template.yaml", samtemplate.Options{})
	require.NoError(t, err)
	routes, err := authRoutes(tpl)
	require.NoError(t, err)
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	auth := &apiAuthorizer{routes: routes, region: "us-east-1", next: next}

	tests := []struct {
		name     string
		req      func(t *testing.T) *http.Request
		status   int
		errType  string
		contains string
	}{
		{"signed for execute-api", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/signed/ann", "execute-api", "us-east-1")
		}, http.StatusTeapot, "", ""},
		{"unsigned", func(t *testing.T) *http.Request { return httptest.NewRequest("GET", "/signed/ann", nil) },
			http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"signed for another service", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/signed/ann", "s3", "us-east-1")
		}, http.StatusForbidden, "InvalidSignatureException", "execute-api"},
		{"signed for another region", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/signed/ann", "execute-api", "eu-west-1")
		}, http.StatusForbidden, "InvalidSignatureException", "region"},
		{"another algorithm", func(t *testing.T) *http.Request {
			r := httptest.NewRequest("GET", "/signed/ann", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, http.StatusForbidden, "IncompleteSignatureException", ""},
		{"no signature", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/signed/ann", "execute-api", "us-east-1")
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, ", Signature=")])
			return r
		}, http.StatusForbidden, "IncompleteSignatureException", "Signature"},
		{"host not signed", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/signed/ann", "execute-api", "us-east-1")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
			return r
		}, http.StatusForbidden, "IncompleteSignatureException", "host"},
		{"no X-Amz-Date", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/signed/ann", "execute-api", "us-east-1")
			r.Header.Del("X-Amz-Date")
			return r
		}, http.StatusForbidden, "IncompleteSignatureException", "X-Amz-Date"},
		{"scope date differs from X-Amz-Date", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/signed/ann", "execute-api", "us-east-1")
			r.Header.Set("X-Amz-Date", "19990101T000000Z")
			return r
		}, http.StatusForbidden, "InvalidSignatureException", "Date"},
		{"route without an authorizer", func(t *testing.T) *http.Request { return httptest.NewRequest("GET", "/open/bob", nil) },
			http.StatusTeapot, "", ""},
		{"unknown route goes to the API server", func(t *testing.T) *http.Request { return httptest.NewRequest("GET", "/nope", nil) },
			http.StatusTeapot, "", ""},
		{"other method of a signed path", func(t *testing.T) *http.Request { return httptest.NewRequest("POST", "/signed/ann", nil) },
			http.StatusTeapot, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			auth.ServeHTTP(w, tt.req(t))
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, tt.errType, w.Header().Get("x-amzn-ErrorType"))
			assert.Contains(t, w.Body.String(), tt.contains)
		})
	}
}

func TestDefinitionAuth(t *testing.T) {
	def := map[string]any{
		"components": map[string]any{"securitySchemes": map[string]any{
			"sigv4":   map[string]any{"x-amazon-apigateway-authtype": "awsSigv4"},
			"cognito": map[string]any{"x-amazon-apigateway-authtype": "cognito_user_pools"},
			"api_key": map[string]any{"type": "apiKey", "name": "x-api-key"},
		}},
		"paths": map[string]any{
			"/iam":    map[string]any{"post": map[string]any{"security": []any{map[string]any{"sigv4": []any{}, "api_key": []any{}}}}},
			"/pool":   map[string]any{"get": map[string]any{"security": []any{map[string]any{"cognito": []any{}}}}},
			"/key":    map[string]any{"get": map[string]any{"security": []any{map[string]any{"api_key": []any{}}}}},
			"/silent": map[string]any{"get": map[string]any{}},
		},
	}
	tests := []struct {
		name, path, method, want string
		ok                       bool
	}{
		{"sigv4 with an API key is AWS_IAM", "/iam", "POST", AuthIAM, true},
		{"cognito", "/pool", "GET", "COGNITO_USER_POOLS", true},
		{"an API key alone authenticates nobody", "/key", "GET", AuthNone, true},
		{"no security: the API's default applies", "/silent", "GET", "", false},
		{"unknown path", "/other", "GET", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := definitionAuth(def, tt.path, tt.method)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
