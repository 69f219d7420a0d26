package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

const (
	testJob       = "mlops-dev-prepare"
	testArtifacts = "mlops-artifacts-dev-123456789012"
	testExecution = "ingest-churn-2026-11-0cc989d34eebadc8"
	testRunID     = "jr_8b1d6a0f3c2e4d5b9a7c6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"
)

// loadRequest reads a state machine payload from the repository's events/.
func loadRequest(t testing.TB, name string) pipeline.PrepareRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	var req pipeline.PrepareRequest
	require.NoError(t, json.Unmarshal(b, &req))
	return req
}

// fakeGlue is a hand-written Glue client recording every call.
type fakeGlue struct {
	t         testing.TB
	starts    []*glue.StartJobRunInput
	gets      []*glue.GetJobRunInput
	listCalls []*glue.GetJobRunsInput
	start     func(ctx context.Context) (*glue.StartJobRunOutput, error)
	get       func(ctx context.Context) (*glue.GetJobRunOutput, error)
	pages     []glue.GetJobRunsOutput // served in order, following NextToken
	listErr   error
}

func (f *fakeGlue) StartJobRun(ctx context.Context, in *glue.StartJobRunInput, _ ...func(*glue.Options)) (*glue.StartJobRunOutput, error) {
	f.starts = append(f.starts, in)
	if f.start == nil {
		return &glue.StartJobRunOutput{JobRunId: aws.String("jr_new")}, nil
	}
	return f.start(ctx)
}

func (f *fakeGlue) GetJobRun(ctx context.Context, in *glue.GetJobRunInput, _ ...func(*glue.Options)) (*glue.GetJobRunOutput, error) {
	f.gets = append(f.gets, in)
	if f.get == nil {
		f.t.Fatalf("unexpected GetJobRun")
	}
	return f.get(ctx)
}

func (f *fakeGlue) GetJobRuns(ctx context.Context, in *glue.GetJobRunsInput, _ ...func(*glue.Options)) (*glue.GetJobRunsOutput, error) {
	f.listCalls = append(f.listCalls, in)
	if f.listErr != nil {
		return nil, f.listErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The page index is the number of the token: "" -> 0, "1" -> 1, ...
	i := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		i = int(tok[0] - '0')
	}
	if i >= len(f.pages) {
		return &glue.GetJobRunsOutput{}, nil
	}
	return &f.pages[i], nil
}

func newHandler(t testing.TB, f *fakeGlue) (h *Handler, logs, emf *bytes.Buffer) {
	t.Helper()
	f.t = t
	logs, emf = &bytes.Buffer{}, &bytes.Buffer{}
	return &Handler{Starter: f, Getter: f, Runs: f, Config: Config{GlueJobName: testJob, ArtifactsBucket: testArtifacts},
		Log: logging.New(logs, "DEBUG"), Metrics: metrics.New(emf, "MLOps/test", time.Now)}, logs, emf
}

// outcomes returns the Outcome dimension of every PrepareRuns record.
func outcomes(t testing.TB, emf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	dec := json.NewDecoder(emf)
	for dec.More() {
		var rec struct {
			Function, Outcome string
			PrepareRuns       float64
		}
		require.NoError(t, dec.Decode(&rec))
		assert.Equal(t, "prepare", rec.Function)
		assert.Equal(t, 1.0, rec.PrepareRuns)
		out = append(out, rec.Outcome)
	}
	return out
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " from fake"}
}

// taskError returns the error name and message a Step Functions Task sees.
func taskError(t testing.TB, err error) (name, msg string) {
	t.Helper()
	var ie messages.InvokeResponse_Error
	require.True(t, errors.As(err, &ie), "handler error %v is not a task error", err)
	return ie.Type, ie.Message
}

func run(id, execution string) gluetypes.JobRun {
	return gluetypes.JobRun{Id: aws.String(id), JobRunState: gluetypes.JobRunStateRunning,
		Arguments: map[string]string{ArgExecutionName: execution, "--schema": "{}"}}
}

