package sfnemu

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Lambda emulator is wired into the interpreter as is: this fails to
// compile if its Go API drifts from the consumer interface.
var _ asl.LambdaInvoker = (*lambdaemu.Service)(nil)

var _ asl.ExecutionStarter = (*Service)(nil)

// lambdaFunc adapts a function to asl.LambdaInvoker.
type lambdaFunc func(ctx context.Context, fn string, payload []byte) ([]byte, error)

func (f lambdaFunc) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	return f(ctx, fn, payload)
}

// TestLambdaEmulatorErrorsMapLikeAWS runs the lambdaemu error types through
// a state machine: a function error is named by its errorType, a throttle
// by Lambda.<Code>.
func TestLambdaEmulatorErrorsMapLikeAWS(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"function error", &lambdaemu.FunctionError{Type: "TransientError", Message: "SageMaker throttled"}, "TransientError"},
		{"throttle", &lambdaemu.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}, "Lambda.TooManyRequestsException"},
		{"unknown function", &lambdaemu.APIError{Status: 404, Code: "ResourceNotFoundException", Message: "Function not found"}, "Lambda.ResourceNotFoundException"},
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},"Caught":{"Type":"Pass","End":true}}}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lam := lambdaFunc(func(context.Context, string, []byte) ([]byte, error) { return nil, tt.err })
			svc, _ := newService(t, Options{Lambda: lam})
			smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "m", Definition: def, RoleARN: role})
			require.NoError(t, err)
			arn, _, err := svc.StartExecution(context.Background(), smARN, "x", `{}`)
			require.NoError(t, err)
			oc := await(t, svc, arn)
			require.Equal(t, "SUCCEEDED", oc.Status)
			var out struct{ Error, Cause string }
			require.NoError(t, json.Unmarshal([]byte(oc.Output), &out))
			assert.Equal(t, tt.want, out.Error)
			assert.NotEmpty(t, out.Cause)
		})
	}
}
