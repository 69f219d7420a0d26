package asl

import (
	"errors"
	"fmt"
	"strings"
)

// The predefined error names of the Amazon States Language.
const (
	ErrAll                        = "States.ALL"
	ErrDataLimitExceeded          = "States.DataLimitExceeded"
	ErrExceedToleratedFailure     = "States.ExceedToleratedFailureThreshold"
	ErrHeartbeatTimeout           = "States.HeartbeatTimeout"
	ErrIntrinsicFailure           = "States.IntrinsicFailure"
	ErrItemReaderFailed           = "States.ItemReaderFailed"
	ErrNoChoiceMatched            = "States.NoChoiceMatched"
	ErrParameterPathFailure       = "States.ParameterPathFailure"
	ErrPermissions                = "States.Permissions"
	ErrResultPathMatchFailure     = "States.ResultPathMatchFailure"
	ErrResultWriterFailed         = "States.ResultWriterFailed"
	ErrRuntime                    = "States.Runtime"
	ErrTaskFailed                 = "States.TaskFailed"
	ErrTimeout                    = "States.Timeout"
	ErrBranchFailed               = "States.BranchFailed"
	ErrQueryEvaluationError       = "States.QueryEvaluationError"
	errAborted                    = "States.Aborted"
	maxPayloadBytes               = 256 * 1024
	defaultRetryIntervalSeconds   = 1
	defaultRetryMaxAttempts       = 3
	defaultRetryBackoffRate       = 2.0
	maxIntrinsicNesting           = 10
	defaultMapMaxConcurrencyLimit = 0
)

// Failure is a named error as Step Functions reports it: an Error name
// (matched by Retry and Catch ErrorEquals) and a free-text Cause.
type Failure struct {
	Name  string
	Cause string
}

// Error implements error.
func (f *Failure) Error() string {
	if f.Cause == "" {
		return f.Name
	}
	return f.Name + ": " + f.Cause
}

// failf builds a Failure with a formatted cause.
func failf(name, format string, args ...any) *Failure {
	return &Failure{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// AsFailure converts any error into a Failure: a Failure stays itself,
// anything else becomes States.TaskFailed with the error text as cause.
func AsFailure(err error) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Name: ErrTaskFailed, Cause: err.Error()}
}

// terminal reports whether an error can be neither retried nor caught:
// AWS documents States.ALL as not matching States.DataLimitExceeded and
// States.Runtime, and an aborted execution is never handled.
func terminal(name string) bool {
	return name == ErrRuntime || name == ErrDataLimitExceeded || name == errAborted
}

// errorMatches reports whether a Retry or Catch ErrorEquals list matches
// the error name.
func errorMatches(list []string, name string) bool {
	if terminal(name) {
		return false
	}
	for _, want := range list {
		switch {
		case want == name:
			return true
		case want == ErrAll:
			return true
		case want == ErrTaskFailed && name != ErrTimeout && name != ErrHeartbeatTimeout && !strings.HasPrefix(name, "States."):
			return true
		}
	}
	return false
}
