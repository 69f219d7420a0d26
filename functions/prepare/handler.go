// Package main is the prepare Lambda: the pipeline's Task that starts the
// Glue job which validates, splits and profiles a dataset, and reports the
// job run's progress to the state machine's Wait/poll loop.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
)

// StartJobRunAPI is the Glue operation that starts a run.
type StartJobRunAPI interface {
	StartJobRun(ctx context.Context, params *glue.StartJobRunInput, optFns ...func(*glue.Options)) (*glue.StartJobRunOutput, error)
}

// GetJobRunAPI is the Glue operation that reads one run.
type GetJobRunAPI interface {
	GetJobRun(ctx context.Context, params *glue.GetJobRunInput, optFns ...func(*glue.Options)) (*glue.GetJobRunOutput, error)
}

// Arguments of the Glue job (the contract with scripts/prepare.py).
const (
	ArgExecutionName  = "--execution_name"
	ArgInputURI       = "--input_uri"
	ArgInputVersionID = "--input_version_id"
	ArgOutputPrefix   = "--output_prefix"
)

// Config is prepare's configuration.
type Config struct {
	GlueJobName     string
	ArtifactsBucket string
}

// LoadConfig reads Config; problems are collected in r.
func LoadConfig(r *config.Reader) Config {
	return Config{GlueJobName: r.String("GLUE_JOB_NAME"), ArtifactsBucket: r.String("ARTIFACTS_BUCKET")}
}

// Handler starts and reports on Glue job runs.
type Handler struct {
	Starter StartJobRunAPI
	Getter  GetJobRunAPI
	// Runs lists the job's runs, to find one a retried start already made.
	Runs    glue.GetJobRunsAPIClient
	Config  Config
	Log     *slog.Logger
	Metrics *metrics.Emitter
}

// MetricRuns counts job runs that ended, by Outcome (succeeded, failed).
const MetricRuns = "PrepareRuns"

// Handle runs one request from the state machine. Failures are returned as
// faults.ForTask errors, named TransientError or PermanentError.
func (h *Handler) Handle(ctx context.Context, req pipeline.PrepareRequest) (any, error) {
	var (
		out any
		err error
	)
	switch req.Action {
	case pipeline.ActionStart:
		out, err = h.Start(ctx, req)
	case pipeline.ActionStatus:
		out, err = h.Status(ctx, req)
	default:
		err = faults.Invalidf("prepare: unknown action %q (want %q or %q)", req.Action, pipeline.ActionStart, pipeline.ActionStatus)
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "prepare failed", "action", req.Action, "execution", req.ExecutionName,
			"kind", faults.KindOf(err).String(), "error", err)
		return nil, faults.ForTask(err)
	}
	return out, nil
}

// Outputs returns where the Glue job writes an execution's prepared data.
func (h *Handler) Outputs(executionName string) pipeline.PreparedData {
	prefix := "s3://" + h.Config.ArtifactsBucket + "/prepared/" + executionName + "/"
	return pipeline.PreparedData{
		Prefix:     prefix,
		Train:      prefix + "train/",
		Validation: prefix + "validation/",
		Baseline:   prefix + "baseline.json",
		Manifest:   prefix + "manifest.json",
		Quarantine: prefix + "quarantine/rejected.csv",
	}
}

// Start starts the Glue job for the execution, or returns the run a previous
// attempt of the same Task already started: Step Functions retries a Task
// whose Lambda timed out after Glue accepted the run, and a second run would
// write the same outputs twice.
func (h *Handler) Start(ctx context.Context, req pipeline.PrepareRequest) (pipeline.PrepareResult, error) {
	if err := validateExecution(req.ExecutionName); err != nil {
		return pipeline.PrepareResult{}, err
	}
	if err := req.Dataset.Validate(); err != nil {
		return pipeline.PrepareResult{}, faults.Invalidf("prepare %s: %v", req.ExecutionName, err)
	}
	result := pipeline.PrepareResult{JobName: h.Config.GlueJobName, Outputs: h.Outputs(req.ExecutionName)}

	existing, err := h.findRun(ctx, req.ExecutionName)
	if err != nil {
		return pipeline.PrepareResult{}, err
	}
	if existing != nil {
		h.Log.InfoContext(ctx, "glue job run already started for this execution", "execution", req.ExecutionName,
			"jobRunId", aws.ToString(existing.Id), "state", existing.JobRunState)
		result.JobRunID = aws.ToString(existing.Id)
		return result, nil
	}

	out, err := h.Starter.StartJobRun(ctx, &glue.StartJobRunInput{
		JobName: aws.String(h.Config.GlueJobName),
		Arguments: map[string]string{
			ArgExecutionName:  req.ExecutionName,
			ArgInputURI:       req.Dataset.URI(),
			ArgInputVersionID: req.Dataset.VersionID,
			ArgOutputPrefix:   result.Outputs.Prefix,
		},
	})
	if err != nil {
		// ConcurrentRunsExceededException is classified Throttled, so the
		// state machine retries it as a TransientError.
		return pipeline.PrepareResult{}, fmt.Errorf("start glue job %q for %s: %w", h.Config.GlueJobName, req.ExecutionName, err)
	}
	result.JobRunID = aws.ToString(out.JobRunId)
	h.Log.InfoContext(ctx, "glue job run started", "execution", req.ExecutionName, "jobRunId", result.JobRunID, "input", req.Dataset.URI())
	return result, nil
}

