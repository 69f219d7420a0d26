// Command echo is a test function: it answers with its event, its Lambda
// context and environment, after sleeping sleepMs if asked.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type response struct {
	Event       json.RawMessage   `json:"event"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	RemainingMs int64             `json:"remainingMs"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

var envNames = []string{
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
	"_HANDLER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
	"GREETING", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL",
}

func handle(ctx context.Context, event json.RawMessage) (response, error) {
	var in struct {
		SleepMs int    `json:"sleepMs"`
		Log     string `json:"log"`
	}
	_ = json.Unmarshal(event, &in)
	if in.Log != "" {
		os.Stdout.WriteString(in.Log + "\n")
	}
	time.Sleep(time.Duration(in.SleepMs) * time.Millisecond)
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	env := map[string]string{}
	for _, k := range envNames {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return response{
		Event:       event,
		RequestID:   lc.AwsRequestID,
		FunctionARN: lc.InvokedFunctionArn,
		RemainingMs: time.Until(deadline).Milliseconds(),
		PID:         os.Getpid(),
		Env:         env,
	}, nil
}

func main() { lambda.Start(handle) }
