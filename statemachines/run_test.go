package statemachines

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

// These tests run the real definition, substituted as CloudFormation would,
// on the local cloud's ASL interpreter. The fake Lambdas decode each payload
// strictly into the request type of shared/pipeline (an unknown key fails)
// and answer with the result types, so the definition and the handlers'
// contract meet exactly as in AWS.

const (
	prepareARN = "arn:aws:lambda:us-east-1:123456789012:function:prepare"
	trainARN   = "arn:aws:lambda:us-east-1:123456789012:function:train"
	deployARN  = "arn:aws:lambda:us-east-1:123456789012:function:deploy"
	topicARN   = "arn:aws:sns:us-east-1:123456789012:mlops"
	execName   = "ingest-churn-0123456789abcdef"
)

// lambdaError is a function error as the Lambda service reports it.
type lambdaError struct{ typ, msg string }

func (e lambdaError) Error() string        { return e.typ + ": " + e.msg }
func (e lambdaError) ErrorType() string    { return e.typ }
func (e lambdaError) ErrorMessage() string { return e.msg }

// fakeLambdas routes invocations to per-function handlers and records them.
type fakeLambdas struct {
	t        *testing.T
	mu       sync.Mutex
	calls    map[string][]json.RawMessage
	handlers map[string]func(n int, payload []byte) (any, error)
	busy     atomic.Int64
}

func (f *fakeLambdas) Invoke(_ context.Context, function string, payload []byte) ([]byte, error) {
	f.busy.Add(1)
	defer f.busy.Add(-1)
	f.mu.Lock()
	n := len(f.calls[function])
	f.calls[function] = append(f.calls[function], append(json.RawMessage(nil), payload...))
	h := f.handlers[function]
	f.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("no fake for %s", function)
	}
	out, err := h(n, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func (f *fakeLambdas) inFlight() int64 { return f.busy.Load() }

func (f *fakeLambdas) count(function string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[function])
}

// decodeStrict decodes a payload into the request type; keys the type does
// not have are an error, as they would be lost on the handler's side.
func decodeStrict[T any](t *testing.T, payload []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "payload %s", payload)
	return v
}

// fakeSNS records notifications; fail makes every publish fail.
type fakeSNS struct {
	mu       sync.Mutex
	fail     bool
	messages []string
	subjects []string
}

type snsError struct{}

func (snsError) Error() string     { return "authorization error" }
func (snsError) ErrorCode() string { return "AuthorizationError" }

func (s *fakeSNS) Publish(_ context.Context, topic, subject, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if topic != topicARN {
		return "", fmt.Errorf("unexpected topic %s", topic)
	}
	if s.fail {
		return "", snsError{}
	}
	s.subjects = append(s.subjects, subject)
	s.messages = append(s.messages, message)
	return fmt.Sprintf("msg-%d", len(s.messages)), nil
}

var testDataset = pipeline.Dataset{Bucket: "mlops-raw-dev-123456789012", Key: "raw/churn.csv", VersionID: "v1",
	Sequencer: "00617F08299329D189", Size: 48213, LastModified: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}

var testOutputs = pipeline.PreparedData{
	Prefix:     "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/",
	Train:      "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/train/",
	Validation: "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/validation/",
	Baseline:   "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/baseline.json",
	Manifest:   "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/manifest.json",
	Quarantine: "s3://mlops-artifacts-dev-123456789012/prepared/" + execName + "/quarantine/rejected.csv",
}

var testDeployment = pipeline.Deployment{EndpointName: "churn-dev", ModelName: "model-x", EndpointConfigName: "config-x", Mode: "create"}

// scenario configures the fakes of one run; zero values are the happy path.
type scenario struct {
	prepareFinal pipeline.Status
	metric       *pipeline.MetricValue
	liveMetric   *pipeline.MetricValue
	deployFinal  pipeline.Status
	// trainStartErrs are returned by the first train start calls, in order.
	trainStartErrs []error
	snsFails       bool
}

