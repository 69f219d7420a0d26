package lambdaemu

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// FunctionError is an invocation that ran and failed: the handler returned
// an error or panicked, the process crashed or failed at init, or it ran
// past its timeout. Lambda answers these with status 200, the header
// X-Amz-Function-Error: Unhandled and Payload as the body.
type FunctionError struct {
	// RequestID is the invocation's request id ("" for init errors).
	RequestID string
	// Type is the errorType (e.g. "errorString", "Runtime.ExitError",
	// "Sandbox.Timedout", or a faults kind like "TransientError").
	Type string
	// Message is the errorMessage.
	Message string
	// Payload is the JSON error document returned to the caller.
	Payload []byte
}

// newFunctionError builds a FunctionError with Lambda's JSON payload.
func newFunctionError(requestID, typ, msg string) *FunctionError {
	payload, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return &FunctionError{RequestID: requestID, Type: typ, Message: msg, Payload: payload}
}

// Error returns "function error <Type>: <Message>".
func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// ErrorType returns the errorType, which Step Functions matches in Retry
// and Catch (States.TaskFailed aside).
func (e *FunctionError) ErrorType() string { return e.Type }

// ErrorMessage returns the errorMessage.
func (e *FunctionError) ErrorMessage() string { return e.Message }

// APIError is a Lambda API error answered instead of running the function:
// unknown function, throttle, bad payload. Its fields mirror the
// REST-JSON error AWS sends (x-amzn-ErrorType header, Type/message body).
type APIError struct {
	// Status is the HTTP status (404, 429, 400, 413, 500).
	Status int
	// Code is the exception name, e.g. TooManyRequestsException.
	Code string
	// Message is the human-readable message.
	Message string
	// Reason qualifies throttles (e.g.
	// ReservedFunctionConcurrentInvocationLimitExceeded).
	Reason string
}

// Error returns "Code: Message".
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// ErrorCode returns the exception name (smithy.APIError style).
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage returns the message.
func (e *APIError) ErrorMessage() string { return e.Message }

func notFound(arn string) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: "Function not found: " + arn}
}

func throttled(reason string) *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate Exceeded.", Reason: reason}
}

func invalidContent(err error) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: "Could not parse request body into json: " + err.Error()}
}

func tooLarge(limit int) *APIError {
	return &APIError{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLargeException", Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit)}
}

func serviceError(format string, a ...any) *APIError {
	return &APIError{Status: http.StatusInternalServerError, Code: "ServiceException", Message: fmt.Sprintf(format, a...)}
}
