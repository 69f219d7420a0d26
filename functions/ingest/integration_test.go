package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationStartsOneExecutionPerObject runs the real Step Functions
// client against moto_server: the first delivery starts an execution, a
// redelivery (same name, same input, execution still running) starts nothing
// new, and a redelivery after the execution ended gets ExecutionAlreadyExists
// and is counted as a duplicate.
func TestIntegrationStartsOneExecutionPerObject(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	client := sfn.NewFromConfig(srv.Config())
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String("mlops-test-pipeline"),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/mlops-test-states"),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}`),
	})
	require.NoError(t, err)

	env := newTestHandler(t, nil)
	env.h.SFN = client
	env.h.Config.StateMachineARN = aws.ToString(sm.StateMachineArn)
	now := time.Now()
	env.h.Now = func() time.Time { return now }
	raw := loadEvent(t, "ingest-object-created.json")
	in0, err := Decode(raw, testRules)
	require.NoError(t, err)

	listExecutions := func() (names, arns []string) {
		t.Helper()
		out, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
		require.NoError(t, err)
		for _, e := range out.Executions {
			names = append(names, aws.ToString(e.Name))
			arns = append(arns, aws.ToString(e.ExecutionArn))
		}
		return names, arns
	}

	require.NoError(t, env.h.Handle(ctx, raw))
	names, arns := listExecutions()
	require.Len(t, names, 1)
	assert.Equal(t, naming.Execution("ingest", in0.Identity()), names[0])
	desc, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arns[0])})
	require.NoError(t, err)
	var in pipeline.Input
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(desc.Input)), &in))
	assert.Equal(t, "raw/churn-2026-11.csv", in.Dataset.Key)
	assert.Equal(t, pipeline.TriggerUpload, in.Trigger)

	// EventBridge redelivers an hour later while the execution still runs:
	// Step Functions returns the running execution, nothing new starts.
	now = now.Add(time.Hour)
	require.NoError(t, env.h.Handle(ctx, raw))
	again, _ := listExecutions()
	assert.Equal(t, names, again)

	// Once the execution has ended, a redelivery gets ExecutionAlreadyExists.
	_, err = client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: desc.ExecutionArn})
	require.NoError(t, err)
	require.NoError(t, env.h.Handle(ctx, raw))
	again, _ = listExecutions()
	assert.Equal(t, names, again)

	assert.Equal(t, []string{MetricStarted, MetricDuplicate, MetricDuplicate}, emitted(t, env.metrics))
}
