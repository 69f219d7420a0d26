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

// FuzzDeployRequest feeds arbitrary Step Functions task inputs to the
// handler, decoded as the Lambda runtime decodes them, against a SageMaker
// with no endpoint yet that always works. No input may panic; a reported
// success must be real (a start created the model, the configuration and
// the endpoint of that execution; a status described this function's
// endpoint); any other input fails as a PermanentError and changes
// nothing.
func FuzzDeployRequest(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("..", "..", "events", "deploy-*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, seeds)
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"action":"status","executionName":"e","deployment":{"endpointName":"other","modelName":"m","endpointConfigName":"c"}}`))
	f.Add([]byte(`{"action":"start","executionName":"e","trainingJobName":"t","modelDataUrl":"s3://"}`))
	f.Add([]byte(`"start"`))

	f.Fuzz(func(t *testing.T, data []byte) {
		var req pipeline.DeployRequest
		if json.Unmarshal(data, &req) != nil {
			return // the runtime answers Runtime.UnmarshalError; the handler never runs
		}
		sm := &fakeSageMaker{describe: notFound}
		reg := &fakeS3{}
		h, _, _ := newHandler(sm, reg)
		_, err := h.Handle(context.Background(), req)
		if err != nil {
			name, _ := taskError(t, err)
			require.Equal(t, "PermanentError", name, "with SageMaker working, only the input can be wrong: %v", err)
			require.Empty(t, sm.creates, "a rejected request created no endpoint")
			require.Empty(t, sm.updates, "a rejected request updated no endpoint")
			return
		}
		switch req.Action {
		case pipeline.ActionStart:
			require.Len(t, sm.models, 1)
			require.Len(t, sm.configs, 1)
			require.Len(t, sm.creates, 1, "a successful start created the endpoint")
			require.Equal(t, aws.ToString(sm.configs[0].EndpointConfigName), aws.ToString(sm.creates[0].EndpointConfigName))
		case pipeline.ActionStatus:
			require.NotEmpty(t, sm.describes, "a successful status described the endpoint")
			require.Equal(t, testConfig().EndpointName, aws.ToString(sm.describes[0].EndpointName))
		default:
			t.Fatalf("action %q reported success", req.Action)
		}
	})
}
