package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/pipeline"
)

// FuzzTrainRequest feeds arbitrary Step Functions task inputs to the
// handler, decoded as the Lambda runtime decodes them, against a SageMaker
// that always works. No input may panic; a reported success must be real
// (a start created the execution's training job, a status described the
// job it names); any other input fails as a PermanentError.
func FuzzTrainRequest(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "..", "events", "train-*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, seeds)
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"action":"start","executionName":"e","prepared":{"train":"s3://b/","validation":"s3:/b"}}`))
	f.Add([]byte(`{"action":"status","executionName":"e"}`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var req pipeline.TrainRequest
		if json.Unmarshal(data, &req) != nil {
			return // the runtime answers Runtime.UnmarshalError; the handler never runs
		}
		sm := &fakeSageMaker{}
		h, _, _ := newHandler(sm, nil)
		out, err := h.Handle(context.Background(), req)
		if err != nil {
			name, _ := taskError(t, err)
			require.Equal(t, "PermanentError", name, "with SageMaker working, only the input can be wrong: %v", err)
			require.Empty(t, sm.creates, "a rejected request created nothing")
			return
		}
		switch req.Action {
		case pipeline.ActionStart:
			require.Len(t, sm.creates, 1, "a successful start created exactly one training job")
			require.Equal(t, aws.ToString(sm.creates[0].TrainingJobName), out.(pipeline.TrainResult).TrainingJobName)
		case pipeline.ActionStatus:
			require.NotEmpty(t, sm.describes, "a successful status described the job")
			require.Equal(t, req.TrainingJobName, aws.ToString(sm.describes[0].TrainingJobName))
		default:
			t.Fatalf("action %q reported success", req.Action)
		}
	})
}
