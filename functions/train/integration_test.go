package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationTrainingJob runs the real SageMaker and S3 clients against
// moto_server. moto accepts CreateTrainingJob, completes the job at once and
// reports a single "train:progress" final metric; it does not refuse a
// second job with the same name (AWS answers ResourceInUse: that path is
// covered with the fake in TestStart).
func TestIntegrationTrainingJob(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	sm := sagemaker.NewFromConfig(srv.Config())
	s3c := s3.NewFromConfig(srv.Config())
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testArtifacts)})
	require.NoError(t, err)

	h, _, _ := newHandler(nil, nil)
	h.Creator, h.Describer, h.Registry = sm, sm, s3c

	started, err := h.Handle(ctx, loadRequest(t, "train-start.json"))
	require.NoError(t, err)
	assert.Equal(t, pipeline.TrainResult{TrainingJobName: testJob}, started)

	job, err := sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(testJob)})
	require.NoError(t, err)
	assert.Equal(t, testImage, aws.ToString(job.AlgorithmSpecification.TrainingImage))
	assert.Equal(t, testKey, aws.ToString(job.ResourceConfig.VolumeKmsKeyId))
	assert.True(t, aws.ToBool(job.EnableNetworkIsolation))
	require.Len(t, job.InputDataConfig, 2)
	assert.Equal(t, "validation", aws.ToString(job.InputDataConfig[1].ChannelName))

	status := loadRequest(t, "train-status.json")
	wantModel := "s3://" + testArtifacts + "/models/" + testExecution + "/" + testJob + "/output/model.tar.gz"

	// moto reports no validation:error: the gate cannot judge the model.
	out, err := h.Handle(ctx, status)
	require.NoError(t, err)
	st := out.(pipeline.TrainStatus)
	assert.Equal(t, pipeline.StateFailed, st.State)
	assert.Contains(t, st.Reason, `reported no "validation:error" metric`)

	// On the metric moto does report, the job succeeded; no live model yet
	// (moto's S3 answers NoSuchKey).
	h.Config.ObjectiveMetric = "train:progress"
	out, err = h.Handle(ctx, status)
	require.NoError(t, err)
	st = out.(pipeline.TrainStatus)
	assert.Equal(t, pipeline.StateSucceeded, st.State)
	assert.Equal(t, wantModel, st.ModelDataURL)
	assert.Equal(t, &pipeline.MetricValue{Name: "train:progress", Value: 100}, st.Metric)
	assert.Nil(t, st.LiveMetric)

	// Once a model is live, its metric is reported next to the new one.
	record := `{"endpointName":"churn-dev","endpointConfigName":"c","modelName":"m","executionName":"x","trainingJobName":"t",` +
		`"dataset":{"bucket":"b","key":"raw/a.csv","size":1,"lastModified":"2026-10-01T00:00:00Z"},"metric":{"name":"train:progress","value":99.5},` +
		`"baselineUri":"s3://b/baseline.json","deployedAt":"2026-10-01T01:00:00Z"}`
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testArtifacts), Key: aws.String(pipeline.RegistryKey(testEndpoint)), Body: strings.NewReader(record)})
	require.NoError(t, err)
	out, err = h.Handle(ctx, status)
	require.NoError(t, err)
	assert.Equal(t, &pipeline.MetricValue{Name: "train:progress", Value: 99.5}, out.(pipeline.TrainStatus).LiveMetric)

	// A job that does not exist is a permanent error.
	status.TrainingJobName = "train-does-not-exist"
	_, err = h.Handle(ctx, status)
	name, msg := taskError(t, err)
	assert.Equal(t, faults.PermanentErrorName, name)
	assert.Contains(t, msg, "train-does-not-exist")
}