func TestStart(t *testing.T) {
	prefix := "s3://" + testArtifacts + "/prepared/" + testExecution + "/"
	wantOutputs := pipeline.PreparedData{
		Prefix: prefix, Train: prefix + "train/", Validation: prefix + "validation/", Baseline: prefix + "baseline.json",
		Manifest: prefix + "manifest.json", Quarantine: prefix + "quarantine/rejected.csv",
	}
	tests := []struct {
		name      string
		event     string
		glue      fakeGlue
		timeout   time.Duration
		wantRunID string
		wantStart bool   // StartJobRun called
		wantErr   string // task error name
		wantMsg   string
	}{
		{name: "starts a run after looking through every page", event: "prepare-start.json",
			glue: fakeGlue{pages: []glue.GetJobRunsOutput{
				{JobRuns: []gluetypes.JobRun{run("jr_a", "other-execution")}, NextToken: aws.String("1")},
				{JobRuns: []gluetypes.JobRun{run("jr_b", "another-execution")}},
			}},
			wantRunID: "jr_new", wantStart: true},
		{name: "retried start returns the existing run", event: "prepare-start.json",
			glue: fakeGlue{pages: []glue.GetJobRunsOutput{
				{JobRuns: []gluetypes.JobRun{run("jr_a", "other-execution")}, NextToken: aws.String("1")},
				{JobRuns: []gluetypes.JobRun{run("jr_existing", testExecution)}},
			}},
			wantRunID: "jr_existing"},
		{name: "concurrent runs exceeded is transient", event: "prepare-start.json",
			glue: fakeGlue{start: func(context.Context) (*glue.StartJobRunOutput, error) {
				return nil, &gluetypes.ConcurrentRunsExceededException{Message: aws.String("too many")}
			}},
			wantStart: true, wantErr: faults.TransientErrorName, wantMsg: "start glue job"},
		{name: "throttled listing is transient", event: "prepare-start.json",
			glue:    fakeGlue{listErr: apiErr("ThrottlingException")},
			wantErr: faults.TransientErrorName, wantMsg: "list runs of glue job"},
		{name: "missing job is permanent", event: "prepare-start.json",
			glue:    fakeGlue{listErr: &gluetypes.EntityNotFoundException{Message: aws.String("job not found")}},
			wantErr: faults.PermanentErrorName, wantMsg: "job not found"},
		{name: "validation error is permanent", event: "prepare-start.json",
			glue: fakeGlue{start: func(context.Context) (*glue.StartJobRunOutput, error) {
				return nil, &gluetypes.InvalidInputException{Message: aws.String("bad argument")}
			}},
			wantStart: true, wantErr: faults.PermanentErrorName, wantMsg: "bad argument"},
		{name: "already exists from Glue is permanent", event: "prepare-start.json",
			glue: fakeGlue{start: func(context.Context) (*glue.StartJobRunOutput, error) {
				return nil, &gluetypes.AlreadyExistsException{Message: aws.String("exists")}
			}},
			wantStart: true, wantErr: faults.PermanentErrorName},
		{name: "timeout via context deadline is transient", event: "prepare-start.json", timeout: time.Nanosecond,
			wantErr: faults.TransientErrorName, wantMsg: "context deadline exceeded"},
		{name: "missing dataset is permanent and calls nothing", event: "prepare-start-missing-dataset.json",
			wantErr: faults.PermanentErrorName, wantMsg: "bucket is empty"},
		{name: "unknown action is permanent", event: "prepare-unknown-action.json",
			wantErr: faults.PermanentErrorName, wantMsg: `unknown action "restart"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs, _ := newHandler(t, &tt.glue)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
				<-ctx.Done()
			}
			out, err := h.Handle(ctx, loadRequest(t, tt.event))
			assert.Equal(t, tt.wantStart, len(tt.glue.starts) == 1, "StartJobRun called")
			if tt.wantErr != "" {
				require.Error(t, err)
				name, msg := taskError(t, err)
				assert.Equal(t, tt.wantErr, name)
				assert.Contains(t, msg, tt.wantMsg)
				assert.Contains(t, logs.String(), "prepare failed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, pipeline.PrepareResult{JobName: testJob, JobRunID: tt.wantRunID, Outputs: wantOutputs}, out)
			require.NotEmpty(t, tt.glue.listCalls)
			for _, c := range tt.glue.listCalls {
				assert.Equal(t, testJob, aws.ToString(c.JobName))
				assert.Equal(t, int32(200), aws.ToInt32(c.MaxResults))
			}
			if tt.wantStart {
				in := tt.glue.starts[0]
				assert.Equal(t, testJob, aws.ToString(in.JobName))
				assert.Equal(t, map[string]string{
					"--execution_name":   testExecution,
					"--input_uri":        "s3://mlops-raw-dev-123456789012/raw/churn-2026-11.csv",
					"--input_version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
					"--output_prefix":    prefix,
				}, in.Arguments)
				assert.Len(t, tt.glue.listCalls, len(tt.glue.pages)+boolInt(len(tt.glue.pages) == 0), "every page is read before starting")
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestStatus(t *testing.T) {
	got := func(state gluetypes.JobRunState, msg, execution string) func(context.Context) (*glue.GetJobRunOutput, error) {
		return func(context.Context) (*glue.GetJobRunOutput, error) {
			return &glue.GetJobRunOutput{JobRun: &gluetypes.JobRun{Id: aws.String(testRunID), JobRunState: state,
				ErrorMessage: aws.String(msg), Arguments: map[string]string{ArgExecutionName: execution}}}, nil
		}
	}
	tests := []struct {
		name    string
		get     func(context.Context) (*glue.GetJobRunOutput, error)
		mutate  func(*pipeline.PrepareRequest)
		want    pipeline.Status
		wantErr string
		wantMsg string
	}{
		{name: "starting", get: got(gluetypes.JobRunStateStarting, "", testExecution), want: pipeline.Status{State: pipeline.StateRunning, Detail: "STARTING"}},
		{name: "running", get: got(gluetypes.JobRunStateRunning, "", testExecution), want: pipeline.Status{State: pipeline.StateRunning, Detail: "RUNNING"}},
		{name: "stopping", get: got(gluetypes.JobRunStateStopping, "", testExecution), want: pipeline.Status{State: pipeline.StateRunning, Detail: "STOPPING"}},
		{name: "waiting", get: got(gluetypes.JobRunStateWaiting, "", testExecution), want: pipeline.Status{State: pipeline.StateRunning, Detail: "WAITING"}},
		{name: "succeeded", get: got(gluetypes.JobRunStateSucceeded, "", testExecution), want: pipeline.Status{State: pipeline.StateSucceeded, Detail: "SUCCEEDED"}},
		{name: "failed with the job's message", get: got(gluetypes.JobRunStateFailed, "schema check: 40% of rows rejected", testExecution),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "FAILED", Reason: "schema check: 40% of rows rejected"}},
		{name: "timeout", get: got(gluetypes.JobRunStateTimeout, "Job run timed out", testExecution),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "TIMEOUT", Reason: "Job run timed out"}},
		{name: "stopped without message", get: got(gluetypes.JobRunStateStopped, "", testExecution),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "STOPPED", Reason: "glue job run ended in state STOPPED"}},
		{name: "error", get: got(gluetypes.JobRunStateError, "internal", testExecution),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "ERROR", Reason: "internal"}},
		{name: "unknown state fails clearly", get: got("PAUSED", "", testExecution),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "PAUSED", Reason: `unrecognised glue job run state "PAUSED"`}},
		{name: "run of another execution is permanent", get: got(gluetypes.JobRunStateSucceeded, "", "other-execution"),
			wantErr: faults.PermanentErrorName, wantMsg: `belongs to execution "other-execution"`},
		{name: "missing job run id is permanent", mutate: func(r *pipeline.PrepareRequest) { r.JobRunID = "" },
			wantErr: faults.PermanentErrorName, wantMsg: "jobRunId is empty"},
		{name: "missing execution name is permanent", mutate: func(r *pipeline.PrepareRequest) { r.ExecutionName = "" },
			wantErr: faults.PermanentErrorName, wantMsg: "executionName"},
		{name: "run not found is permanent", get: func(context.Context) (*glue.GetJobRunOutput, error) {
			return nil, &gluetypes.EntityNotFoundException{Message: aws.String("run not found")}
		}, wantErr: faults.PermanentErrorName, wantMsg: "run not found"},
		{name: "throttled is transient", get: func(context.Context) (*glue.GetJobRunOutput, error) {
			return nil, apiErr("ThrottlingException")
		}, wantErr: faults.TransientErrorName, wantMsg: "get glue job run"},
		{name: "internal service error is transient", get: func(context.Context) (*glue.GetJobRunOutput, error) {
			return nil, &gluetypes.InternalServiceException{Message: aws.String("oops")}
		}, wantErr: faults.TransientErrorName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGlue{get: tt.get}
			h, _, emf := newHandler(t, f)
			req := loadRequest(t, "prepare-status.json")
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			out, err := h.Handle(context.Background(), req)
			if tt.wantErr != "" {
				require.Error(t, err)
				name, msg := taskError(t, err)
				assert.Equal(t, tt.wantErr, name)
				assert.Contains(t, msg, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)
			var wantOutcomes []string
			if tt.want.State != pipeline.StateRunning {
				wantOutcomes = []string{strings.ToLower(string(tt.want.State))}
			}
			assert.Equal(t, wantOutcomes, outcomes(t, emf))
			require.Len(t, f.gets, 1)
			assert.Equal(t, testJob, aws.ToString(f.gets[0].JobName))
			assert.Equal(t, testRunID, aws.ToString(f.gets[0].RunId))
			assert.Empty(t, f.starts)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	r := config.New(config.MapLookup(map[string]string{"GLUE_JOB_NAME": testJob, "ARTIFACTS_BUCKET": testArtifacts}))
	assert.Equal(t, Config{GlueJobName: testJob, ArtifactsBucket: testArtifacts}, LoadConfig(r))
	require.NoError(t, r.Err())

	r = config.New(config.MapLookup(nil))
	LoadConfig(r)
	assert.ErrorContains(t, r.Err(), "GLUE_JOB_NAME: required")
	assert.ErrorContains(t, r.Err(), "ARTIFACTS_BUCKET: required")
}

// TestLambdaWire runs the handler through aws-lambda-go's own adapter with
// the fixture's bytes, as the Lambda runtime does: the JSON the state machine
// gets back, and the error name its Retry/Catch match on.
func TestLambdaWire(t *testing.T) {
	f := &fakeGlue{get: func(context.Context) (*glue.GetJobRunOutput, error) {
		return &glue.GetJobRunOutput{JobRun: &gluetypes.JobRun{JobRunState: gluetypes.JobRunStateFailed, ErrorMessage: aws.String("bad rows")}}, nil
	}}
	h, _, _ := newHandler(t, f)
	payload, err := os.ReadFile(filepath.Join("..", "..", "events", "prepare-status.json"))
	require.NoError(t, err)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":"FAILED","detail":"FAILED","reason":"bad rows"}`, string(out))

	_, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(`{"action":"start","executionName":""}`))
	var ie messages.InvokeResponse_Error
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, faults.PermanentErrorName, ie.Type)
}
