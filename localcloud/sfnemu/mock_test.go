package sfnemu

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
)

// ordersDef charges (retrying TransientError), then notifies; a failed
// charge is caught and notified too.
const ordersDef = `{"StartAt":"Charge","States":{
 "Charge":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"charge","Payload.$":"$"},
   "ResultSelector":{"charged.$":"$.Payload.charged"},"ResultPath":"$.charge",
   "Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":1,"MaxAttempts":3}],
   "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Notify"}],"Next":"Notify"},
 "Notify":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"notify","Payload.$":"$"},
   "OutputPath":"$.Payload","End":true}}}`

// recordingLambda answers every real invocation with what it saw.
type recordingLambda struct {
	mu    sync.Mutex
	calls []string
}

func (l *recordingLambda) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	l.mu.Lock()
	l.calls = append(l.calls, fn)
	l.mu.Unlock()
	return json.Marshal(map[string]any{"notified": "real", "by": fn, "saw": json.RawMessage(payload)})
}

func (l *recordingLambda) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func loadMocks(t *testing.T, testCase string) *Mocks {
	t.Helper()
	cfg, err := asl.LoadMockConfig(filepath.Join("testdata", "mockconfig.json"))
	require.NoError(t, err)
	m, err := NewMocks(cfg, testCase)
	require.NoError(t, err)
	return m
}

// TestMockConfigFile runs a state machine with a Step Functions Local
// MockConfigFile: each attempt of a mocked state gets its own Return or
// Throw, Retry and Catch see the mocked errors, and an unmocked state calls
// the real integration.
func TestMockConfigFile(t *testing.T) {
	tests := []struct {
		name            string
		defaultCase     string // NewMocks' test case
		suffix          string // "#TestCase" on the state machine ARN
		wantOutput      string
		wantCharges     int      // Charge invocations (mocked attempts)
		wantFailed      int      // TaskFailed events
		wantSucceeded   int      // TaskSucceeded events
		wantRealLambdas []string // real invocations
	}{
		{
			name: "test case from the ARN: throttled twice, then charged; Notify is real", suffix: "#Flaky",
			wantOutput:  `{"by":"notify","notified":"real","saw":{"charge":{"charged":42},"order":7}}`,
			wantCharges: 3, wantFailed: 2, wantSucceeded: 2, wantRealLambdas: []string{"notify"},
		},
		{
			name: "test case from the ARN: declined, caught, mocked notification", suffix: "#Declined",
			wantOutput:  `{"notified":"mock"}`,
			wantCharges: 1, wantFailed: 1, wantSucceeded: 1,
		},
		{
			name: "default test case for every execution", defaultCase: "Flaky",
			wantOutput:  `{"by":"notify","notified":"real","saw":{"charge":{"charged":42},"order":7}}`,
			wantCharges: 3, wantFailed: 2, wantSucceeded: 2, wantRealLambdas: []string{"notify"},
		},
		{
			name: "the ARN's test case wins over the default", defaultCase: "Flaky", suffix: "#Declined",
			wantOutput:  `{"notified":"mock"}`,
			wantCharges: 1, wantFailed: 1, wantSucceeded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			lam := &recordingLambda{}
			mocks := loadMocks(t, tt.defaultCase)
			svc, client := newService(t, Options{Clock: clk, Lambda: lam, Mock: mocks})
			smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "orders", Definition: ordersDef, RoleARN: role})
			require.NoError(t, err)

			out, err := client.StartExecution(context.Background(), &sfn.StartExecutionInput{
				StateMachineArn: aws.String(smARN + tt.suffix), Name: aws.String("order-7"), Input: aws.String(`{"order":7}`),
			})
			require.NoError(t, err)
			execARN := aws.ToString(out.ExecutionArn)
			assert.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:orders:order-7", execARN)
			oc := runToEnd(t, svc, clk, execARN)
			require.Equal(t, asl.StatusSucceeded, oc.Status, "%s: %s", oc.Error, oc.Cause)
			assert.JSONEq(t, tt.wantOutput, oc.Output)
			assert.Equal(t, tt.wantCharges, mocks.Invocations(execARN, "Charge"))
			assert.Equal(t, tt.wantRealLambdas, lam.Calls())

			events, err := svc.History(execARN)
			require.NoError(t, err)
			count := map[string]int{}
			for _, e := range events {
				count[e.Type]++
			}
			assert.Equal(t, tt.wantFailed, count["TaskFailed"], "one TaskFailed per thrown attempt")
			assert.Equal(t, tt.wantSucceeded, count["TaskSucceeded"])

			desc, err := client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
			require.NoError(t, err)
			assert.Equal(t, smARN, aws.ToString(desc.StateMachineArn), "the execution belongs to the state machine, not to the test case")
			list, err := client.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(smARN)})
			require.NoError(t, err)
			assert.Len(t, list.Executions, 1)
		})
	}
}