// findRun returns the newest run of the job started for executionName, or nil.
func (h *Handler) findRun(ctx context.Context, executionName string) (*gluetypes.JobRun, error) {
	// Glue keeps runs for 90 days; the largest pages keep the lookup to a
	// few calls. Runs come newest first.
	p := glue.NewGetJobRunsPaginator(h.Runs, &glue.GetJobRunsInput{JobName: aws.String(h.Config.GlueJobName), MaxResults: aws.Int32(200)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list runs of glue job %q: %w", h.Config.GlueJobName, err)
		}
		for i := range page.JobRuns {
			if page.JobRuns[i].Arguments[ArgExecutionName] == executionName {
				return &page.JobRuns[i], nil
			}
		}
	}
	return nil, nil
}

// Status reports the state of the execution's job run.
func (h *Handler) Status(ctx context.Context, req pipeline.PrepareRequest) (pipeline.Status, error) {
	if err := validateExecution(req.ExecutionName); err != nil {
		return pipeline.Status{}, err
	}
	if req.JobRunID == "" {
		return pipeline.Status{}, faults.Invalidf("prepare status for %s: jobRunId is empty", req.ExecutionName)
	}
	out, err := h.Getter.GetJobRun(ctx, &glue.GetJobRunInput{JobName: aws.String(h.Config.GlueJobName), RunId: aws.String(req.JobRunID)})
	if err != nil {
		return pipeline.Status{}, fmt.Errorf("get glue job run %q of %q: %w", req.JobRunID, h.Config.GlueJobName, err)
	}
	run := out.JobRun
	if run == nil {
		return pipeline.Status{}, errors.New("get glue job run: response has no JobRun")
	}
	if got := run.Arguments[ArgExecutionName]; got != "" && got != req.ExecutionName {
		return pipeline.Status{}, faults.Invalidf("glue job run %q belongs to execution %q, not %q", req.JobRunID, got, req.ExecutionName)
	}
	st := statusOf(run)
	if st.State != pipeline.StateRunning {
		h.emitOutcome(ctx, st)
	}
	return st, nil
}

// emitOutcome counts a finished run; a metric that cannot be written is
// logged, never allowed to fail the Task.
func (h *Handler) emitOutcome(ctx context.Context, st pipeline.Status) {
	dims := []metrics.Dimension{{Name: "Function", Value: "prepare"}, {Name: "Outcome", Value: strings.ToLower(string(st.State))}}
	if err := h.Metrics.Emit(dims, map[string]string{"detail": st.Detail}, metrics.Metric{Name: MetricRuns, Unit: metrics.Count, Value: 1}); err != nil {
		h.Log.WarnContext(ctx, "emit metric", "metric", MetricRuns, "error", err)
	}
}

// statusOf maps a Glue job run state to the pipeline's.
func statusOf(run *gluetypes.JobRun) pipeline.Status {
	s := pipeline.Status{Detail: string(run.JobRunState)}
	switch run.JobRunState {
	case gluetypes.JobRunStateStarting, gluetypes.JobRunStateRunning, gluetypes.JobRunStateStopping, gluetypes.JobRunStateWaiting:
		s.State = pipeline.StateRunning
	case gluetypes.JobRunStateSucceeded:
		s.State = pipeline.StateSucceeded
	case gluetypes.JobRunStateFailed, gluetypes.JobRunStateTimeout, gluetypes.JobRunStateStopped,
		gluetypes.JobRunStateError, gluetypes.JobRunStateExpired:
		s.State = pipeline.StateFailed
		s.Reason = aws.ToString(run.ErrorMessage)
		if s.Reason == "" {
			s.Reason = "glue job run ended in state " + string(run.JobRunState)
		}
	default:
		// A state this code does not know: failing clearly beats polling
		// until the state machine's timeout.
		s.State = pipeline.StateFailed
		s.Reason = fmt.Sprintf("unrecognised glue job run state %q", run.JobRunState)
	}
	return s
}

func validateExecution(name string) error {
	if name == "" || len(name) > naming.MaxExecutionName {
		return faults.Invalidf("executionName %q must have 1 to %d characters", name, naming.MaxExecutionName)
	}
	return nil
}
