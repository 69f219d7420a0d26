package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidVariant(t *testing.T) {
	tests := []struct {
		variant string
		want    bool
	}{
		{"champion", true},
		{"AllTraffic", true},
		{"blue-2", true},
		{"a--b", true},
		{"7", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-lead", false},
		{"trail-", false},
		{"under_score", false},
		{"spa ce", false},
		{"dot.ted", false},
		{"ünïcode", false},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			assert.Equal(t, tt.want, validVariant(tt.variant))
		})
	}
}

func TestHeaderLookup(t *testing.T) {
	tests := []struct {
		name   string
		ev     events.APIGatewayProxyRequest
		want   string
		wantOK bool
	}{
		{name: "exact", ev: events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": "text/csv"}}, want: "text/csv", wantOK: true},
		{name: "any case", ev: events.APIGatewayProxyRequest{Headers: map[string]string{"cOnTeNt-TyPe": "text/csv"}}, want: "text/csv", wantOK: true},
		{name: "multi-value only", ev: events.APIGatewayProxyRequest{MultiValueHeaders: map[string][]string{"content-type": {"a", "text/csv"}}}, want: "text/csv", wantOK: true},
		{name: "absent", ev: events.APIGatewayProxyRequest{Headers: map[string]string{"Accept": "*/*"}}},
		{name: "nil maps", ev: events.APIGatewayProxyRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := header(&tt.ev, "Content-Type")
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// zeroAllocInvoker answers with a pre-built output and records nothing, so
// AllocsPerRun counts the handler alone.
type zeroAllocInvoker struct {
	out *sagemakerruntime.InvokeEndpointOutput
}

func (z zeroAllocInvoker) InvokeEndpoint(context.Context, *sagemakerruntime.InvokeEndpointInput, ...func(*sagemakerruntime.Options)) (*sagemakerruntime.InvokeEndpointOutput, error) {
	return z.out, nil
}

// TestHandlePredictAllocations bounds what the proxy itself allocates per
// warm prediction (parsing, deadline, EMF record, response); the SDK call
// comes on top (about 380, see docs/inference.md) within a 400 budget.
func TestHandlePredictAllocations(t *testing.T) {
	rt := zeroAllocInvoker{out: &sagemakerruntime.InvokeEndpointOutput{
		Body: []byte("0.1873\n"), ContentType: aws.String("text/csv"), InvokedProductionVariant: aws.String("champion"),
	}}
	env := newTestEnv(t, rt, nil, DefaultMaxBodyBytes)
	env.h.metrics = discardMetrics()
	env.h.log = discardLogger()
	ev := loadEvent(t, "infer-predict-csv.json")
	ctx, cancel := lambdaContext()
	defer cancel()
	allocs := testing.AllocsPerRun(200, func() {
		if resp, _ := env.h.Handle(ctx, ev); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Logf("handler allocations per warm prediction, SDK excluded: %.0f", allocs)
	assert.LessOrEqual(t, allocs, 15.0)
}

// FuzzParseRequest feeds arbitrary headers, query and bodies to the
// request parser: it must never panic, and whatever it accepts must be
// within the cap, of an allowed type, and valid JSON when declared so.
func FuzzParseRequest(f *testing.F) {
	for _, name := range []string{"infer-predict-csv.json", "infer-predict-json.json", "infer-predict-base64.json",
		"infer-unsupported-type.json", "infer-malformed-json.json", "infer-target-variant.json", "infer-bad-variant.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		require.NoError(f, err)
		var ev events.APIGatewayProxyRequest
		require.NoError(f, json.Unmarshal(raw, &ev))
		f.Add(ev.Headers["Content-Type"], ev.Headers[TargetVariantHeader], ev.QueryStringParameters[TargetVariantQuery], ev.Body, ev.IsBase64Encoded)
	}
	const maxBody = 64
	f.Fuzz(func(t *testing.T, contentType, variantHeader, variantQuery, body string, isBase64 bool) {
		ev := events.APIGatewayProxyRequest{
			Headers:               map[string]string{"Content-Type": contentType, TargetVariantHeader: variantHeader},
			QueryStringParameters: map[string]string{TargetVariantQuery: variantQuery},
			Body:                  body,
			IsBase64Encoded:       isBase64,
		}
		req, rerr := parseRequest(&ev, maxBody)
		if rerr != nil {
			assert.Contains(t, []int{400, 413, 415}, rerr.status)
			assert.NotEmpty(t, rerr.message)
			return
		}
		assert.NotEmpty(t, req.body)
		media := strings.ToLower(mediaType(req.contentType))
		assert.Equal(t, "text/csv", media, "the model is only ever sent CSV")
		if req.isJSON {
			// JSON rows of numbers became CSV rows: digits, signs,
			// exponents, dots, commas and new lines only.
			assert.Equal(t, "application/json", strings.ToLower(mediaType(contentType)))
			assert.Empty(t, strings.Trim(string(req.body), "0123456789+-.eE,\n"), "CSV from JSON: %q", req.body)
		} else {
			assert.LessOrEqual(t, len(req.body), maxBody)
			if !isBase64 {
				assert.Equal(t, body, string(req.body))
			}
		}
		if req.variant != "" {
			assert.True(t, validVariant(req.variant))
		}
	})
}

// TestFixturesAreRESTProxyEvents keeps events/infer-*.json shaped like the
// events API Gateway's REST proxy integration sends: every field known to
// events.APIGatewayProxyRequest, single- and multi-value maps agreeing,
// and the request context matching the route.
func TestFixturesAreRESTProxyEvents(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "infer-*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 7)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			// API Gateway sends requestContext.deploymentId and
			// identity.principalOrgId, which the Go struct lacks; every
			// other field must be known to it.
			rcDoc := doc["requestContext"].(map[string]any)
			identity := rcDoc["identity"].(map[string]any)
			assert.Contains(t, rcDoc, "deploymentId")
			assert.Contains(t, identity, "principalOrgId")
			delete(rcDoc, "deploymentId")
			delete(identity, "principalOrgId")
			stripped, err := json.Marshal(doc)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(stripped))
			dec.DisallowUnknownFields()
			var ev events.APIGatewayProxyRequest
			require.NoError(t, dec.Decode(&ev), "a field API Gateway does not send, or a misspelt one")
			for _, key := range []string{"resource", "path", "httpMethod", "headers", "multiValueHeaders",
				"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables",
				"requestContext", "body", "isBase64Encoded"} {
				assert.Contains(t, doc, key)
			}
			assert.Contains(t, []string{PredictionsResource, HealthResource}, ev.Resource)
			rc := ev.RequestContext
			assert.Equal(t, ev.Resource, rc.ResourcePath)
			assert.Equal(t, ev.HTTPMethod, rc.HTTPMethod)
			assert.Equal(t, "/"+rc.Stage+ev.Path, rc.Path)
			assert.NotEmpty(t, rc.RequestID)
			assert.NotEmpty(t, rc.Identity.SourceIP)
			assert.Len(t, ev.MultiValueHeaders, len(ev.Headers))
			for k, v := range ev.Headers {
				vs := ev.MultiValueHeaders[k]
				require.NotEmpty(t, vs, k)
				assert.Equal(t, v, vs[len(vs)-1], k)
			}
			assert.Len(t, ev.MultiValueQueryStringParameters, len(ev.QueryStringParameters))
			for k, v := range ev.QueryStringParameters {
				vs := ev.MultiValueQueryStringParameters[k]
				require.NotEmpty(t, vs, k)
				assert.Equal(t, v, vs[len(vs)-1], k)
			}
			if ev.IsBase64Encoded {
				_, err := base64.StdEncoding.DecodeString(ev.Body)
				assert.NoError(t, err)
			}
		})
	}
}

func TestEndpointMissing(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"Endpoint churn-dev of account 123456789012 not found.", true},
		{"Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev\".", true},
		{"Endpoint churn-dev is not in service.", true},
		{"1 validation error detected: Value at 'body' failed to satisfy constraint", false},
		{"Variant not found", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			assert.Equal(t, tt.want, endpointMissing(tt.msg))
		})
	}
}

