package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		auth    string
		query   string
		want    Scope
		wantErr string
	}{
		{
			name: "authorization header",
			auth: "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			want: Scope{AccessKey: "AKID", Date: "20250101", Region: "eu-west-1", Service: "s3"},
		},
		{
			name:  "presigned query",
			query: "X-Amz-Credential=AKID%2F20250101%2Fus-east-1%2Fevents%2Faws4_request",
			want:  Scope{AccessKey: "AKID", Date: "20250101", Region: "us-east-1", Service: "events"},
		},
		{name: "unsigned", wantErr: "not SigV4-signed"},
		{name: "no credential", auth: "AWS4-HMAC-SHA256 SignedHeaders=host", wantErr: "no Credential"},
		{name: "short scope", auth: "AWS4-HMAC-SHA256 Credential=AKID/20250101/s3/aws4_request", wantErr: "malformed"},
		{name: "empty service", auth: "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1//aws4_request", wantErr: "lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/?"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			got, err := ParseScope(r)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestJSONTarget(t *testing.T) {
	tests := []struct {
		name, header, prefix, op string
		ok                       bool
	}{
		{"events", "AWSEvents.PutEvents", "AWSEvents", "PutEvents", true},
		{"sqs", "AmazonSQS.SendMessage", "AmazonSQS", "SendMessage", true},
		{"missing", "", "", "", false},
		{"no dot", "PutEvents", "", "", false},
		{"trailing dot", "AWSEvents.", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Amz-Target", tt.header)
			p, op, ok := JSONTarget(r)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.prefix, p)
			assert.Equal(t, tt.op, op)
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string
		want     map[string]any
	}{
		{name: "object", body: `{"a":1}`, want: map[string]any{"a": 1.0}},
		{name: "empty body", body: ``, want: map[string]any{}},
		{name: "malformed", body: `{"a":`, wantCode: "SerializationException"},
		{name: "too large", body: `"` + strings.Repeat("x", MaxBodyBytes) + `"`, wantCode: "RequestEntityTooLargeException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			got := map[string]any{}
			err := DecodeJSON(r, &got)
			if tt.wantCode != "" {
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.wantCode, e.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWriteJSONError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
	}{
		{"aws error", Errorf(404, "ResourceNotFoundException", "rule %q not found", "r"), 404, "ResourceNotFoundException"},
		{"wrapped aws error", fmt.Errorf("ctx: %w", Validation("bad")), 400, "ValidationException"},
		{"plain error hides text", errors.New("disk on fire"), 500, "InternalFailure"},
		{"unknown op", UnknownOperation("Frobnicate"), 400, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Content-Type", "application/x-amz-json-1.0")
			w := httptest.NewRecorder()
			WriteJSONError(w, r, tt.err)
			assert.Equal(t, tt.wantStatus, w.Code)
			assert.Equal(t, tt.wantType, w.Header().Get("x-amzn-ErrorType"))
			assert.Equal(t, "application/x-amz-json-1.0", w.Header().Get("Content-Type"))
			assert.NotEmpty(t, w.Header().Get("x-amzn-RequestId"))
			var body map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.Equal(t, tt.wantType, body["__type"])
			assert.NotContains(t, body["message"], "disk on fire")
		})
	}
}

func TestWriteQuery(t *testing.T) {
	type result struct {
		Name string `xml:"Name"`
	}
	w := httptest.NewRecorder()
	WriteQuery(w, "GetThing", "https://example.com/doc/", result{Name: "a<b"})
	require.Equal(t, 200, w.Code)
	var env struct {
		Result    result `xml:"GetThingResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	require.NoError(t, xml.Unmarshal(w.Body.Bytes(), &env))
	assert.Equal(t, "a<b", env.Result.Name)
	assert.Equal(t, w.Header().Get("x-amzn-RequestId"), env.RequestID)
}

func TestWriteQueryError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		wantType string
	}{
		{"sender", Errorf(404, "NotFound", "topic <x> not found"), 404, "Sender"},
		{"receiver", errors.New("boom"), 500, "Receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteQueryError(w, tt.err)
			assert.Equal(t, tt.status, w.Code)
			var env struct {
				Type    string `xml:"Error>Type"`
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
			}
			require.NoError(t, xml.Unmarshal(w.Body.Bytes(), &env))
			assert.Equal(t, tt.wantType, env.Type)
			assert.Equal(t, AsError(tt.err).Code, env.Code)
			assert.Equal(t, AsError(tt.err).Message, env.Message)
		})
	}
}

func TestWriteRESTXMLError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteRESTXMLError(w, Errorf(404, "NoSuchBucket", "The specified bucket does not exist"))
	assert.Equal(t, 404, w.Code)
	var e struct {
		Code, Message string
		RequestID     string `xml:"RequestId"`
	}
	require.NoError(t, xml.Unmarshal(w.Body.Bytes(), &e))
	assert.Equal(t, "NoSuchBucket", e.Code)
	assert.Equal(t, w.Header().Get("x-amz-request-id"), e.RequestID)
}

func TestQueryAction(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=Publish&TopicArn=arn%3Ax&Message=hi"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assert.True(t, IsQueryProtocol(r))
	action, form, err := QueryAction(r)
	require.NoError(t, err)
	assert.Equal(t, "Publish", action)
	assert.Equal(t, "arn:x", form.Get("TopicArn"))
}

func TestInvalidAction(t *testing.T) {
	assert.Equal(t, "InvalidAction", InvalidAction("Frobnicate").Code)
	assert.Contains(t, InvalidAction("Frobnicate").Message, "Frobnicate")
	assert.Equal(t, "MissingAction", InvalidAction("").Code)
}

func TestNewRequestIDUnique(t *testing.T) {
	a, b := NewRequestID(), NewRequestID()
	assert.NotEqual(t, a, b)
	assert.Len(t, a, 36)
}
