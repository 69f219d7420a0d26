package asl

import (
	"fmt"
	"strings"
)

// Resource kinds.
const (
	KindLambdaFunction = "lambda-function" // a plain function ARN
	KindLambdaInvoke   = "lambda:invoke"
	KindSNSPublish     = "sns:publish"
	KindPutEvents      = "events:putEvents"
	KindStartExecution = "states:startExecution"
	KindAWSSDK         = "aws-sdk"
	KindService        = "service" // another optimized integration, e.g. glue:startJobRun
	KindActivity       = "activity"
)

// Service integration patterns.
const (
	PatternRequestResponse  = ""
	PatternSync             = "sync"
	PatternSync2            = "sync:2"
	PatternWaitForTaskToken = "waitForTaskToken"
)

// Resource is a parsed Task Resource ARN.
type Resource struct {
	ARN     string
	Kind    string
	Service string // "lambda", "sns", "glue", "s3" (for aws-sdk), ...
	Action  string // "invoke", "publish", "startJobRun", "getObject", ...
	Pattern string
	// Function is the function ARN for KindLambdaFunction.
	Function string
}

// HistoryType is the resourceType of Task* history events ("lambda",
// "aws-sdk:s3", ...).
func (r *Resource) HistoryType() string {
	if r.Kind == KindAWSSDK {
		return "aws-sdk:" + r.Service
	}
	return r.Service
}

// HistoryResource is the resource of Task* history events ("invoke",
// "startExecution.sync", ...).
func (r *Resource) HistoryResource() string {
	if r.Pattern == "" {
		return r.Action
	}
	return r.Action + "." + r.Pattern
}

// ParseResource parses a Task state's Resource ARN.
func ParseResource(arn string) (*Resource, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") {
		return nil, fmt.Errorf("Value is not a valid resource ARN: %q", arn)
	}
	switch parts[2] {
	case "lambda":
		rest := parts[5]
		if !strings.HasPrefix(rest, "function:") || len(rest) == len("function:") {
			return nil, fmt.Errorf("Value is not a valid Lambda function ARN: %q", arn)
		}
		return &Resource{ARN: arn, Kind: KindLambdaFunction, Service: "lambda", Action: "invoke", Function: arn}, nil
	case "states":
	default:
		return nil, fmt.Errorf("Value is not a valid resource ARN: %q", arn)
	}
	if parts[3] != "" || parts[4] != "" {
		if strings.HasPrefix(parts[5], "activity:") {
			return &Resource{ARN: arn, Kind: KindActivity, Service: "activity", Action: parts[5]}, nil
		}
		return nil, fmt.Errorf("Value is not a valid resource ARN: %q", arn)
	}
	rest := parts[5]
	r := &Resource{ARN: arn}
	if sdk, ok := strings.CutPrefix(rest, "aws-sdk:"); ok {
		r.Kind = KindAWSSDK
		rest = sdk
	}
	service, action, ok := strings.Cut(rest, ":")
	if !ok || service == "" || action == "" {
		return nil, fmt.Errorf("Value is not a valid service integration ARN: %q", arn)
	}
	if a, pattern, hasPattern := strings.Cut(action, "."); hasPattern {
		switch pattern {
		case PatternSync, PatternSync2, PatternWaitForTaskToken:
		default:
			return nil, fmt.Errorf("Value is not a valid service integration pattern: %q in %q", pattern, arn)
		}
		action, r.Pattern = a, pattern
	}
	r.Service, r.Action = service, action
	if r.Kind == KindAWSSDK {
		if r.Pattern == PatternSync || r.Pattern == PatternSync2 {
			return nil, fmt.Errorf("AWS SDK integrations do not support the .sync pattern: %q", arn)
		}
		return r, nil
	}
	switch service + ":" + action {
	case KindLambdaInvoke:
		r.Kind = KindLambdaInvoke
	case KindSNSPublish:
		r.Kind = KindSNSPublish
	case KindPutEvents:
		r.Kind = KindPutEvents
	case KindStartExecution:
		r.Kind = KindStartExecution
	default:
		r.Kind = KindService
	}
	if (r.Pattern == PatternSync || r.Pattern == PatternSync2) && r.Kind != KindStartExecution && r.Kind != KindService {
		return nil, fmt.Errorf("The %s integration does not support the .%s pattern: %q", service+":"+action, r.Pattern, arn)
	}
	return r, nil
}
