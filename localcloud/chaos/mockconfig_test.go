package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/statemachines"
)

// noLambda fails every real Lambda call: in these test cases every Lambda
// state is mocked.
type noLambda struct{}

func (noLambda) Invoke(_ context.Context, fn string, _ []byte) ([]byte, error) {
	return nil, fmt.Errorf("unexpected real invocation of %s", fn)
}

type recordingSNS struct {
	mu       sync.Mutex
	messages []string
}

func (s *recordingSNS) Publish(_ context.Context, _, subject, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, subject+": "+message)
	return "m-1", nil
}

// TestMockConfigOnThePipeline runs the deployed pipeline definition with a
// Step Functions Local MockConfigFile (testdata/pipeline-mockconfig.json):
// the same file works unchanged with AWS's tool and here.
func TestMockConfigOnThePipeline(t *testing.T) {
	cfg, err := asl.LoadMockConfig(filepath.Join("testdata", "pipeline-mockconfig.json"))
	require.NoError(t, err)
	raw, err := statemachines.Pipeline()
	require.NoError(t, err)
	def, err := statemachines.Substitute(raw, map[string]string{
		"PrepareFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:prepare",
		"TrainFunctionArn":   "arn:aws:lambda:us-east-1:123456789012:function:train",
		"DeployFunctionArn":  "arn:aws:lambda:us-east-1:123456789012:function:deploy",
		"TopicArn":           "arn:aws:sns:us-east-1:123456789012:topic", "MaxValidationError": "0.25",
	})
	require.NoError(t, err)

	tests := []struct {
		testCase      string
		wantStatus    string
		wantTrainings int    // StartTraining invocations
		wantMessage   string // in the (real, unmocked) failure notification
	}{
		{testCase: "HappyPath", wantStatus: asl.StatusSucceeded, wantTrainings: 1},
		{testCase: "TrainingThrottled", wantStatus: asl.StatusSucceeded, wantTrainings: 3},
		{testCase: "TrainingRefused", wantStatus: asl.StatusFailed, wantTrainings: 1, wantMessage: "the training image cannot be pulled"},
		{testCase: "RolledBack", wantStatus: asl.StatusFailed, wantTrainings: 1, wantMessage: "deployment rolled back"},
	}
	for _, tt := range tests {
		t.Run(tt.testCase, func(t *testing.T) {
			sm, err := asl.Parse(def)
			require.NoError(t, err)
			sm.TimeoutSeconds = 0
			mocker, err := cfg.Mocker(nil)
			require.NoError(t, err)
			sns := &recordingSNS{}
			clk := clock.NewManual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
			engine := asl.New(asl.Config{Clock: clk, Lambda: noLambda{}, SNS: sns, Mock: mocker, Random: func() float64 { return 0.5 }})
			input, err := asl.DecodeJSON([]byte(`{"dataset":{"bucket":"raw","key":"raw/churn.csv","versionId":"v1","sequencer":"01","etag":"e","size":10,"lastModified":"2026-11-25T09:00:00Z"},"trigger":"upload"}`))
			require.NoError(t, err)
			exec := asl.ExecutionInfo{
				ARN: "arn:aws:states:us-east-1:123456789012:execution:PipelineStateMachine:" + tt.testCase, Name: tt.testCase,
				// The test case is chosen the Step Functions Local way.
				StateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:PipelineStateMachine#" + tt.testCase,
				StateMachineName: "PipelineStateMachine", StartTime: clk.Now(), Input: input,
			}
			hist := asl.NewHistory(nil)
			done := make(chan asl.Result, 1)
			go func() { done <- engine.Run(context.Background(), sm, exec, hist) }()
			var res asl.Result
			deadline := time.After(20 * time.Second)
			// Fast-forward only when the execution is quiet (no new event,
			// the same sleepers), so a Task timeout never overtakes a mock.
			lastLen, lastPending, stable := -1, -1, 0
		wait:
			for {
				select {
				case res = <-done:
					break wait
				case <-deadline:
					t.Fatal("execution did not end")
				case <-time.After(300 * time.Microsecond):
				}
				l, p := hist.Len(), clk.Pending()
				if l == lastLen && p == lastPending && p > 0 {
					stable++
				} else {
					stable = 0
				}
				lastLen, lastPending = l, p
				if stable >= 3 {
					clk.AdvanceToNext()
					stable = 0
				}
			}
			require.Equal(t, tt.wantStatus, res.Status, "%s: %s", res.Error, res.Cause)
			assert.Equal(t, tt.wantTrainings, mocker.Invocations(exec.ARN, "StartTraining"))
			assert.Equal(t, 2, mocker.Invocations(exec.ARN, "CheckPrepare"), "RUNNING, then SUCCEEDED after a Wait")
			if tt.wantMessage != "" {
				require.Len(t, sns.messages, 1, "the failure notification is the real SNS state")
				assert.Contains(t, strings.ReplaceAll(sns.messages[0], `\`, ""), tt.wantMessage)
			} else {
				assert.Empty(t, sns.messages, "NotifySuccess is mocked")
			}
		})
	}
}