func TestJSONToCSV(t *testing.T) {
	tests := []struct {
		name, body, want string
		wantErr          *requestError
	}{
		{"instances", `{"instances": [[12, 70.5, 3, 1], [48, 20.0, 0, 2]]}`, "12,70.5,3,1\n48,20,0,2", nil},
		{"rows", `[[1, 2], [3, 4]]`, "1,2\n3,4", nil},
		{"one row", `[1.5, null, 1e3]`, "1.5,,1000", nil},
		{"strings are refused", `[["a", 1]]`, "", errJSONShape},
		{"an object without instances", `{"rows": [[1]]}`, "", errJSONShape},
		{"a number", `42`, "", errJSONShape},
		{"no rows", `[]`, "", errJSONRows},
		{"ragged rows", `[[1, 2], [3]]`, "", errJSONRows},
		{"empty row", `[[]]`, "", errJSONRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rerr := jsonToCSV([]byte(tt.body))
			assert.Equal(t, tt.wantErr, rerr)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestPredictionsJSON(t *testing.T) {
	tests := []struct {
		name, answer, want string
		ok                 bool
	}{
		{"comma separated", "0.1,0.9", `{"predictions":[0.1,0.9]}`, true},
		{"new lines", "0.1\n0.9\n", `{"predictions":[0.1,0.9]}`, true},
		{"not numbers", `{"error": "x"}`, "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := predictionsJSON([]byte(tt.answer))
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.JSONEq(t, tt.want, string(got))
			}
		})
	}
}
