package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LambdaInvoker invokes a function synchronously and returns its response
// payload. A function error is an error with ErrorType() and ErrorMessage()
// methods; a Lambda service error (throttle, unknown function) is an error
// with an ErrorCode() method, like the SDK's smithy.APIError.
type LambdaInvoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// SDKCaller performs an AWS API call for the aws-sdk:* integrations and the
// request-response optimized integrations the local cloud emulates. service
// is the lower-case service name of the Resource ARN ("s3", "glue"), action
// the API action in PascalCase ("GetObject"), params and the result JSON
// objects with PascalCase keys. Errors carry ErrorCode() as the AWS error code.
type SDKCaller interface {
	CallAWS(ctx context.Context, service, action string, params []byte) ([]byte, error)
}

// SNSPublisher publishes to an SNS topic for arn:aws:states:::sns:publish.
type SNSPublisher interface {
	Publish(ctx context.Context, topicARN, subject, message string) (messageID string, err error)
}

// EventEntry is one entry of an events:putEvents task, Detail already
// rendered as a JSON string.
type EventEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
}

// EventPublisher puts events on an EventBridge bus for
// arn:aws:states:::events:putEvents and returns one event id per entry.
type EventPublisher interface {
	PutEvents(ctx context.Context, entries []EventEntry) ([]string, error)
}

// ExecutionOutcome is how a child execution ended, for states:startExecution.sync.
type ExecutionOutcome struct {
	ExecutionARN    string
	StateMachineARN string
	Name            string
	Status          string
	StartDate       time.Time
	StopDate        time.Time
	Input           string
	Output          string
	Error           string
	Cause           string
}

// ExecutionStarter starts nested executions (states:startExecution) and,
// for the .sync patterns, waits for them.
type ExecutionStarter interface {
	StartExecution(ctx context.Context, stateMachineARN, name, input string) (executionARN string, startDate time.Time, err error)
	AwaitExecution(ctx context.Context, executionARN string) (ExecutionOutcome, error)
}

// SyncRunner is the hook for the .sync pattern of job-running integrations
// (glue:startJobRun.sync, sagemaker:createTrainingJob.sync): it starts the
// job, waits until it ends and returns the final description, or an error
// with ErrorCode() naming why the job failed.
type SyncRunner interface {
	RunSync(ctx context.Context, service, action string, params []byte) ([]byte, error)
}

// serviceNames are the PascalCase service names AWS uses in error names of
// aws-sdk integrations ("S3.NoSuchKeyException").
var serviceNames = map[string]string{
	"s3": "S3", "sagemaker": "SageMaker", "sns": "Sns", "sqs": "Sqs", "sfn": "Sfn", "lambda": "Lambda",
	"eventbridge": "EventBridge", "dynamodb": "DynamoDb", "cloudwatch": "CloudWatch", "glue": "Glue",
	"sts": "Sts", "acmpca": "AcmPca", "sagemakerruntime": "SageMakerRuntime", "cloudwatchlogs": "CloudWatchLogs",
}

// ServiceErrorName maps an AWS error code of a service to the error name a
// Task sees: "<Service>.<Code>", with the "Exception" suffix AWS adds.
func ServiceErrorName(service, code string) string {
	name, ok := serviceNames[strings.ToLower(service)]
	if !ok {
		name = strings.ToUpper(service[:1]) + service[1:]
	}
	if !strings.HasSuffix(code, "Exception") {
		code += "Exception"
	}
	return name + "." + code
}

type errorCoder interface{ ErrorCode() string }

type functionError interface {
	ErrorType() string
	ErrorMessage() string
}

// errorPayloader is optionally implemented by function errors that carry
// the function's own JSON error document (with its stackTrace), which AWS
// uses verbatim as the Cause.
type errorPayloader interface {
	ErrorPayload() []byte
}

func serviceFailure(service string, err error, defaultCode string) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	var ec errorCoder
	if errors.As(err, &ec) && ec.ErrorCode() != "" {
		return &Failure{Name: ServiceErrorName(service, ec.ErrorCode()), Cause: err.Error()}
	}
	return &Failure{Name: ServiceErrorName(service, defaultCode), Cause: err.Error()}
}

