package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// fakeInvoker records the events it gets and answers with respond.
type fakeInvoker struct {
	fn      string
	event   []byte
	respond func(event []byte) ([]byte, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	f.fn, f.event = fn, payload
	return f.respond(payload)
}

type codedError struct{ code string }

func (e codedError) Error() string     { return e.code }
func (e codedError) ErrorCode() string { return e.code }

func newServer(t *testing.T, respond func([]byte) ([]byte, error)) (*httptest.Server, *fakeInvoker) {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join("testdata", "template.yaml"), samtemplate.Options{})
	require.NoError(t, err)
	inv := &fakeInvoker{respond: respond}
	s, err := New(tpl, inv, Options{
		Clock:  clock.NewManual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, inv
}

func ok(body string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) {
		b, _ := json.Marshal(map[string]any{"statusCode": 200, "body": body})
		return b, nil
	}
}

func TestRESTProxyEvent(t *testing.T) {
	srv, inv := newServer(t, ok("fine"))
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/items/42?x=1&x=2&y=z", nil)
	require.NoError(t, err)
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("X-Api-Key", "k1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "fine", string(body))
	assert.Equal(t, "items", inv.fn)

	var ev map[string]any
	require.NoError(t, json.Unmarshal(inv.event, &ev))
	assert.Equal(t, "/items/{id}", ev["resource"])
	assert.Equal(t, "/items/42", ev["path"])
	assert.Equal(t, "GET", ev["httpMethod"])
	assert.Equal(t, map[string]any{"id": "42"}, ev["pathParameters"])
	assert.Equal(t, map[string]any{"x": "2", "y": "z"}, ev["queryStringParameters"], "single-value parameters keep the last value")
	assert.Equal(t, map[string]any{"x": []any{"1", "2"}, "y": []any{"z"}}, ev["multiValueQueryStringParameters"])
	assert.Equal(t, "b", ev["headers"].(map[string]any)["X-Multi"])
	assert.Equal(t, []any{"a", "b"}, ev["multiValueHeaders"].(map[string]any)["X-Multi"])
	headers := ev["headers"].(map[string]any)
	assert.Equal(t, "127.0.0.1", headers["X-Forwarded-For"], "API Gateway's forwarding headers")
	assert.Equal(t, "http", headers["X-Forwarded-Proto"])
	assert.Equal(t, strings.Split(srv.Listener.Addr().String(), ":")[1], headers["X-Forwarded-Port"])
	assert.Regexp(t, `^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`, headers["X-Amzn-Trace-Id"])
	assert.Nil(t, ev["body"])
	assert.Equal(t, false, ev["isBase64Encoded"])
	assert.Nil(t, ev["stageVariables"])
	rc := ev["requestContext"].(map[string]any)
	assert.Equal(t, "live", rc["stage"])
	assert.Equal(t, "/live/items/42", rc["path"])
	assert.Equal(t, "/items/{id}", rc["resourcePath"])
	assert.Equal(t, "123456789012", rc["accountId"])
	assert.Equal(t, "25/Nov/2026:09:00:00 +0000", rc["requestTime"])
	assert.Equal(t, resp.Header.Get("x-amzn-RequestId"), rc["requestId"])
	assert.Regexp(t, `^[0-9a-f-]{36}$`, rc["requestId"])
	assert.Equal(t, "127.0.0.1", rc["identity"].(map[string]any)["sourceIp"])
	assert.Equal(t, "k1", rc["identity"].(map[string]any)["apiKey"])
	assert.Regexp(t, `^[a-z0-9]{10}$`, rc["apiId"])
}

func TestRouting(t *testing.T) {
	srv, inv := newServer(t, ok("x"))
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantResource       string
		wantParams         map[string]any
	}{
		{"literal beats parameter", "GET", "/items/all", 200, "/items/all", nil},
		{"parameter", "GET", "/items/7", 200, "/items/{id}", map[string]any{"id": "7"}},
		{"greedy proxy with ANY", "DELETE", "/files/a/b/c.txt", 200, "/files/{proxy+}", map[string]any{"proxy": "a/b/c.txt"}},
		{"implicit API", "GET", "/health", 200, "/health", nil},
		{"unknown path", "GET", "/nope", 403, "", nil},
		{"wrong method", "POST", "/items/7", 403, "", nil},
		{"greedy needs a segment", "GET", "/files", 403, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv.event = nil
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			if tt.wantStatus == 403 {
				assert.JSONEq(t, `{"message":"Missing Authentication Token"}`, string(body))
				assert.Nil(t, inv.event, "no function ran")
				return
			}
			var ev map[string]any
			require.NoError(t, json.Unmarshal(inv.event, &ev))
			assert.Equal(t, tt.wantResource, ev["resource"])
			if tt.wantParams == nil {
				assert.Nil(t, ev["pathParameters"])
			} else {
				assert.Equal(t, tt.wantParams, ev["pathParameters"])
			}
		})
	}
}