// runToEnd fast-forwards clk until the execution ends; one that needs no
// wait may have ended already.
func runToEnd(t *testing.T, svc *Service, clk *clock.Manual, arn string) asl.ExecutionOutcome {
	t.Helper()
	ex, err := svc.execution(arn)
	require.NoError(t, err)
	select {
	case <-ex.done:
		return await(t, svc, arn)
	case <-time.After(50 * time.Millisecond):
	}
	if svc.Running() == 0 {
		return await(t, svc, arn)
	}
	return advanceUntilDone(t, svc, clk, arn)
}

func TestMockConfigRefusals(t *testing.T) {
	const smARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
	tests := []struct {
		name     string
		mock     bool
		arn      string
		wantCode string
		wantMsg  string
	}{
		{"unknown test case", true, smARN + "#Nope", "InvalidArn", `no test case "Nope" for state machine "orders"`},
		{"empty test case", true, smARN + "#", "InvalidArn", "no test case after '#'"},
		{"unknown state machine", true, smARN + "x#Flaky", "StateMachineDoesNotExist", "ordersx"},
		{"test case without mocks", false, smARN + "#Flaky", "StateMachineDoesNotExist", "#Flaky"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lam := &recordingLambda{}
			opts := Options{Lambda: lam}
			if tt.mock {
				opts.Mock = loadMocks(t, "")
			}
			svc, client := newService(t, opts)
			_, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "orders", Definition: ordersDef, RoleARN: role})
			require.NoError(t, err)
			_, err = client.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(tt.arn)})
			var ae smithy.APIError
			require.True(t, errors.As(err, &ae), "want an API error, got %v", err)
			assert.Equal(t, tt.wantCode, ae.ErrorCode())
			assert.Contains(t, ae.ErrorMessage(), tt.wantMsg)
			assert.Zero(t, svc.Running(), "nothing started")
			assert.Empty(t, lam.Calls())
		})
	}

	t.Run("a default test case no state machine has", func(t *testing.T) {
		cfg, err := asl.LoadMockConfig(filepath.Join("testdata", "mockconfig.json"))
		require.NoError(t, err)
		_, err = NewMocks(cfg, "Nope")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `test case "Nope"`)
		assert.Contains(t, err.Error(), "orders")
	})
	t.Run("no configuration", func(t *testing.T) {
		_, err := NewMocks(nil, "")
		assert.Error(t, err)
	})
}

func TestMocksHasTestCase(t *testing.T) {
	m := loadMocks(t, "")
	assert.True(t, m.HasTestCase("orders", "Flaky"))
	assert.False(t, m.HasTestCase("orders", "flaky"), "names are case-sensitive")
	assert.False(t, m.HasTestCase("other", "Flaky"))
	assert.Equal(t, map[string][]string{"orders": {"Declined", "Flaky"}}, m.TestCases())
}

var _ TestCaseChecker = (*Mocks)(nil)