// lambdaFailure maps an Invoke error: function errors keep the function's
// errorType as the name and the error payload as the cause.
func lambdaFailure(err error) *Failure {
	var fe functionError
	if errors.As(err, &fe) {
		name := fe.ErrorType()
		if name == "" {
			name = "Lambda.Unknown"
		}
		var ep errorPayloader
		if errors.As(err, &ep) && len(ep.ErrorPayload()) > 0 {
			return &Failure{Name: name, Cause: string(ep.ErrorPayload())}
		}
		cause := mustJSON(map[string]any{"errorMessage": fe.ErrorMessage(), "errorType": fe.ErrorType()})
		return &Failure{Name: name, Cause: cause}
	}
	return serviceFailure("lambda", err, "ServiceException")
}

func pascal(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// callIntegration performs one Task attempt's call and returns its raw result.
func (e *Engine) callIntegration(ctx context.Context, r *Resource, params any) (any, error) {
	body := []byte(mustJSON(params))
	switch r.Kind {
	case KindLambdaFunction:
		if e.cfg.Lambda == nil {
			return nil, failf(ErrRuntime, "no Lambda integration is wired into this local cloud")
		}
		out, err := e.cfg.Lambda.Invoke(ctx, r.Function, body)
		if err != nil {
			return nil, lambdaFailure(err)
		}
		return decodePayload(out)
	case KindLambdaInvoke:
		if e.cfg.Lambda == nil {
			return nil, failf(ErrRuntime, "no Lambda integration is wired into this local cloud")
		}
		p, _ := params.(map[string]any)
		fn, _ := p["FunctionName"].(string)
		if fn == "" {
			return nil, failf(ErrRuntime, "lambda:invoke needs a FunctionName parameter")
		}
		if q, ok := p["Qualifier"].(string); ok && q != "" && !strings.Contains(strings.TrimPrefix(fn, "arn:"), ":"+q) {
			fn += ":" + q
		}
		payload := []byte("{}")
		if v, ok := p["Payload"]; ok {
			if s, isStr := v.(string); isStr {
				payload = []byte(s)
			} else {
				payload = []byte(mustJSON(v))
			}
		}
		out, err := e.cfg.Lambda.Invoke(ctx, fn, payload)
		if err != nil {
			return nil, lambdaFailure(err)
		}
		decoded, derr := decodePayload(out)
		if derr != nil {
			return nil, derr
		}
		reqID := e.cfg.NewUUID()
		headers := map[string]any{
			"Connection": "keep-alive", "Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST",
			"x-amzn-Remapped-Content-Length": "0", "x-amzn-RequestId": reqID,
		}
		all := map[string]any{}
		for k, v := range headers {
			all[k] = []any{v}
		}
		return map[string]any{
			"ExecutedVersion":     "$LATEST",
			"Payload":             decoded,
			"SdkHttpMetadata":     map[string]any{"AllHttpHeaders": all, "HttpHeaders": headers, "HttpStatusCode": int64(200)},
			"SdkResponseMetadata": map[string]any{"RequestId": reqID},
			"StatusCode":          int64(200),
		}, nil
	case KindSNSPublish:
		if e.cfg.SNS == nil {
			return nil, failf(ErrRuntime, "no SNS integration is wired into this local cloud")
		}
		p, _ := params.(map[string]any)
		topic, _ := p["TopicArn"].(string)
		if topic == "" {
			return nil, failf(ErrRuntime, "sns:publish needs a TopicArn parameter")
		}
		subject, _ := p["Subject"].(string)
		var msg string
		switch m := p["Message"].(type) {
		case string:
			msg = m
		case nil:
			return nil, failf(ErrRuntime, "sns:publish needs a Message parameter")
		default:
			msg = mustJSON(m)
		}
		id, err := e.cfg.SNS.Publish(ctx, topic, subject, msg)
		if err != nil {
			return nil, serviceFailure("sns", err, "SnsException")
		}
		return map[string]any{"MessageId": id, "SdkHttpMetadata": map[string]any{"HttpStatusCode": int64(200)}, "SdkResponseMetadata": map[string]any{"RequestId": e.cfg.NewUUID()}}, nil
	case KindPutEvents:
		if e.cfg.Events == nil {
			return nil, failf(ErrRuntime, "no EventBridge integration is wired into this local cloud")
		}
		p, _ := params.(map[string]any)
		list, _ := p["Entries"].([]any)
		if len(list) == 0 {
			return nil, failf(ErrRuntime, "events:putEvents needs a non-empty Entries parameter")
		}
		var entries []EventEntry
		for _, it := range list {
			m, _ := it.(map[string]any)
			en := EventEntry{}
			en.EventBusName, _ = m["EventBusName"].(string)
			en.Source, _ = m["Source"].(string)
			en.DetailType, _ = m["DetailType"].(string)
			switch d := m["Detail"].(type) {
			case string:
				en.Detail = d
			case nil:
				en.Detail = "{}"
			default:
				en.Detail = mustJSON(d)
			}
			if rs, ok := m["Resources"].([]any); ok {
				for _, r := range rs {
					if s, ok := r.(string); ok {
						en.Resources = append(en.Resources, s)
					}
				}
			}
			entries = append(entries, en)
		}
		ids, err := e.cfg.Events.PutEvents(ctx, entries)
		if err != nil {
			return nil, serviceFailure("eventbridge", err, "EventBridgeException")
		}
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"EventId": id})
		}
		return map[string]any{"Entries": out, "FailedEntryCount": int64(0)}, nil
	case KindStartExecution:
		return e.startExecution(ctx, r, params)
	case KindAWSSDK, KindService:
		action := pascal(r.Action)
		if r.Pattern == PatternSync || r.Pattern == PatternSync2 {
			if e.cfg.Sync == nil {
				return nil, failf(ErrRuntime, "the local cloud has no .sync integration for %s:%s yet", r.Service, r.Action)
			}
			out, err := e.cfg.Sync.RunSync(ctx, r.Service, action, body)
			if err != nil {
				return nil, serviceFailure(r.Service, err, "ServiceException")
			}
			return decodePayload(out)
		}
		if e.cfg.SDK == nil {
			return nil, failf(ErrRuntime, "no AWS SDK integration is wired into this local cloud")
		}
		out, err := e.cfg.SDK.CallAWS(ctx, r.Service, action, body)
		if err != nil {
			return nil, serviceFailure(r.Service, err, "ServiceException")
		}
		return decodePayload(out)
	case KindActivity:
		return nil, failf(ErrRuntime, "activities are not supported by the local cloud: %s", r.ARN)
	}
	return nil, failf(ErrRuntime, "unsupported resource %s", r.ARN)
}

