package eventbridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageTransform is the EventBridge User Guide page the transformer cases
// come from.
const pageTransform = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html"

func TestInputTransformerDocumentationExamples(t *testing.T) {
	event := `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-0123456789","state":"RUNNING","tags":{"team":"ml"},"count":3}}`
	var decoded map[string]any
	require.NoError(t, json.Unmarshal([]byte(event), &decoded))
	paths := map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state", "tags": "$.detail.tags", "count": "$.detail.count", "missing": "$.detail.nope", "first": "$.resources[0]"}
	tests := []struct {
		name, template, want string
	}{
		{"string template", `"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`},
		{"values outside quotes become JSON", `{"instance" : <instance>, "state": [9, <state>, true], "Transformed" : "Yes" }`, `{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}`},
		{"values inside quotes are text", `{"instance" : "<instance>", "message": "state is <state>"}`, `{"instance":"i-0123456789","message":"state is RUNNING"}`},
		{"objects and numbers outside quotes", `{"tags": <tags>, "n": <count>}`, `{"tags":{"team":"ml"},"n":3}`},
		{"object inside quotes is escaped JSON", `{"tags": "<tags>"}`, `{"tags":"{\"team\":\"ml\"}"}`},
		{"missing path is null outside quotes", `{"x": <missing>, "y": "<missing>"}`, `{"x":null,"y":""}`},
		{"array index", `{"first": <first>}`, `{"first":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}`},
		{"predefined variables", `{"rule": "<aws.events.rule-name>", "arn": "<aws.events.rule-arn>", "at": "<aws.events.event.ingestion-time>"}`,
			`{"rule":"r1","arn":"arn:aws:events:us-east-1:123456789012:rule/r1","at":"2026-05-06T07:08:00Z"}`},
		{"whole event as JSON", `{"wrapped": <aws.events.event.json>}`, `{"wrapped":` + event + `}`},
		{"unknown angle text kept", `"a <b c> d"`, `"a <b c> d"`},
	}
	svc := &Service{opts: Options{Region: "us-east-1", AccountID: "123456789012"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := Target{ID: "t", Arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
				InputTransformer: &InputTransformer{InputPathsMap: paths, InputTemplate: tt.template}}
			require.NoError(t, validateTarget(target))
			got, err := svc.targetInput("r1", target, []byte(event), decoded, t0)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got), "example after %s", pageTransform)
		})
	}
}

func TestTargetInputModes(t *testing.T) {
	event := `{"id":"1","detail":{"a":[1,2]}}`
	var decoded map[string]any
	require.NoError(t, json.Unmarshal([]byte(event), &decoded))
	svc := &Service{opts: Options{Region: "us-east-1", AccountID: "123456789012"}}
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{"whole event", Target{}, event},
		{"constant input", Target{Input: `{"c":1}`}, `{"c":1}`},
		{"input path", Target{InputPath: "$.detail.a"}, `[1,2]`},
		{"input path bracket", Target{InputPath: "$['detail']['a'][1]"}, `2`},
		{"input path missing", Target{InputPath: "$.nope"}, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.targetInput("r", tt.target, []byte(event), decoded, time.Time{})
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestValidateTargetRejects(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   string
	}{
		{"no id", Target{Arn: "arn:aws:sqs:us-east-1:1:q"}, "Target Id"},
		{"bad arn", Target{ID: "t", Arn: "queue"}, "Arn is not in correct format"},
		{"input not json", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", Input: "{"}, "Input is not valid JSON"},
		{"bad input path", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", InputPath: "detail"}, "must start with $"},
		{"transformer without template", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", InputTransformer: &InputTransformer{}}, "InputTemplate is required"},
		{"reserved variable name", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", InputTransformer: &InputTransformer{InputTemplate: "1", InputPathsMap: map[string]string{"aws.x": "$.a"}}}, "not allowed"},
		{"retry attempts out of range", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", RetryPolicy: &RetryPolicy{MaximumRetryAttempts: ptr(186)}}, "MaximumRetryAttempts"},
		{"event age out of range", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", RetryPolicy: &RetryPolicy{MaximumEventAgeInSeconds: ptr(10)}}, "MaximumEventAgeInSeconds"},
		{"dlq not sqs", Target{ID: "t", Arn: "arn:aws:sqs:us-east-1:1:q", DeadLetterConfig: &DeadLetterConfig{Arn: "arn:aws:sns:us-east-1:1:t"}}, "SQS queue ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTarget(tt.target)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func ptr(n int) *int { return &n }
