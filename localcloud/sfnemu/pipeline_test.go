package sfnemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pipeline tests run statemachines/pipeline.asl.json end to end through
// the service with fake prepare/train/deploy Lambdas that decode each
// payload strictly into the shared/pipeline request types and answer with
// the contract's result types, and a fake SNS topic.

const (
	prepareFn = "arn:aws:lambda:us-east-1:123456789012:function:mlops-prepare"
	trainFn   = "arn:aws:lambda:us-east-1:123456789012:function:mlops-train"
	deployFn  = "arn:aws:lambda:us-east-1:123456789012:function:mlops-deploy"
	topic     = "arn:aws:sns:us-east-1:123456789012:mlops-notifications"
)

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// loadPipeline reads the definition and substitutes its ${Name}
// placeholders as CloudFormation's DefinitionSubstitutions would.
func loadPipeline(t *testing.T, maxValidationError string) string {
	t.Helper()
	path := filepath.Join("..", "..", "statemachines", "pipeline.asl.json")
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s does not exist yet", path)
	}
	require.NoError(t, err)
	subs := map[string]string{
		"PrepareFunctionArn": prepareFn, "TrainFunctionArn": trainFn, "DeployFunctionArn": deployFn,
		"TopicArn": topic, "MaxValidationError": maxValidationError,
	}
	var missing []string
	out := placeholder.ReplaceAllStringFunc(string(raw), func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := subs[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	require.Empty(t, missing, "the definition uses placeholders this test does not know")
	return out
}

type pipelineFakes struct {
	mu    sync.Mutex
	calls map[string][]string // function → actions, in order
	// scripts answer per function and per call number of that action.
	prepareStatus []pipeline.Status
	trainStatus   pipeline.TrainStatus
	trainStartErr []error // errors for successive train start calls (nil: succeed)
	deployStatus  pipeline.Status
}

type fnErr struct{ typ, msg string }

func (e *fnErr) Error() string        { return e.typ + ": " + e.msg }
func (e *fnErr) ErrorType() string    { return e.typ }
func (e *fnErr) ErrorMessage() string { return e.msg }

func strictDecode(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &fnErr{"PermanentError", fmt.Sprintf("payload %s does not match the contract: %v", payload, err)}
	}
	return nil
}

func (f *pipelineFakes) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	var action struct {
		Action pipeline.Action `json:"action"`
	}
	if err := json.Unmarshal(payload, &action); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string][]string{}
	}
	n := 0
	for _, a := range f.calls[fn] {
		if a == string(action.Action) {
			n++
		}
	}
	f.calls[fn] = append(f.calls[fn], string(action.Action))
	f.mu.Unlock()
	var out any
	switch fn {
	case prepareFn:
		var req pipeline.PrepareRequest
		if err := strictDecode(payload, &req); err != nil {
			return nil, err
		}
		if req.ExecutionName == "" || req.Dataset.Bucket == "" {
			return nil, &fnErr{"PermanentError", "missing execution name or dataset"}
		}
		if req.Action == pipeline.ActionStart {
			prefix := "s3://artifacts/prepared/" + req.ExecutionName + "/"
			out = pipeline.PrepareResult{JobName: "prepare", JobRunID: "jr_1", Outputs: pipeline.PreparedData{
				Prefix: prefix, Train: prefix + "train/", Validation: prefix + "validation/", Baseline: prefix + "baseline.json",
				Manifest: prefix + "manifest.json", Quarantine: prefix + "quarantine/"}}
		} else {
			if req.JobRunID != "jr_1" {
				return nil, &fnErr{"PermanentError", "wrong job run id " + req.JobRunID}
			}
			out = f.prepareStatus[min(n, len(f.prepareStatus)-1)]
		}
	case trainFn:
		var req pipeline.TrainRequest
		if err := strictDecode(payload, &req); err != nil {
			return nil, err
		}
		if req.Action == pipeline.ActionStart {
			if n < len(f.trainStartErr) && f.trainStartErr[n] != nil {
				return nil, f.trainStartErr[n]
			}
			if req.Prepared.Train == "" {
				return nil, &fnErr{"PermanentError", "no prepared data"}
			}
			out = pipeline.TrainResult{TrainingJobName: "train-" + req.ExecutionName}
		} else {
			out = f.trainStatus
		}
	case deployFn:
		var req pipeline.DeployRequest
		if err := strictDecode(payload, &req); err != nil {
			return nil, err
		}
		if req.Action == pipeline.ActionStart {
			out = pipeline.Deployment{EndpointName: "churn", ModelName: "model-x", EndpointConfigName: "config-x", Mode: "create"}
		} else {
			if req.Deployment == nil || req.Deployment.EndpointConfigName != "config-x" {
				return nil, &fnErr{"PermanentError", "status without the deployment"}
			}
			out = f.deployStatus
		}
	default:
		return nil, fmt.Errorf("no fake for %s", fn)
	}
	return json.Marshal(out)
}