func TestRequestBodies(t *testing.T) {
	srv, inv := newServer(t, ok(""))
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2}
	tests := []struct {
		name, contentType string
		body              []byte
		wantBody          string
		wantBase64        bool
	}{
		{"text body", "text/csv", []byte("1,2,3\n"), "1,2,3\n", false},
		{"binary media type", "image/png", png, base64.StdEncoding.EncodeToString(png), true},
		{"binary media type with parameters", "application/octet-stream; charset=binary", []byte("abc"), base64.StdEncoding.EncodeToString([]byte("abc")), true},
		{"JSON", "application/json", []byte(`{"a":1}`), `{"a":1}`, false},
	}
	t.Run("Globals.Api applies to the implicit API", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/photos", strings.NewReader("jpegdata"))
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		var ev struct {
			Body            string
			IsBase64Encoded bool
		}
		require.NoError(t, json.Unmarshal(inv.event, &ev))
		assert.True(t, ev.IsBase64Encoded)
		assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("jpegdata")), ev.Body)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/upload", tt.contentType, bytes.NewReader(tt.body))
			require.NoError(t, err)
			resp.Body.Close()
			var ev struct {
				Body            string
				IsBase64Encoded bool
			}
			require.NoError(t, json.Unmarshal(inv.event, &ev))
			assert.Equal(t, tt.wantBody, ev.Body)
			assert.Equal(t, tt.wantBase64, ev.IsBase64Encoded)
		})
	}
}

