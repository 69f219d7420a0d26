// Package faults classifies errors into the kinds that drive behaviour.
//
// Every handler decides the same way whether to retry, to drop, or to count a
// duplicate: a permanent error (bad input, validation, access) is logged and
// dropped or answered 4xx so retries do not loop; a transient one (throttling,
// timeouts, 5xx) is returned so Lambda, Step Functions or EventBridge retry it
// and finally dead-letter it. This is the only place that maps AWS error codes
// to kinds.
package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind is the class of an error.
type Kind int

// The kinds, from the least to the most specific handling.
const (
	// Unknown errors are treated as transient: retrying an unknown failure is
	// safer than dropping work, and retries end in a dead-letter queue.
	Unknown Kind = iota
	// Invalid input or a request AWS rejected as malformed. Permanent.
	Invalid
	// Denied by IAM or a policy. Permanent until someone changes the policy.
	Denied
	// NotFound: the resource does not exist. Permanent for the request.
	NotFound
	// Conflict: the resource already exists or is being changed. With
	// deterministic names this usually means a duplicate: callers decide.
	Conflict
	// Throttled by a rate limit or a concurrency cap. Transient.
	Throttled
	// Timeout: a deadline passed or the call was cancelled. Transient.
	Timeout
	// Unavailable: the service failed (5xx, connection errors). Transient.
	Unavailable
)

var kindNames = [...]string{"unknown", "invalid", "denied", "not-found", "conflict", "throttled", "timeout", "unavailable"}

// String returns the kind's metric-friendly name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Transient reports whether an error of this kind may succeed when retried.
func (k Kind) Transient() bool {
	switch k {
	case Unknown, Throttled, Timeout, Unavailable:
		return true
	}
	return false
}

// Error is an error the platform classified itself, such as bad input found
// by a handler before calling AWS.
type Error struct {
	// Kind decides how callers handle the error.
	Kind Kind
	// Err is the underlying error; its text is the Error's text.
	Err error
}

// Error returns the underlying error's text: the kind is for code, not
// for the message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns a permanent Invalid error: the input can never succeed.
func Invalidf(format string, args ...any) error {
	return &Error{Kind: Invalid, Err: fmt.Errorf(format, args...)}
}

// Wrap marks err with kind, keeping it in the chain.
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err}
}

// Codes AWS services use, by kind. Codes are matched exactly.
var codeKinds = map[string]Kind{
	// Invalid
	"ValidationException": Invalid, "ValidationError": Invalid, "InvalidParameterException": Invalid,
	"InvalidParameterValue": Invalid, "InvalidParameterValueException": Invalid, "InvalidInputException": Invalid,
	"InvalidInput": Invalid, "InvalidName": Invalid, "InvalidArn": Invalid, "InvalidExecutionInput": Invalid,
	"InvalidRequest": Invalid, "InvalidArgument": Invalid, "MalformedPolicyDocument": Invalid,
	"SerializationException": Invalid, "MissingParameter": Invalid, "ResourceLimitExceeded": Invalid,
	"RequestEntityTooLargeException": Invalid, "PayloadTooLargeException": Invalid,
	// Denied
	"AccessDenied": Denied, "AccessDeniedException": Denied, "UnauthorizedOperation": Denied,
	"UnrecognizedClientException": Denied, "InvalidSignatureException": Denied, "KMSAccessDeniedException": Denied,
	"AuthorizationError": Denied, "ExpiredTokenException": Denied,
	// NotFound
	"ResourceNotFound": NotFound, "ResourceNotFoundException": NotFound, "EntityNotFoundException": NotFound,
	"NoSuchKey": NotFound, "NoSuchBucket": NotFound, "NotFound": NotFound, "NotFoundException": NotFound,
	"StateMachineDoesNotExist": NotFound, "ExecutionDoesNotExist": NotFound, "NoSuchEntity": NotFound,
	// Conflict
	"ExecutionAlreadyExists": Conflict, "ResourceInUse": Conflict, "ResourceInUseException": Conflict,
	"AlreadyExistsException": Conflict, "ConflictException": Conflict, "IdempotentParameterMismatch": Conflict,
	"BucketAlreadyOwnedByYou": Conflict, "ConcurrentModificationException": Conflict,
	// S3 conditional writes (If-Match / If-None-Match): someone else wrote first.
	"PreconditionFailed": Conflict, "ConditionalRequestConflict": Conflict,
	// Throttled
	"ThrottlingException": Throttled, "Throttling": Throttled, "ThrottledException": Throttled,
	"TooManyRequestsException": Throttled, "RequestLimitExceeded": Throttled, "SlowDown": Throttled,
	"ProvisionedThroughputExceededException": Throttled, "RequestThrottled": Throttled,
	"RequestThrottledException": Throttled, "ConcurrentRunsExceededException": Throttled,
	"LimitExceededException": Throttled, "ExecutionLimitExceeded": Throttled, "TooManyUpdates": Throttled,
	// Unavailable
	"ServiceUnavailable": Unavailable, "ServiceUnavailableException": Unavailable, "InternalFailure": Unavailable,
	"InternalServerError": Unavailable, "InternalServerException": Unavailable, "InternalError": Unavailable,
	"InternalServiceError": Unavailable, "InternalServiceException": Unavailable, "InternalFailureException": Unavailable,
	"ServiceException": Unavailable, "RequestTimeout": Timeout, "RequestTimeoutException": Timeout,
}

