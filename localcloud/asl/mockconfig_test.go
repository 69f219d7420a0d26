package asl

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awsDocMockConfig is the shape of the example in the Step Functions Local
// documentation (LambdaSQSIntegration), with an SNS state instead of SQS.
const awsDocMockConfig = `{
  "StateMachines": {
    "sm": {
      "TestCases": {
        "HappyPath": {"LambdaState": "MockedLambdaSuccess", "NotifyState": "MockedSNSSuccess"},
        "RetryPath": {"LambdaState": "MockedLambdaRetry", "NotifyState": "MockedSNSSuccess"},
        "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
        "FailPath": {"LambdaState": "LambdaMockedResourceNotReady"}
      }
    }
  },
  "MockedResponses": {
    "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
    "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
    "MockedSNSSuccess": {"0": {"Return": {"MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
    "MockedLambdaRetry": {
      "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
      "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
      "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
    }
  }
}`

const mockedMachine = `{
  "StartAt": "LambdaState",
  "States": {
    "LambdaState": {
      "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "fn", "Payload.$": "$"},
      "ResultSelector": {"body.$": "$.Payload.body"},
      "Retry": [{"ErrorEquals": ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
      "Next": "NotifyState"
    },
    "NotifyState": {
      "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message.$": "$.body"},
      "End": true
    },
    "Failed": {"Type": "Fail", "Error": "Caught", "Cause": "caught"}
  }
}`

func TestParseMockConfig(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "the documented example", doc: awsDocMockConfig},
		{name: "undefined response", doc: `{"StateMachines":{"sm":{"TestCases":{"A":{"S":"Nope"}}}},"MockedResponses":{}}`, wantErr: `mocked response "Nope" is not defined`},
		{name: "return and throw", doc: `{"MockedResponses":{"R":{"0":{"Return":1,"Throw":{"Error":"E"}}}}}`, wantErr: "exactly one of Return and Throw"},
		{name: "neither", doc: `{"MockedResponses":{"R":{"0":{}}}}`, wantErr: "exactly one of Return and Throw"},
		{name: "throw without error", doc: `{"MockedResponses":{"R":{"0":{"Throw":{"Cause":"c"}}}}}`, wantErr: "Throw needs an Error"},
		{name: "bad key", doc: `{"MockedResponses":{"R":{"first":{"Return":1}}}}`, wantErr: `key "first"`},
		{name: "backwards range", doc: `{"MockedResponses":{"R":{"0":{"Return":1},"3-1":{"Return":1}}}}`, wantErr: "N <= M"},
		{name: "overlap", doc: `{"MockedResponses":{"R":{"0-2":{"Return":1},"2":{"Return":1}}}}`, wantErr: "invocation 2 is mocked twice"},
		{name: "must start at 0", doc: `{"MockedResponses":{"R":{"1":{"Return":1}}}}`, wantErr: `start there`},
		{name: "unknown field", doc: `{"StateMachine":{}}`, wantErr: "unknown field"},
		{name: "empty response", doc: `{"MockedResponses":{"R":{}}}`, wantErr: "no responses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMockConfig([]byte(tt.doc))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestMockerSelection(t *testing.T) {
	cfg, err := ParseMockConfig([]byte(awsDocMockConfig))
	require.NoError(t, err)
	_, err = cfg.Mocker(map[string]string{"other": "HappyPath"})
	assert.ErrorContains(t, err, `no state machine "other"`)
	_, err = cfg.Mocker(map[string]string{"sm": "SadPath"})
	assert.ErrorContains(t, err, `no test case "SadPath"`)

	m, err := cfg.Mocker(nil)
	require.NoError(t, err)
	exec := ExecutionInfo{ARN: "arn:x:execution:sm:e1", StateMachineName: "sm", StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:sm"}
	_, _, ok := m.MockTask(exec, "LambdaState")
	assert.False(t, ok, "no test case selected: the real service answers")

	exec.StateMachineARN += "#FailPath"
	_, fail, ok := m.MockTask(exec, "LambdaState")
	require.True(t, ok, "a #TestCase suffix selects the test case, as in Step Functions Local")
	assert.Equal(t, &Failure{Name: "Lambda.ResourceNotReadyException", Cause: "Lambda resource is not ready."}, fail)
	_, fail, ok = m.MockTask(exec, "LambdaState")
	require.True(t, ok)
	assert.NotNil(t, fail, "past the last key the last response repeats")
	assert.Equal(t, 2, m.Invocations(exec.ARN, "LambdaState"))
}

func TestMockedExecutions(t *testing.T) {
	cfg, err := ParseMockConfig([]byte(awsDocMockConfig))
	require.NoError(t, err)
	tests := []struct {
		testCase       string
		wantStatus     string
		wantOutput     map[string]any
		wantError      string
		wantLambda     int // calls reaching the real (fake) Lambda
		wantSNS        int
		wantTaskFailed int
	}{
		{testCase: "HappyPath", wantStatus: StatusSucceeded, wantOutput: map[string]any{"MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}},
		{testCase: "RetryPath", wantStatus: StatusSucceeded, wantOutput: map[string]any{"MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}, wantTaskFailed: 3},
		{testCase: "HybridPath", wantStatus: StatusSucceeded, wantSNS: 1},
		{testCase: "FailPath", wantStatus: StatusFailed, wantError: "Caught", wantTaskFailed: 4},
	}
	for _, tt := range tests {
		t.Run(tt.testCase, func(t *testing.T) {
			mocker, err := cfg.Mocker(map[string]string{"sm": tt.testCase})
			require.NoError(t, err)
			lambda := &fakeLambda{handler: func(string, any) (any, error) { return nil, errors.New("the real Lambda must not be called") }}
			sns := &fakeSNS{}
			res, h := runManual(t, Config{Lambda: lambda, SNS: sns, Mock: mocker}, mockedMachine, `{"in":1}`)
			require.Equal(t, tt.wantStatus, res.Status, "%+v %v", res, eventTypes(h))
			if tt.wantOutput != nil {
				assert.Equal(t, tt.wantOutput, res.Output)
			}
			assert.Equal(t, tt.wantError, res.Error)
			assert.Len(t, lambda.Calls(), tt.wantLambda)
			assert.Len(t, sns.Messages(), tt.wantSNS)
			if tt.wantSNS > 0 {
				assert.Equal(t, "msg-1", res.Output.(map[string]any)["MessageId"], "an unmocked state calls the real service")
			}
			failed := 0
			for _, e := range h.Events() {
				if e.Type == "TaskFailed" {
					failed++
				}
			}
			assert.Equal(t, tt.wantTaskFailed, failed, "mocked failures are recorded like real ones")
		})
	}
}

func TestMockedTaskSkipsTheTokenWait(t *testing.T) {
	cfg, err := ParseMockConfig([]byte(`{"StateMachines":{"sm":{"TestCases":{"T":{"Wait":"R"}}}},"MockedResponses":{"R":{"0":{"Return":{"ok":true}}}}}`))
	require.NoError(t, err)
	mocker, err := cfg.Mocker(map[string]string{"sm": "T"})
	require.NoError(t, err)
	def := `{"StartAt":"Wait","States":{"Wait":{"Type":"Task","Resource":"arn:aws:states:::sns:publish.waitForTaskToken","Parameters":{"TopicArn":"t","Message.$":"$$.Task.Token"},"End":true}}}`
	res, _ := runManual(t, Config{SNS: &fakeSNS{}, Mock: mocker}, def, `{}`)
	require.Equal(t, StatusSucceeded, res.Status, "%+v", res)
	assert.Equal(t, map[string]any{"ok": true}, res.Output)
}