func TestProxyResponseMapping(t *testing.T) {
	tests := []struct {
		name        string
		response    string
		err         error
		wantStatus  int
		wantBody    string
		wantHeaders map[string][]string
	}{
		{"status, headers and multi-value headers", `{"statusCode":201,"headers":{"X-One":"1","Content-Type":"text/plain"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"made"}`,
			nil, 201, "made", map[string][]string{"X-One": {"1"}, "Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}},
		{"base64 body", `{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"iVBORw==","isBase64Encoded":true}`,
			nil, 200, "\x89PNG", map[string][]string{"Content-Type": {"image/png"}}},
		{"no body", `{"statusCode":204}`, nil, 204, "", nil},
		{"not a proxy response", `"just a string"`, nil, 502, `{"message":"Internal server error"}`, nil},
		{"unexpected field", `{"statusCode":200,"bogus":1}`, nil, 502, `{"message":"Internal server error"}`, nil},
		{"invalid base64", `{"statusCode":200,"body":"%%%","isBase64Encoded":true}`, nil, 502, `{"message":"Internal server error"}`, nil},
		{"function error", "", errors.New("function error PermanentError: boom"), 502, `{"message":"Internal server error"}`, nil},
		{"throttled", "", codedError{"TooManyRequestsException"}, 429, `{"message":"Too Many Requests"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, func([]byte) ([]byte, error) { return []byte(tt.response), tt.err })
			resp, err := http.Get(srv.URL + "/health")
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantBody, strings.TrimSpace(string(body)))
			for k, v := range tt.wantHeaders {
				assert.Equal(t, v, resp.Header.Values(k), k)
			}
			assert.NotContains(t, string(body), "boom", "error text never reaches the client")
		})
	}
}

func TestHTTPAPIEvent(t *testing.T) {
	srv, inv := newServer(t, func([]byte) ([]byte, error) { return []byte(`{"hello":"v2"}`), nil })
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/hello/ann?a=1&a=2", strings.NewReader(`{"x":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Cookie", "c1=v1; c2=v2")
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "https://app.example.com", resp.Header.Get("Access-Control-Allow-Origin"), "HTTP APIs add CORS headers to answers")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"hello":"v2"}`, string(body), "a non-proxy answer is the JSON body")

	var ev map[string]any
	require.NoError(t, json.Unmarshal(inv.event, &ev))
	assert.Equal(t, "2.0", ev["version"])
	assert.Equal(t, "POST /v2/hello/{name}", ev["routeKey"])
	assert.Equal(t, "/v2/hello/ann", ev["rawPath"])
	assert.Equal(t, "a=1&a=2", ev["rawQueryString"])
	assert.Equal(t, map[string]any{"a": "1,2"}, ev["queryStringParameters"])
	assert.Equal(t, map[string]any{"name": "ann"}, ev["pathParameters"])
	assert.Equal(t, []any{"c1=v1", "c2=v2"}, ev["cookies"])
	assert.Equal(t, "application/json", ev["headers"].(map[string]any)["content-type"])
	assert.Equal(t, "127.0.0.1", ev["headers"].(map[string]any)["x-forwarded-for"])
	assert.Equal(t, `{"x":1}`, ev["body"])
	rc := ev["requestContext"].(map[string]any)
	assert.Equal(t, "$default", rc["stage"])
	assert.Equal(t, "POST", rc["http"].(map[string]any)["method"])
}

func TestCORSPreflight(t *testing.T) {
	srv, inv := newServer(t, ok("x"))
	tests := []struct {
		name, path  string
		wantStatus  int
		wantMethods string
	}{
		{"route of a CORS API", "/items/7", 200, "GET,OPTIONS"},
		{"greedy ANY route", "/files/a/b", 200, "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"},
		{"API without Cors", "/health", 403, ""},
		{"HTTP API CorsConfiguration", "/v2/hello/x", 200, "POST"},
		{"unknown path", "/nope", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv.event = nil
			req, _ := http.NewRequest(http.MethodOptions, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Nil(t, inv.event, "a preflight never reaches the function")
			if tt.wantStatus == 200 && strings.HasPrefix(tt.path, "/v2/") {
				assert.Equal(t, "https://app.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
				assert.Equal(t, tt.wantMethods, resp.Header.Get("Access-Control-Allow-Methods"))
				return
			}
			if tt.wantStatus == 200 {
				assert.Equal(t, "https://example.com", resp.Header.Get("Access-Control-Allow-Origin"))
				assert.Equal(t, tt.wantMethods, resp.Header.Get("Access-Control-Allow-Methods"))
				assert.Equal(t, "Content-Type,X-Api-Key", resp.Header.Get("Access-Control-Allow-Headers"))
				assert.Equal(t, "600", resp.Header.Get("Access-Control-Max-Age"))
			}
		})
	}
}

func TestWarningsNameWhatIsNotEnforced(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join("testdata", "template.yaml"), samtemplate.Options{})
	require.NoError(t, err)
	s, err := New(tpl, &fakeInvoker{}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"resource Api property Auth is not enforced by start-api",
		"resource ItemsFunction property Events.Upload.Auth is not enforced by start-api",
	}, s.Warnings())
}

func TestNewRejectsDuplicateRoutes(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Events:
        E: {Type: Api, Properties: {Path: /x, Method: get}}
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Events:
        E: {Type: Api, Properties: {Path: /x, Method: GET}}
`), samtemplate.Options{})
	require.NoError(t, err)
	_, err = New(tpl, &fakeInvoker{}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "route GET /x is served by both")
}