func (f *pipelineFakes) actions(fn string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls[fn]...)
}

type recordingSNS struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingSNS) Publish(_ context.Context, topicARN, subject, message string) (string, error) {
	if topicARN != topic {
		return "", fmt.Errorf("unexpected topic %s", topicARN)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, subject+"|"+message)
	return fmt.Sprintf("m-%d", len(r.msgs)), nil
}

func (r *recordingSNS) subjects() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, strings.SplitN(m, "|", 2)[0])
	}
	return out
}

func TestPipelineEndToEnd(t *testing.T) {
	running := pipeline.Status{State: pipeline.StateRunning, Detail: "RUNNING"}
	succeeded := pipeline.Status{State: pipeline.StateSucceeded, Detail: "SUCCEEDED"}
	trained := func(v float64) pipeline.TrainStatus {
		return pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed"},
			ModelDataURL: "s3://artifacts/models/x/model.tar.gz", Metric: &pipeline.MetricValue{Name: "validation:error", Value: v}}
	}
	tests := []struct {
		name           string
		fakes          *pipelineFakes
		wantStatus     string
		wantError      string
		wantSubject    string
		wantDeploys    []string
		wantTrainCalls []string
	}{
		{
			name:        "success: prepare polls, trains, passes the gate, deploys, notifies",
			fakes:       &pipelineFakes{prepareStatus: []pipeline.Status{running, succeeded}, trainStatus: trained(0.1), deployStatus: succeeded},
			wantStatus:  "SUCCEEDED",
			wantSubject: "MLOps pipeline: new model deployed",
			wantDeploys: []string{"start", "status"}, wantTrainCalls: []string{"start", "status"},
		},
		{
			name:        "quality gate rejects a model above MaxValidationError",
			fakes:       &pipelineFakes{prepareStatus: []pipeline.Status{succeeded}, trainStatus: trained(0.5), deployStatus: succeeded},
			wantStatus:  "SUCCEEDED",
			wantSubject: "MLOps pipeline: model rejected by the quality gate",
			wantDeploys: nil, wantTrainCalls: []string{"start", "status"},
		},
		{
			name:        "prepare reports FAILED",
			fakes:       &pipelineFakes{prepareStatus: []pipeline.Status{{State: pipeline.StateFailed, Detail: "FAILED", Reason: "schema mismatch"}}},
			wantStatus:  "FAILED",
			wantError:   "PrepareFailed",
			wantSubject: "MLOps pipeline failed",
		},
		{
			name: "TransientError on train start is retried, then succeeds",
			fakes: &pipelineFakes{prepareStatus: []pipeline.Status{succeeded}, trainStatus: trained(0.1), deployStatus: succeeded,
				trainStartErr: []error{&fnErr{"TransientError", "throttled by SageMaker"}, &fnErr{"TransientError", "again"}}},
			wantStatus:  "SUCCEEDED",
			wantSubject: "MLOps pipeline: new model deployed",
			wantDeploys: []string{"start", "status"}, wantTrainCalls: []string{"start", "start", "start", "status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := loadPipeline(t, "0.2")
			m := clock.NewManual(t0)
			sns := &recordingSNS{}
			svc, err := New(Options{Clock: m, Lambda: tt.fakes, SNS: sns, Random: func() float64 { return 0.5 }})
			require.NoError(t, err)
			defer svc.Close()
			smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "mlops-pipeline", Definition: def, RoleARN: role})
			require.NoError(t, err)
			input := `{"dataset":{"bucket":"raw","key":"raw/churn.csv","versionId":"v1","size":123,"lastModified":"2026-11-25T08:00:00Z"},"trigger":"upload"}`
			arn, _, err := svc.StartExecution(context.Background(), smARN, "ingest-churn-0123456789abcdef", input)
			require.NoError(t, err)
			oc := advanceUntilDone(t, svc, m, arn)
			require.Equal(t, tt.wantStatus, oc.Status, "error %s: %s", oc.Error, oc.Cause)
			assert.Equal(t, tt.wantError, oc.Error)
			assert.Equal(t, []string{tt.wantSubject}, sns.subjects())
			assert.Equal(t, tt.wantDeploys, tt.fakes.actions(deployFn))
			assert.Equal(t, tt.wantTrainCalls, tt.fakes.actions(trainFn))

			events, err := svc.History(arn)
			require.NoError(t, err)
			var scheduled int
			for _, e := range events {
				if e.Type == "TaskScheduled" && e.Details["resource"] == "invoke" {
					scheduled++
				}
			}
			assert.Equal(t, len(tt.fakes.actions(prepareFn))+len(tt.fakes.actions(trainFn))+len(tt.fakes.actions(deployFn)), scheduled)
			if tt.wantError != "" {
				assert.Contains(t, oc.Cause, "schema mismatch")
				assert.Equal(t, "ExecutionFailed", events[len(events)-1].Type)
			}
		})
	}
}

var _ asl.LambdaInvoker = (*pipelineFakes)(nil)
