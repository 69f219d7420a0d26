package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
)

func responseError(status int) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("boom")}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      Kind
		transient bool
	}{
		{"nil", nil, Unknown, false},
		{"plain error", errors.New("x"), Unknown, true},
		{"platform invalid", Invalidf("bad key %q", "k"), Invalid, false},
		{"wrapped platform invalid", fmt.Errorf("ingest: %w", Invalidf("bad")), Invalid, false},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), Timeout, true},
		{"typed SDK error", &sfntypes.ExecutionAlreadyExists{Message: new(string)}, Conflict, false},
		{"throttling code", &smithy.GenericAPIError{Code: "ThrottlingException"}, Throttled, true},
		{"validation code", &smithy.GenericAPIError{Code: "ValidationException"}, Invalid, false},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, Denied, false},
		{"not found", &smithy.GenericAPIError{Code: "ResourceNotFound"}, NotFound, false},
		{"s3 conditional write lost", &smithy.GenericAPIError{Code: "PreconditionFailed"}, Conflict, false},
		{"glue concurrency", &smithy.GenericAPIError{Code: "ConcurrentRunsExceededException"}, Throttled, true},
		{"retries exhausted keep the cause", &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.GenericAPIError{Code: "ThrottlingException"}}, Throttled, true},
		{"http 503 without code", responseError(503), Unavailable, true},
		{"http 429 without code", responseError(429), Throttled, true},
		{"http 400 without code", responseError(400), Invalid, false},
		{"sagemaker duplicate name", &smithy.GenericAPIError{Code: "ValidationException", Message: "Cannot create already existing model \"m\"."}, Conflict, false},
		{"sagemaker duplicate training job", &smithy.GenericAPIError{Code: "ValidationException", Message: "Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:...)"}, Conflict, false},
		{"sagemaker endpoint busy", &smithy.GenericAPIError{Code: "ValidationException", Message: "Cannot update in-progress endpoint \"e\"."}, Conflict, false},
		{"sagemaker missing endpoint", &smithy.GenericAPIError{Code: "ValidationException", Message: "Could not find endpoint \"e\"."}, NotFound, false},
		{"sagemaker runtime missing endpoint", &smithy.GenericAPIError{Code: "ValidationError", Message: "Endpoint e of account 123456789012 not found."}, NotFound, false},
		{"other validation message stays invalid", &smithy.GenericAPIError{Code: "ValidationException", Message: "1 validation error detected: Value 'x' at 'instanceType'"}, Invalid, false},
		{"phrase under another code is not refined", &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "queue already exists"}, Invalid, false},
		{"unknown code falls to status", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 502}}, Err: &smithy.GenericAPIError{Code: "Weird"}}, Unavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, KindOf(tt.err))
			assert.Equal(t, tt.transient, IsTransient(tt.err))
		})
	}
}

func TestWrapAndCode(t *testing.T) {
	assert.Nil(t, Wrap(Invalid, nil))
	err := Wrap(NotFound, &smithy.GenericAPIError{Code: "NoSuchKey"})
	assert.Equal(t, NotFound, KindOf(err))
	assert.Equal(t, "NoSuchKey", Code(err))
	assert.Equal(t, "", Code(errors.New("x")))
	assert.Equal(t, "throttled", Throttled.String())
}

func TestForTaskNamesTheClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, TransientErrorName},
		{"unknown", errors.New("x"), TransientErrorName},
		{"invalid", Invalidf("bad"), PermanentErrorName},
		{"not found", &smithy.GenericAPIError{Code: "ResourceNotFound"}, PermanentErrorName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ForTask(fmt.Errorf("step: %w", tt.err))
			var ire messages.InvokeResponse_Error
			assert.ErrorAs(t, got, &ire)
			assert.Equal(t, tt.want, ire.Type)
			assert.Contains(t, ire.Message, "step: ")
		})
	}
	assert.NoError(t, ForTask(nil))
}