func newFakes(t *testing.T, sc scenario) *fakeLambdas {
	succeeded := pipeline.Status{State: pipeline.StateSucceeded, Detail: "SUCCEEDED"}
	if sc.prepareFinal.State == "" {
		sc.prepareFinal = succeeded
	}
	if sc.deployFinal.State == "" {
		sc.deployFinal = pipeline.Status{State: pipeline.StateSucceeded, Detail: "InService"}
	}
	running := func(detail string) pipeline.Status {
		return pipeline.Status{State: pipeline.StateRunning, Detail: detail}
	}
	trainStarts := 0
	return &fakeLambdas{t: t, calls: map[string][]json.RawMessage{}, handlers: map[string]func(int, []byte) (any, error){
		prepareARN: func(n int, p []byte) (any, error) {
			req := decodeStrict[pipeline.PrepareRequest](t, p)
			assert.Equal(t, execName, req.ExecutionName)
			assert.Equal(t, testDataset, req.Dataset)
			if req.Action == pipeline.ActionStart {
				return pipeline.PrepareResult{JobName: "prepare-job", JobRunID: "jr_1", Outputs: testOutputs}, nil
			}
			assert.Equal(t, "jr_1", req.JobRunID)
			if n == 1 { // the first status call
				return running("RUNNING"), nil
			}
			return sc.prepareFinal, nil
		},
		trainARN: func(n int, p []byte) (any, error) {
			req := decodeStrict[pipeline.TrainRequest](t, p)
			assert.Equal(t, execName, req.ExecutionName)
			assert.Equal(t, testOutputs, req.Prepared)
			if req.Action == pipeline.ActionStart {
				trainStarts++
				if trainStarts <= len(sc.trainStartErrs) {
					return nil, sc.trainStartErrs[trainStarts-1]
				}
				return pipeline.TrainResult{TrainingJobName: "train-x"}, nil
			}
			assert.Equal(t, "train-x", req.TrainingJobName)
			if n == trainStarts { // the first status call
				return pipeline.TrainStatus{Status: running("Training")}, nil
			}
			return pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed"},
				ModelDataURL: "s3://mlops-artifacts-dev-123456789012/models/x/model.tar.gz", Metric: sc.metric, LiveMetric: sc.liveMetric}, nil
		},
		deployARN: func(n int, p []byte) (any, error) {
			req := decodeStrict[pipeline.DeployRequest](t, p)
			assert.Equal(t, execName, req.ExecutionName)
			assert.Equal(t, "train-x", req.TrainingJobName)
			assert.Equal(t, "s3://mlops-artifacts-dev-123456789012/models/x/model.tar.gz", req.ModelDataURL)
			assert.Equal(t, testOutputs.Baseline, req.BaselineURI)
			assert.Equal(t, sc.metric, req.Metric)
			if req.Action == pipeline.ActionStart {
				assert.Nil(t, req.Deployment)
				return testDeployment, nil
			}
			if assert.NotNil(t, req.Deployment) {
				assert.Equal(t, testDeployment, *req.Deployment)
			}
			if n == 1 {
				return running("Updating"), nil
			}
			return sc.deployFinal, nil
		},
	}}
}

// runPipeline runs the substituted definition on a manual clock. Whenever
// the execution has been quiet for a while with no fake call in flight, the
// clock moves 5 s: Wait states and retry backoffs elapse in a few steps,
// while a Task timeout (30 s or more) would need many consecutive quiet
// steps, which a merely slow engine goroutine does not produce.
func runPipeline(t *testing.T, input any, lambdas *fakeLambdas, sns *fakeSNS) asl.Result {
	t.Helper()
	raw, err := Pipeline()
	require.NoError(t, err)
	def, err := Substitute(raw, map[string]string{
		"PrepareFunctionArn": prepareARN, "TrainFunctionArn": trainARN, "DeployFunctionArn": deployARN,
		"TopicArn": topicARN, "MaxValidationError": "0.25",
	})
	require.NoError(t, err)
	sm, err := asl.Parse(def)
	require.NoError(t, err, "the local cloud's interpreter accepts the definition")
	// The execution timeout (8 h) is checked by TestGraph; here the test's
	// own deadline bounds the run, and a clock advanced while the engine is
	// merely slow (a loaded CI machine) must not end the run as TIMED_OUT.
	sm.TimeoutSeconds = 0

	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	engine := asl.New(asl.Config{Clock: clk, Lambda: lambdas, SNS: sns, Random: func() float64 { return 0.5 }})
	in, err := json.Marshal(input)
	require.NoError(t, err)
	decoded, err := asl.DecodeJSON(in)
	require.NoError(t, err)
	info := asl.ExecutionInfo{
		ARN:             "arn:aws:states:us-east-1:123456789012:execution:pipeline:" + execName,
		Name:            execName,
		StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:pipeline", StateMachineName: "pipeline",
		StartTime: start, Input: decoded,
	}
	hist := asl.NewHistory(nil)
	done := make(chan asl.Result, 1)
	go func() { done <- engine.Run(context.Background(), sm, info, hist) }()

	deadline := time.After(20 * time.Second)
	lastLen, lastPending, stable := -1, -1, 0
	for {
		select {
		case res := <-done:
			return res
		case <-deadline:
			t.Fatalf("execution did not finish")
		case <-time.After(200 * time.Microsecond):
		}
		l, p := hist.Len(), clk.Pending()
		if l == lastLen && p == lastPending && p > 0 && lambdas.inFlight() == 0 {
			stable++
		} else {
			stable = 0
		}
		lastLen, lastPending = l, p
		if stable >= 3 {
			clk.Advance(5 * time.Second)
			stable = 0
		}
	}
}

