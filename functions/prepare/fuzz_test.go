package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/pipeline"
)

// FuzzPrepareRequest feeds arbitrary Step Functions task inputs to the
// handler, decoded as the Lambda runtime decodes them, against a Glue that
// always works. No input may panic; an input the handler reports as done
// must really have been acted on (a start started the job run of that
// execution, a status read that run); any other input must fail as a
// PermanentError, so the state machine never retries bad input forever.
func FuzzPrepareRequest(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "..", "events", "prepare-*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, seeds)
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"action":"status","executionName":"e","jobRunId":"jr_1"}`))
	f.Add([]byte(`{"action":"start","executionName":"","dataset":{}}`))
	f.Add([]byte(`null`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var req pipeline.PrepareRequest
		if json.Unmarshal(data, &req) != nil {
			return // the runtime answers Runtime.UnmarshalError; the handler never runs
		}
		fake := &fakeGlue{
			get: func(context.Context) (*glue.GetJobRunOutput, error) {
				return &glue.GetJobRunOutput{JobRun: &gluetypes.JobRun{Id: aws.String(req.JobRunID), JobRunState: gluetypes.JobRunStateRunning,
					Arguments: map[string]string{ArgExecutionName: req.ExecutionName}}}, nil
			},
		}
		h, _, _ := newHandler(t, fake)
		out, err := h.Handle(context.Background(), req)
		if err != nil {
			name, _ := taskError(t, err)
			require.Equal(t, "PermanentError", name, "with Glue working, only the input can be wrong: %v", err)
			require.Empty(t, fake.starts, "a rejected request started nothing")
			return
		}
		switch req.Action {
		case pipeline.ActionStart:
			require.Len(t, fake.starts, 1, "a successful start started exactly one run")
			require.Equal(t, req.ExecutionName, fake.starts[0].Arguments[ArgExecutionName])
			require.Equal(t, "jr_new", out.(pipeline.PrepareResult).JobRunID)
		case pipeline.ActionStatus:
			require.Len(t, fake.gets, 1, "a successful status read the run")
			require.Equal(t, req.JobRunID, aws.ToString(fake.gets[0].RunId))
		default:
			t.Fatalf("action %q reported success", req.Action)
		}
	})
}
