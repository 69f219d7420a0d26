package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationGlueJobRun runs the real Glue client against moto_server:
// start, a retried start that must find the first run instead of starting a
// second, and status polling until the run (which moto completes without
// running anything) succeeds.
func TestIntegrationGlueJobRun(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	client := glue.NewFromConfig(srv.Config())
	_, err := client.CreateJob(ctx, &glue.CreateJobInput{
		Name:              aws.String(testJob),
		Role:              aws.String("arn:aws:iam::123456789012:role/mlops-test-glue"),
		Command:           &gluetypes.JobCommand{Name: aws.String("pythonshell"), PythonVersion: aws.String("3.9"), ScriptLocation: aws.String("s3://" + testArtifacts + "/scripts/prepare.py")},
		DefaultArguments:  map[string]string{"--schema": `{"label":"churned"}`},
		ExecutionProperty: &gluetypes.ExecutionProperty{MaxConcurrentRuns: 3},
	})
	require.NoError(t, err)

	h, _, _ := newHandler(t, &fakeGlue{})
	h.Starter, h.Getter, h.Runs = client, client, client

	req := loadRequest(t, "prepare-start.json")
	first, err := h.Handle(ctx, req)
	require.NoError(t, err)
	started := first.(pipeline.PrepareResult)
	require.NotEmpty(t, started.JobRunID)

	// A second run of another execution, so the lookup has to pick.
	other := req
	other.ExecutionName = "ingest-other-0123456789abcdef"
	otherOut, err := h.Handle(ctx, other)
	require.NoError(t, err)
	assert.NotEqual(t, started.JobRunID, otherOut.(pipeline.PrepareResult).JobRunID)

	// Step Functions retries the start Task: nothing new may start.
	again, err := h.Handle(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, started.JobRunID, again.(pipeline.PrepareResult).JobRunID)
	runs, err := client.GetJobRuns(ctx, &glue.GetJobRunsInput{JobName: aws.String(testJob)})
	require.NoError(t, err)
	assert.Len(t, runs.JobRuns, 2)

	// The run got the contract's arguments plus the job's default --schema.
	run, err := client.GetJobRun(ctx, &glue.GetJobRunInput{JobName: aws.String(testJob), RunId: aws.String(started.JobRunID)})
	require.NoError(t, err)
	assert.Equal(t, req.ExecutionName, run.JobRun.Arguments[ArgExecutionName])
	assert.Equal(t, "s3://mlops-raw-dev-123456789012/raw/churn-2026-11.csv", run.JobRun.Arguments[ArgInputURI])
	assert.Equal(t, started.Outputs.Prefix, run.JobRun.Arguments[ArgOutputPrefix])
	assert.Equal(t, `{"label":"churned"}`, run.JobRun.Arguments["--schema"])

	status := req
	status.Action, status.JobRunID = pipeline.ActionStatus, started.JobRunID
	var last pipeline.Status
	for i := 0; i < 10 && last.State != pipeline.StateSucceeded; i++ {
		out, err := h.Handle(ctx, status)
		require.NoError(t, err)
		last = out.(pipeline.Status)
		require.NotEqual(t, pipeline.StateFailed, last.State, "detail %s", last.Detail)
	}
	assert.Equal(t, pipeline.Status{State: pipeline.StateSucceeded, Detail: "SUCCEEDED"}, last)

	// A run id the job does not have is a permanent error.
	status.JobRunID = "jr_does_not_exist"
	_, err = h.Handle(ctx, status)
	name, _ := taskError(t, err)
	assert.Equal(t, faults.PermanentErrorName, name)
}

// TestIntegrationConcurrentRunsExceeded checks Glue's concurrency cap is
// reported as a TransientError, so the state machine retries later.
func TestIntegrationConcurrentRunsExceeded(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	client := glue.NewFromConfig(srv.Config())
	_, err := client.CreateJob(ctx, &glue.CreateJobInput{
		Name:              aws.String(testJob),
		Role:              aws.String("arn:aws:iam::123456789012:role/mlops-test-glue"),
		Command:           &gluetypes.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://" + testArtifacts + "/scripts/prepare.py")},
		ExecutionProperty: &gluetypes.ExecutionProperty{MaxConcurrentRuns: 1},
	})
	require.NoError(t, err)
	// moto advances a run's state each time it is read; keep runs RUNNING
	// so the first one still counts against the cap.
	body := `{"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1000}}`
	resp, err := http.Post(srv.URL+"/moto-api/state-manager/set-transition", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	h, _, _ := newHandler(t, &fakeGlue{})
	h.Starter, h.Getter, h.Runs = client, client, client

	req := loadRequest(t, "prepare-start.json")
	_, err = h.Handle(ctx, req)
	require.NoError(t, err)
	other := req
	other.ExecutionName = "ingest-other-0123456789abcdef"
	_, err = h.Handle(ctx, other)
	require.Error(t, err)
	name, msg := taskError(t, err)
	assert.Equal(t, faults.TransientErrorName, name)
	assert.Contains(t, msg, "ConcurrentRunsExceeded")
}