func outputOf(t *testing.T, res asl.Result) map[string]any {
	t.Helper()
	raw, err := json.Marshal(res.Output)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// field re-decodes one top-level output field into a Go type.
func field[T any](t *testing.T, out map[string]any, name string) T {
	t.Helper()
	raw, err := json.Marshal(out[name])
	require.NoError(t, err)
	return decodeStrict[T](t, raw)
}

func uploadInput() pipeline.Input {
	return pipeline.Input{Dataset: testDataset, Trigger: pipeline.TriggerUpload}
}

func TestRunDeploysAGoodModel(t *testing.T) {
	metric := &pipeline.MetricValue{Name: "validation:error", Value: 0.12}
	tests := []struct {
		name string
		live *pipeline.MetricValue
	}{
		{"first model", nil},
		{"better than the live model", &pipeline.MetricValue{Name: "validation:error", Value: 0.15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lambdas, sns := newFakes(t, scenario{metric: metric, liveMetric: tt.live}), &fakeSNS{}
			res := runPipeline(t, uploadInput(), lambdas, sns)
			require.Equal(t, asl.StatusSucceeded, res.Status, "%s: %s", res.Error, res.Cause)

			out := outputOf(t, res)
			assert.Equal(t, pipeline.PrepareResult{JobName: "prepare-job", JobRunID: "jr_1", Outputs: testOutputs},
				field[pipeline.PrepareResult](t, out, "prepare"))
			assert.Equal(t, pipeline.StateSucceeded, field[pipeline.Status](t, out, "prepareStatus").State)
			assert.Equal(t, pipeline.TrainResult{TrainingJobName: "train-x"}, field[pipeline.TrainResult](t, out, "train"))
			training := field[pipeline.TrainStatus](t, out, "training")
			assert.Equal(t, metric, training.Metric)
			assert.Equal(t, tt.live, training.LiveMetric)
			assert.Equal(t, testDeployment, field[pipeline.Deployment](t, out, "deployment"))
			assert.Equal(t, pipeline.Status{State: pipeline.StateSucceeded, Detail: "InService"}, field[pipeline.Status](t, out, "deployStatus"))
			assert.Equal(t, map[string]any{"maxValidationError": 0.25}, out["config"])
			assert.NotContains(t, out, "error")

			// start + 2 status polls each.
			assert.Equal(t, 3, lambdas.count(prepareARN))
			assert.Equal(t, 3, lambdas.count(trainARN))
			assert.Equal(t, 3, lambdas.count(deployARN))
			require.Len(t, sns.messages, 1)
			assert.Equal(t, "MLOps pipeline: new model deployed", sns.subjects[0])
			assert.Contains(t, sns.messages[0], "deployed model model-x to endpoint churn-dev (validation:error = 0.12)")
		})
	}
}

func TestRunRejectsAWeakModel(t *testing.T) {
	tests := []struct {
		name         string
		metric, live *pipeline.MetricValue
	}{
		{"over the threshold", &pipeline.MetricValue{Name: "validation:error", Value: 0.3}, nil},
		{"worse than the live model", &pipeline.MetricValue{Name: "validation:error", Value: 0.2}, &pipeline.MetricValue{Name: "validation:error", Value: 0.1}},
		{"no metric", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lambdas, sns := newFakes(t, scenario{metric: tt.metric, liveMetric: tt.live}), &fakeSNS{}
			res := runPipeline(t, uploadInput(), lambdas, sns)
			require.Equal(t, asl.StatusSucceeded, res.Status, "a rejected model is not a failed execution: %s %s", res.Error, res.Cause)
			assert.Zero(t, lambdas.count(deployARN), "nothing deploys")
			require.Len(t, sns.messages, 1)
			assert.Equal(t, "MLOps pipeline: model rejected by the quality gate", sns.subjects[0])
			assert.Contains(t, sns.messages[0], "maximum validation error 0.25")
		})
	}
}

