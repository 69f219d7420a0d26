// Command fail is a test function whose handler returns an error, typed
// like the project's faults so Step Functions can match it; with
// {"panic": true} it panics (aws-lambda-go reports it, then exits).
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// permanentError mimics shared/faults: its type name is the errorType.
type PermanentError struct{ msg string }

func (e *PermanentError) Error() string { return e.msg }

func handle(_ context.Context, event json.RawMessage) (string, error) {
	var in struct{ Panic bool }
	if json.Unmarshal(event, &in) == nil && in.Panic {
		panic("handler panicked")
	}
	return "", &PermanentError{msg: "bad input: " + string(event)}
}

func main() { lambda.Start(handle) }
