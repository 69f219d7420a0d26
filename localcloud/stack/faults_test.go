package stack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/faultinject"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

const machineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:machine"

// control calls the fault-injection control API through the AWS endpoint
// (plain HTTP, as curl would) and returns the status and body.
func control(t *testing.T, st *Stack, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, st.FaultsURL()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func echoRuns(t *testing.T, st *Stack) int {
	t.Helper()
	return strings.Count(readFile(t, st.LogPath("echo")), "END RequestId")
}

// TestStackFaultsAndMocks starts the stack with an Injector and a
// MockConfigFile and sees each injection point through the real clients.
func TestStackFaultsAndMocks(t *testing.T) {
	inj, err := faultinject.New(faultinject.Options{Rules: []faultinject.Rule{
		{ID: "start-throttled", Service: "states", Operation: "StartExecution", Action: faultinject.ActionThrottle, Count: 3},
	}})
	require.NoError(t, err)
	mocks, err := asl.LoadMockConfig(filepath.Join("testdata", "mockconfig.json"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Start(ctx, Options{
		Template: filepath.Join("testdata", "template.yaml"), StateDir: t.TempDir(), Output: io.Discard,
		Faults: inj, MockConfig: mocks,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, st.Close(ctx))
	})
	assert.Equal(t, st.EndpointURL()+"/_localcloud/faults", st.FaultsURL())
	cfg := st.AWSConfig()
	// No SDK retries: the test sees every injected throttle.
	client := sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.Retryer = aws.NopRetryer{} })
	start := func(arn string) (string, error) {
		out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"hello":"world"}`)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ExecutionArn), nil
	}
	await := func(arn string) asl.ExecutionOutcome {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		oc, err := st.StepFunctions.AwaitExecution(wctx, arn)
		require.NoError(t, err)
		return oc
	}

	t.Run("StartExecution is throttled until the rule is removed through the control API", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			_, err := start(machineARN)
			var ae smithy.APIError
			require.True(t, errors.As(err, &ae), "call %d: want the throttling error, got %v", i, err)
			assert.Equal(t, "ThrottlingException", ae.ErrorCode())
		}
		status, body := control(t, st, http.MethodGet, "", "")
		require.Equal(t, http.StatusOK, status, body)
		var rules struct{ Faults []faultinject.RuleStatus }
		require.NoError(t, json.Unmarshal([]byte(body), &rules))
		require.Len(t, rules.Faults, 1)
		assert.Equal(t, 2, rules.Faults[0].Applied)
		assert.Equal(t, 1, rules.Faults[0].Remaining, "one throttle left: only the removal lets the next call through")

		status, body = control(t, st, http.MethodDelete, "/start-throttled", "")
		require.Equal(t, http.StatusNoContent, status, body)
		arn, err := start(machineARN)
		require.NoError(t, err)
		oc := await(arn)
		assert.Equal(t, asl.StatusSucceeded, oc.Status, oc.Cause)
		assert.Contains(t, oc.Output, `"hello":"world"`, "no test case chosen: the real function ran")

		status, _ = control(t, st, http.MethodDelete, "/start-throttled", "")
		assert.Equal(t, http.StatusNotFound, status)
		status, body = control(t, st, http.MethodGet, "/injected", "")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, 2, strings.Count(body, `"rule":"start-throttled"`), body)
	})

	t.Run("a Lambda crash added through the control API fails one attempt", func(t *testing.T) {
		status, body := control(t, st, http.MethodPost, "", `{"id":"echo-crash","service":"lambda","target":"echo","action":"crash","count":1}`)
		require.Equal(t, http.StatusOK, status, body)
		_, err := st.Lambda.Invoke(ctx, "echo", []byte(`{}`))
		var fe *lambdaemu.FunctionError
		require.True(t, errors.As(err, &fe), "want a function error, got %v", err)
		assert.Equal(t, "Runtime.ExitError", fe.ErrorType())
		_, err = st.Lambda.Invoke(ctx, "echo", []byte(`{}`))
		assert.NoError(t, err, "count 1: the next attempt runs")
	})

	t.Run("S3 notifications and EventBridge deliveries are duplicated", func(t *testing.T) {
		before := echoRuns(t, st)
		status, body := control(t, st, http.MethodPost, "", `{"faults":[
			{"id":"notify-twice","service":"s3","operation":"Notify","target":"uploads/dup.csv","action":"duplicate","times":2,"count":1},
			{"id":"deliver-twice","service":"events","operation":"Deliver","target":"function:echo","action":"duplicate","times":2,"count":1}]}`)
		require.Equal(t, http.StatusOK, status, body)
		_, err := s3.NewFromConfig(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("dup.csv"), Body: strings.NewReader("x\n")})
		require.NoError(t, err)
		// Two notifications; the first delivery to echo is made twice.
		eventually(t, "three runs of echo", func() bool { return echoRuns(t, st) >= before+3 })
		time.Sleep(200 * time.Millisecond)
		assert.Equal(t, before+3, echoRuns(t, st))
		var actions []string
		for _, r := range inj.Injected() {
			actions = append(actions, r.Rule+"/"+r.Action)
		}
		assert.Contains(t, actions, "notify-twice/duplicate")
		assert.Contains(t, actions, "deliver-twice/duplicate")
	})

	t.Run("an EventBridge delivery to Step Functions is duplicated under one name", func(t *testing.T) {
		status, body := control(t, st, http.MethodPost, "", `{"id":"start-thrice","service":"events","operation":"Deliver","target":"stateMachine:machine","action":"duplicate","times":3,"count":1}`)
		require.Equal(t, http.StatusOK, status, body)
		list := func() int {
			out, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machineARN)})
			require.NoError(t, err)
			return len(out.Executions)
		}
		before := list()
		put, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("test.machine"), DetailType: aws.String("Run"), Detail: aws.String(`{"from":"events"}`),
		}}})
		require.NoError(t, err)
		require.Zero(t, put.FailedEntryCount)
		eventually(t, "the rule's execution", func() bool { return list() > before })
		eventually(t, "the duplicate deliveries", func() bool {
			for _, r := range inj.Injected() {
				if r.Rule == "start-thrice" && strings.HasSuffix(r.Target, ":stateMachine:machine") {
					return true
				}
			}
			return false
		})
		time.Sleep(200 * time.Millisecond)
		assert.Equal(t, before+1, list(), "three deliveries with the name EventBridge chose start one execution")
	})

	t.Run("an execution on <ARN>#<TestCase> runs the mocked test case", func(t *testing.T) {
		runsBefore := echoRuns(t, st)
		arn, err := start(machineARN + "#Mocked")
		require.NoError(t, err)
		oc := await(arn)
		require.Equal(t, asl.StatusSucceeded, oc.Status, oc.Cause)
		assert.JSONEq(t, `{"StatusCode":200,"Payload":{"mocked":true}}`, oc.Output)
		assert.Equal(t, runsBefore, echoRuns(t, st), "the mocked state does not invoke the function")
		assert.Equal(t, 1, st.Mocks.Invocations(arn, "Echo"))

		_, err = start(machineARN + "#Nope")
		var ae smithy.APIError
		require.True(t, errors.As(err, &ae), "got %v", err)
		assert.Equal(t, "InvalidArn", ae.ErrorCode())
	})
}

func TestStackMockTestCaseForEveryExecution(t *testing.T) {
	mocks, err := asl.LoadMockConfig(filepath.Join("testdata", "mockconfig.json"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Start(ctx, Options{
		Template: filepath.Join("testdata", "template.yaml"), StateDir: t.TempDir(), Output: io.Discard,
		MockConfig: mocks, MockTestCase: "Mocked",
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, st.Close(ctx))
	})
	assert.Empty(t, st.FaultsURL(), "no injector, no control API")
	arn, _, err := st.StepFunctions.StartExecution(ctx, machineARN, "plain", `{}`)
	require.NoError(t, err)
	oc, err := st.StepFunctions.AwaitExecution(ctx, arn)
	require.NoError(t, err)
	assert.JSONEq(t, `{"StatusCode":200,"Payload":{"mocked":true}}`, oc.Output)

	resp, err := http.Get(st.EndpointURL() + faultinject.ControlPath)
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "the control API is only served with an injector")
}

// TestMocksByLogicalID: the repository's pipeline MockConfigFile names the
// state machine by its logical id, the stack by its generated name.
func TestMocksByLogicalID(t *testing.T) {
	cfg, err := asl.LoadMockConfig(filepath.Join("..", "chaos", "testdata", "pipeline-mockconfig.json"))
	require.NoError(t, err)
	machines := []samtemplate.StateMachine{{LogicalID: "PipelineStateMachine", Name: "localcloud-PipelineStateMachine"}}
	tests := []struct {
		name     string
		testCase string
		machines []samtemplate.StateMachine
		want     string // error
	}{
		{name: "logical id", machines: machines},
		{name: "logical id with a default test case", testCase: "TrainingThrottled", machines: machines},
		{name: "unknown test case", testCase: "Nope", machines: machines, want: `test case "Nope"`},
		{name: "not in the template", machines: []samtemplate.StateMachine{{LogicalID: "Other", Name: "other"}}, want: "StateMachines.PipelineStateMachine is not a state machine of the template (names: [other]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newMocks(cfg, tt.testCase, tt.machines)
			if tt.want != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
				return
			}
			require.NoError(t, err)
			assert.True(t, m.HasTestCase("localcloud-PipelineStateMachine", "HappyPath"))
			assert.False(t, m.HasTestCase("PipelineStateMachine", "HappyPath"), "executions carry the name, not the logical id")
		})
	}

	t.Run("listed by name and by logical id", func(t *testing.T) {
		twice := &asl.MockConfig{StateMachines: map[string]asl.MockStateMachine{"PipelineStateMachine": {}, "localcloud-PipelineStateMachine": {}}}
		_, err := newMocks(twice, "", machines)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "listed twice")
	})
}
