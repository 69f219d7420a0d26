package faultinject

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gomlops/mlops/localcloud/lambdaemu"
)

var lambdaActions = map[string]bool{
	ActionThrottle: true, ActionFail: true, ActionLatency: true,
	ActionCrash: true, ActionHang: true, ActionInitError: true,
}

// LambdaFault decides the fate of one invocation attempt of function
// (service "lambda", operation OpInvoke, target the function name). It is
// lambdaemu.Options.Faults: a *lambdaemu.FunctionError is the attempt's
// outcome without running the function (crash, hang, init-error); an
// error fails the attempt as the service (throttle, fail); (nil, nil) runs
// the function, after the injected latency if any. A nil injector always
// returns (nil, nil).
func (inj *Injector) LambdaFault(ctx context.Context, function string, timeout time.Duration) (*lambdaemu.FunctionError, error) {
	rule := inj.decide("lambda", OpInvoke, function, func(a string) bool { return lambdaActions[a] })
	if rule == nil {
		return nil, nil
	}
	switch rule.Action {
	case ActionLatency:
		if !inj.sleep(ctx, time.Duration(rule.Latency)) {
			return nil, fmt.Errorf("invoke %s: %w", function, ctx.Err())
		}
		return nil, nil
	case ActionThrottle:
		return nil, &lambdaemu.APIError{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException",
			Message: "Rate Exceeded. (injected fault " + rule.ID + ")", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	case ActionFail:
		e := failError(rule)
		return nil, &lambdaemu.APIError{Status: e.Status, Code: e.Code, Message: e.Message}
	case ActionCrash:
		return functionError("Runtime.ExitError", fmt.Sprintf("Error: Runtime exited with error: signal: killed (injected fault %s)", rule.ID)), nil
	case ActionInitError:
		return functionError("Runtime.InitError", fmt.Sprintf("Error: init failed (injected fault %s)", rule.ID)), nil
	case ActionHang:
		wait := latencyOr(rule, timeout)
		if timeout > 0 && wait > timeout {
			wait = timeout
		}
		if !inj.sleep(ctx, wait) {
			return nil, fmt.Errorf("invoke %s: %w", function, ctx.Err())
		}
		return functionError("Sandbox.Timedout", fmt.Sprintf("Task timed out after %.2f seconds (injected fault %s)", timeout.Seconds(), rule.ID)), nil
	}
	return nil, nil
}

// LambdaHook returns LambdaFault as the hook lambdaemu.Options.Faults
// takes, or nil for a nil injector (no faults, no overhead).
func (inj *Injector) LambdaHook() func(ctx context.Context, function string, timeout time.Duration) (*lambdaemu.FunctionError, error) {
	if inj == nil {
		return nil
	}
	return inj.LambdaFault
}

func functionError(typ, msg string) *lambdaemu.FunctionError {
	payload, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return &lambdaemu.FunctionError{Type: typ, Message: msg, Payload: payload}
}
