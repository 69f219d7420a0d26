package main

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationFirstDeployment runs the real SageMaker and S3 clients
// against moto_server: model, endpoint configuration and endpoint creation,
// a retried start, status and the registry record. moto puts an endpoint
// InService at once and does not implement UpdateEndpoint, so the blue/green
// update, its in-progress refusal and the rollback are covered with the fake
// in TestStart and TestStatus.
func TestIntegrationFirstDeployment(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	sm := sagemaker.NewFromConfig(srv.Config())
	s3c := s3.NewFromConfig(srv.Config())
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testArtifacts)})
	require.NoError(t, err)

	h, _, _ := newHandler(nil, nil)
	h.Models, h.Configs, h.Describer, h.Creator, h.Updater = sm, sm, sm, sm, sm
	h.Writer, h.Reader = s3c, s3c
	want := pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, Mode: ModeCreate}

	start := loadRequest(t, "deploy-start.json")
	out, err := h.Handle(ctx, start)
	require.NoError(t, err)
	assert.Equal(t, want, out)

	model, err := sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(testModel)})
	require.NoError(t, err)
	assert.Equal(t, testModelData, aws.ToString(model.PrimaryContainer.ModelDataUrl))
	assert.Equal(t, testImage, aws.ToString(model.PrimaryContainer.Image))
	assert.Equal(t, testRole, aws.ToString(model.ExecutionRoleArn))
	// (moto does not echo EnableNetworkIsolation; TestStart checks it.)
	cfg, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String(testConfigN)})
	require.NoError(t, err)
	assert.Equal(t, testKey, aws.ToString(cfg.KmsKeyId))
	require.NotNil(t, cfg.DataCaptureConfig)
	assert.Equal(t, "s3://"+testArtifacts+"/capture", aws.ToString(cfg.DataCaptureConfig.DestinationS3Uri))
	assert.Len(t, cfg.DataCaptureConfig.CaptureOptions, 2)

	// Step Functions retries the start Task: the endpoint already serves
	// this configuration, nothing else is created.
	out, err = h.Handle(ctx, start)
	require.NoError(t, err)
	assert.Equal(t, want, out)
	eps, err := sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{})
	require.NoError(t, err)
	assert.Len(t, eps.Endpoints, 1)

	status := loadRequest(t, "deploy-status.json")
	d := want
	status.Deployment = &d
	out, err = h.Handle(ctx, status)
	require.NoError(t, err)
	assert.Equal(t, pipeline.Status{State: pipeline.StateSucceeded, Detail: string(smtypes.EndpointStatusInService)}, out)

	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testArtifacts), Key: aws.String(pipeline.RegistryKey(testEndpoint))})
	require.NoError(t, err)
	body, err := io.ReadAll(obj.Body)
	require.NoError(t, err)
	require.NoError(t, obj.Body.Close())
	var live pipeline.LiveModel
	require.NoError(t, json.Unmarshal(body, &live))
	assert.Equal(t, testConfigN, live.EndpointConfigName)
	assert.Equal(t, testExecution, live.ExecutionName)
	assert.Equal(t, testNow, live.DeployedAt)
	assert.Equal(t, status.BaselineURI, live.BaselineURI)
	assert.Equal(t, &pipeline.MetricValue{Name: "validation:error", Value: 0.082}, live.Metric)

	// A status for a configuration the endpoint does not serve: rolled back.
	other := d
	other.EndpointConfigName = "config-not-live"
	status.Deployment = &other
	out, err = h.Handle(ctx, status)
	require.NoError(t, err)
	assert.Equal(t, pipeline.StateFailed, out.(pipeline.Status).State)
	assert.Contains(t, out.(pipeline.Status).Reason, "deployment rolled back")
}