func TestRunFailures(t *testing.T) {
	good := &pipeline.MetricValue{Name: "validation:error", Value: 0.1}
	tests := []struct {
		name       string
		input      any
		sc         scenario
		wantError  string
		wantCause  string
		wantNotify bool
		trainCalls int
	}{
		{"invalid input", map[string]any{"trigger": "upload"}, scenario{}, "InvalidInput", "no dataset.bucket", true, 0},
		{"glue job failed", uploadInput(),
			scenario{prepareFinal: pipeline.Status{State: pipeline.StateFailed, Detail: "FAILED", Reason: "3 of 11 rows failed schema validation"}},
			"PrepareFailed", "3 of 11 rows failed schema validation", true, 0},
		{"unknown job state", uploadInput(), scenario{prepareFinal: pipeline.Status{State: "STOPPED", Detail: "STOPPED"}},
			"PrepareFailed", "STOPPED", true, 0},
		{"permanent handler error is not retried", uploadInput(),
			scenario{trainStartErrs: []error{lambdaError{faults.PermanentErrorName, "training image not found"}}},
			faults.PermanentErrorName, "training image not found", true, 1},
		{"deployment rolled back", uploadInput(),
			scenario{metric: good, deployFinal: pipeline.Status{State: pipeline.StateFailed, Detail: "InService", Reason: "rolled back: alarm churn-dev-errors"}},
			"DeploymentFailed", "rolled back: alarm churn-dev-errors", true, 3},
		{"failure notification refused", uploadInput(),
			scenario{prepareFinal: pipeline.Status{State: pipeline.StateFailed, Detail: "FAILED"}, snsFails: true},
			"NotificationFailed", "AuthorizationError", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lambdas, sns := newFakes(t, tt.sc), &fakeSNS{fail: tt.sc.snsFails}
			res := runPipeline(t, tt.input, lambdas, sns)
			require.Equal(t, asl.StatusFailed, res.Status)
			assert.Equal(t, tt.wantError, res.Error)
			assert.Contains(t, res.Cause, tt.wantCause)
			assert.Equal(t, tt.trainCalls, lambdas.count(trainARN))
			if !tt.wantNotify {
				assert.Empty(t, sns.messages)
				return
			}
			require.Len(t, sns.messages, 1)
			assert.Equal(t, "MLOps pipeline failed", sns.subjects[0])
			assert.Contains(t, sns.messages[0], execName)
			assert.Contains(t, sns.messages[0], tt.wantError)
		})
	}
}

func TestRunRetriesTransientErrors(t *testing.T) {
	transient := lambdaError{faults.TransientErrorName, "throttled by SageMaker"}
	tests := []struct {
		name       string
		errs       []error
		wantStatus string
		wantStarts int
	}{
		{"recovers after two failures", []error{transient, transient}, asl.StatusSucceeded, 3},
		{"throttled invoke recovers", []error{lambdaError{"Lambda.TooManyRequestsException", "rate exceeded"}}, asl.StatusSucceeded, 2},
		{"gives up after six retries", []error{transient, transient, transient, transient, transient, transient, transient}, asl.StatusFailed, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lambdas := newFakes(t, scenario{metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.1}, trainStartErrs: tt.errs})
			res := runPipeline(t, uploadInput(), lambdas, &fakeSNS{})
			require.Equal(t, tt.wantStatus, res.Status, "%s %s", res.Error, res.Cause)
			starts := 0
			for _, p := range lambdas.calls[trainARN] {
				if strings.Contains(string(p), `"action":"start"`) {
					starts++
				}
			}
			assert.Equal(t, tt.wantStarts, starts)
			if tt.wantStatus == asl.StatusFailed {
				assert.Equal(t, faults.TransientErrorName, res.Error)
			}
		})
	}
}

// TestRunFakesCatchContractDrift proves the strict decoding above notices a
// payload key the Go types do not have. (encoding/json matches names case-
// insensitively, so a case-only difference is caught by the exact-name
// checks of pipeline_test.go instead.)
func TestRunFakesCatchContractDrift(t *testing.T) {
	var v pipeline.PrepareRequest
	dec := json.NewDecoder(strings.NewReader(`{"action":"start","executionName":"x","dataset":{},"jobRun":"jr"}`))
	dec.DisallowUnknownFields()
	err := dec.Decode(&v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "jobRun"`)
}