func (e *Engine) startExecution(ctx context.Context, r *Resource, params any) (any, error) {
	if e.cfg.Executions == nil {
		return nil, failf(ErrRuntime, "no Step Functions integration is wired into this local cloud")
	}
	p, _ := params.(map[string]any)
	smARN, _ := p["StateMachineArn"].(string)
	if smARN == "" {
		return nil, failf(ErrRuntime, "states:startExecution needs a StateMachineArn parameter")
	}
	name, _ := p["Name"].(string)
	input := "{}"
	switch in := p["Input"].(type) {
	case nil:
	case string:
		input = in
	default:
		input = mustJSON(in)
	}
	arn, start, err := e.cfg.Executions.StartExecution(ctx, smARN, name, input)
	if err != nil {
		return nil, serviceFailure("sfn", err, "SfnException")
	}
	if r.Pattern != PatternSync && r.Pattern != PatternSync2 {
		return map[string]any{"ExecutionArn": arn, "StartDate": epochMillis(start)}, nil
	}
	oc, err := e.cfg.Executions.AwaitExecution(ctx, arn)
	if err != nil {
		return nil, serviceFailure("sfn", err, "SfnException")
	}
	desc := map[string]any{
		"ExecutionArn": oc.ExecutionARN, "StateMachineArn": oc.StateMachineARN, "Name": oc.Name, "Status": oc.Status,
		"StartDate": epochMillis(oc.StartDate), "StopDate": epochMillis(oc.StopDate), "Input": oc.Input,
	}
	if r.Pattern == PatternSync2 {
		if v, derr := decodeJSON([]byte(oc.Input)); derr == nil {
			desc["Input"] = v
		}
	}
	if oc.Status != "SUCCEEDED" {
		desc["Error"], desc["Cause"] = oc.Error, oc.Cause
		return nil, &Failure{Name: ErrTaskFailed, Cause: mustJSON(desc)}
	}
	desc["Output"] = oc.Output
	if r.Pattern == PatternSync2 {
		if v, derr := decodeJSON([]byte(oc.Output)); derr == nil {
			desc["Output"] = v
		}
	}
	return desc, nil
}

func epochMillis(t time.Time) int64 { return t.UnixMilli() }

// decodePayload parses an integration's JSON response; an empty body is null.
func decodePayload(b []byte) (any, error) {
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, failf(ErrRuntime, "the integration returned invalid JSON: %v", err)
	}
	return v, nil
}

// marshalCompact renders v as JSON for history events and outputs.
func marshalCompact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}