// KindOf classifies err. It looks for a platform Error first, then the
// invocation's context errors, then the AWS error code, then the HTTP status
// and network errors; anything else is Unknown.
func KindOf(err error) Kind {
	if err == nil {
		return Unknown
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Timeout
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if k, ok := codeKinds[apiErr.ErrorCode()]; ok {
			if k == Invalid {
				if r, ok := refineValidation(apiErr.ErrorCode(), apiErr.ErrorMessage()); ok {
					return r
				}
			}
			return k
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch s := respErr.HTTPStatusCode(); {
		case s == 429:
			return Throttled
		case s == 403:
			return Denied
		case s == 404:
			return NotFound
		case s == 408 || s == 504:
			return Timeout
		case s >= 500:
			return Unavailable
		case s >= 400:
			return Invalid
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		if netErr.Timeout() {
			return Timeout
		}
		return Unavailable
	}
	return Unknown
}

// validationPhrases refine a validation error by its message. SageMaker
// answers ValidationException (ValidationError from its runtime) for a
// missing resource ("Could not find endpoint", "Endpoint x of account y not
// found."), a duplicate name ("Cannot create already existing model", "a
// training job with this name already exists") and a resource being changed
// ("Cannot update in-progress endpoint"): the message is its only signal.
// Matched lower-cased, in order. Every kind here is permanent, like Invalid,
// so the refinement never turns a permanent error into a retried one.
var validationPhrases = []struct {
	phrase string
	kind   Kind
}{
	{"already exist", Conflict},
	{"in-progress", Conflict},
	{"in progress", Conflict},
	{"being updated", Conflict},
	{"could not find", NotFound},
	{"not found", NotFound},
}

func refineValidation(code, message string) (Kind, bool) {
	if code != "ValidationException" && code != "ValidationError" {
		return Invalid, false
	}
	m := strings.ToLower(message)
	for _, p := range validationPhrases {
		if strings.Contains(m, p.phrase) {
			return p.kind, true
		}
	}
	return Invalid, false
}

// IsTransient reports whether err may succeed when retried.
func IsTransient(err error) bool { return err != nil && KindOf(err).Transient() }

// Code returns the AWS error code in err's chain, or "" when there is none.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Error names a Task state sees when a Lambda handler fails. The state
// machines retry TransientErrorName and catch everything else.
const (
	TransientErrorName = "TransientError"
	PermanentErrorName = "PermanentError"
)

// ForTask turns err into the error a Lambda invoked by Step Functions
// returns, named by its class so the state machine's Retry and Catch can tell
// transient failures from permanent ones without parsing messages.
func ForTask(err error) error {
	if err == nil {
		return nil
	}
	name := PermanentErrorName
	if IsTransient(err) {
		name = TransientErrorName
	}
	return messages.InvokeResponse_Error{Type: name, Message: err.Error()}
}
