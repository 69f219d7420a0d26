package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/guardrails"
	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

const (
	testArtifacts = "mlops-artifacts-dev-123456789012"
	testExecution = "ingest-churn-2026-11-0cc989d34eebadc8"
	testJob       = "train-ingest-churn-2026-11-0cc989d34eebadc8-16499af1a854f52c"
	testRole      = "arn:aws:iam::123456789012:role/mlops-dev-sagemaker"
	testKey       = "arn:aws:kms:us-east-1:123456789012:key/0d6f3b0e-1111-2222-3333-444455556666"
	testImage     = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
	testEndpoint  = "churn-dev"
)

func testConfig() Config {
	return Config{
		ArtifactsBucket: testArtifacts, RoleARN: testRole, KMSKeyARN: testKey, EndpointName: testEndpoint,
		TrainingImage: testImage, InstanceType: "ml.m5.large", InstanceCount: 1, VolumeGB: 10, MaxRuntime: 3600,
		MaxWait: 7200, Hyperparameters: DefaultHyperparameters, ObjectiveMetric: "validation:error",
	}
}

func loadRequest(t testing.TB, name string) pipeline.TrainRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	var req pipeline.TrainRequest
	require.NoError(t, json.Unmarshal(b, &req))
	return req
}

// fakeSageMaker is a hand-written SageMaker client recording every call.
type fakeSageMaker struct {
	creates   []*sagemaker.CreateTrainingJobInput
	describes []*sagemaker.DescribeTrainingJobInput
	create    func(ctx context.Context) error
	describe  func(ctx context.Context) (*sagemaker.DescribeTrainingJobOutput, error)
}

func (f *fakeSageMaker) CreateTrainingJob(ctx context.Context, in *sagemaker.CreateTrainingJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateTrainingJobOutput, error) {
	f.creates = append(f.creates, in)
	if f.create != nil {
		if err := f.create(ctx); err != nil {
			return nil, err
		}
	}
	return &sagemaker.CreateTrainingJobOutput{TrainingJobArn: aws.String("arn:aws:sagemaker:us-east-1:123456789012:training-job/" + aws.ToString(in.TrainingJobName))}, nil
}

func (f *fakeSageMaker) DescribeTrainingJob(ctx context.Context, in *sagemaker.DescribeTrainingJobInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeTrainingJobOutput, error) {
	f.describes = append(f.describes, in)
	if f.describe == nil {
		return &sagemaker.DescribeTrainingJobOutput{TrainingJobName: in.TrainingJobName, TrainingJobStatus: smtypes.TrainingJobStatusInProgress}, nil
	}
	return f.describe(ctx)
}

// fakeS3 serves the registry record.
type fakeS3 struct {
	gets []*s3.GetObjectInput
	body string
	err  error
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.gets = append(f.gets, in)
	if f.err != nil {
		return nil, f.err
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(f.body))}, nil
}

func newHandler(sm *fakeSageMaker, reg *fakeS3) (h *Handler, logs, emf *bytes.Buffer) {
	logs, emf = &bytes.Buffer{}, &bytes.Buffer{}
	if reg == nil {
		reg = &fakeS3{err: &s3types.NoSuchKey{}}
	}
	return &Handler{Creator: sm, Describer: sm, Registry: reg, Config: testConfig(), Log: logging.New(logs, "DEBUG"),
		Metrics: metrics.New(emf, "MLOps/test", time.Now)}, logs, emf
}

// emitted returns "Metric/Outcome=value" for every EMF record written.
func emitted(t testing.TB, emf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	dec := json.NewDecoder(emf)
	for dec.More() {
		var rec map[string]any
		require.NoError(t, dec.Decode(&rec))
		meta := rec["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
		name := meta["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		dims := meta["Dimensions"].([]any)[0].([]any)
		last := dims[len(dims)-1].(string)
		out = append(out, fmt.Sprintf("%s/%s=%v/%v", name, last, rec[last], rec[name]))
	}
	return out
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func taskError(t testing.TB, err error) (name, msg string) {
	t.Helper()
	var ie messages.InvokeResponse_Error
	require.True(t, errors.As(err, &ie), "handler error %v is not a task error", err)
	return ie.Type, ie.Message
}

func TestStart(t *testing.T) {
	prefix := "s3://" + testArtifacts + "/prepared/" + testExecution + "/"
	tests := []struct {
		name         string
		event        string
		spot         bool
		create       func(ctx context.Context) error
		describe     func(ctx context.Context) (*sagemaker.DescribeTrainingJobOutput, error)
		timeout      time.Duration
		wantCreate   bool
		wantDescribe bool
		wantErr      string
		wantMsg      string
	}{
		{name: "creates the training job", event: "train-start.json", wantCreate: true},
		{name: "creates a managed spot training job", event: "train-start.json", spot: true, wantCreate: true},
		{name: "retried launch: resource in use, confirmed by describe", event: "train-start.json", wantCreate: true, wantDescribe: true,
			create: func(context.Context) error {
				return &smtypes.ResourceInUse{Message: aws.String("Training job names must be unique within an AWS account and region, and a training job with this name already exists")}
			}},
		{name: "retried launch: already exists as validation error", event: "train-start.json", wantCreate: true, wantDescribe: true,
			create: func(context.Context) error {
				return apiErr("ValidationException", "Training job "+testJob+" already exists")
			}},
		{name: "exists but describe cannot see it yet is transient", event: "train-start.json", wantCreate: true, wantDescribe: true,
			create: func(context.Context) error { return &smtypes.ResourceInUse{Message: aws.String("already exists")} },
			describe: func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
				return nil, apiErr("ValidationException", "Requested resource not found.")
			},
			wantErr: faults.TransientErrorName, wantMsg: "reported as existing"},
		{name: "throttled is transient", event: "train-start.json", wantCreate: true,
			create:  func(context.Context) error { return apiErr("ThrottlingException", "Rate exceeded") },
			wantErr: faults.TransientErrorName, wantMsg: "create training job"},
		{name: "validation error is permanent", event: "train-start.json", wantCreate: true,
			create: func(context.Context) error {
				return apiErr("ValidationException", "1 validation error detected: Value 'ml.x' at 'resourceConfig.instanceType'")
			},
			wantErr: faults.PermanentErrorName, wantMsg: "validation error detected"},
		{name: "quota exceeded is permanent", event: "train-start.json", wantCreate: true,
			create:  func(context.Context) error { return &smtypes.ResourceLimitExceeded{Message: aws.String("quota")} },
			wantErr: faults.PermanentErrorName, wantMsg: "quota"},
		{name: "timeout via context deadline is transient", event: "train-start.json", wantCreate: true, timeout: time.Millisecond,
			create: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			wantErr: faults.TransientErrorName, wantMsg: "deadline exceeded"},
		{name: "missing prepared data is permanent and calls nothing", event: "train-start-missing-prepared.json",
			wantErr: faults.PermanentErrorName, wantMsg: "prepared.train"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := &fakeSageMaker{create: tt.create, describe: tt.describe}
			h, _, _ := newHandler(sm, nil)
			h.Config.UseSpot = tt.spot
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			out, err := h.Handle(ctx, loadRequest(t, tt.event))
			assert.Equal(t, tt.wantCreate, len(sm.creates) == 1, "CreateTrainingJob called")
			assert.Equal(t, tt.wantDescribe, len(sm.describes) == 1, "DescribeTrainingJob called")
			if tt.wantErr != "" {
				require.Error(t, err)
				name, msg := taskError(t, err)
				assert.Equal(t, tt.wantErr, name)
				assert.Contains(t, msg, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, pipeline.TrainResult{TrainingJobName: testJob}, out)
			if tt.wantDescribe {
				assert.Equal(t, testJob, aws.ToString(sm.describes[0].TrainingJobName))
			}

			in := sm.creates[0]
			assert.Empty(t, guardrails.CheckCreateTrainingJob(in), "the template guardrails' training rules")
			assert.Equal(t, testJob, aws.ToString(in.TrainingJobName))
			assert.Equal(t, testImage, aws.ToString(in.AlgorithmSpecification.TrainingImage))
			assert.Equal(t, smtypes.TrainingInputModeFile, in.AlgorithmSpecification.TrainingInputMode)
			assert.Equal(t, testRole, aws.ToString(in.RoleArn))
			assert.Equal(t, map[string]string{"objective": "binary:logistic", "eval_metric": "error", "num_round": "100", "max_depth": "4"}, in.HyperParameters)
			require.Len(t, in.InputDataConfig, 2)
			for i, want := range []struct{ name, uri string }{{"train", prefix + "train/"}, {"validation", prefix + "validation/"}} {
				ch := in.InputDataConfig[i]
				assert.Equal(t, want.name, aws.ToString(ch.ChannelName))
				assert.Equal(t, "text/csv", aws.ToString(ch.ContentType))
				assert.Equal(t, want.uri, aws.ToString(ch.DataSource.S3DataSource.S3Uri))
				assert.Equal(t, smtypes.S3DataTypeS3Prefix, ch.DataSource.S3DataSource.S3DataType)
			}
			assert.Equal(t, "s3://"+testArtifacts+"/models/"+testExecution+"/", aws.ToString(in.OutputDataConfig.S3OutputPath))
			assert.Equal(t, testKey, aws.ToString(in.OutputDataConfig.KmsKeyId))
			assert.Equal(t, testKey, aws.ToString(in.ResourceConfig.VolumeKmsKeyId))
			assert.Equal(t, smtypes.TrainingInstanceTypeMlM5Large, in.ResourceConfig.InstanceType)
			assert.Equal(t, int32(1), aws.ToInt32(in.ResourceConfig.InstanceCount))
			assert.Equal(t, int32(10), aws.ToInt32(in.ResourceConfig.VolumeSizeInGB))
			assert.Equal(t, int32(3600), aws.ToInt32(in.StoppingCondition.MaxRuntimeInSeconds))
			assert.True(t, aws.ToBool(in.EnableNetworkIsolation))
			assert.True(t, aws.ToBool(in.EnableInterContainerTrafficEncryption))
			assert.Equal(t, []smtypes.Tag{{Key: aws.String("execution"), Value: aws.String(testExecution)}}, in.Tags)
			if tt.spot {
				assert.True(t, aws.ToBool(in.EnableManagedSpotTraining))
				assert.Equal(t, int32(7200), aws.ToInt32(in.StoppingCondition.MaxWaitTimeInSeconds))
				assert.Equal(t, "s3://"+testArtifacts+"/checkpoints/"+testExecution+"/", aws.ToString(in.CheckpointConfig.S3Uri))
			} else {
				assert.Nil(t, in.EnableManagedSpotTraining)
				assert.Nil(t, in.StoppingCondition.MaxWaitTimeInSeconds)
				assert.Nil(t, in.CheckpointConfig)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	modelURL := "s3://" + testArtifacts + "/models/" + testExecution + "/" + testJob + "/output/model.tar.gz"
	job := func(status smtypes.TrainingJobStatus, reason string, metrics ...smtypes.MetricData) func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
		return func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
			out := &sagemaker.DescribeTrainingJobOutput{
				TrainingJobName: aws.String(testJob), TrainingJobStatus: status, SecondaryStatus: smtypes.SecondaryStatusTraining,
				FailureReason: aws.String(reason), FinalMetricDataList: metrics,
			}
			if status == smtypes.TrainingJobStatusCompleted {
				out.SecondaryStatus = smtypes.SecondaryStatusCompleted
				out.ModelArtifacts = &smtypes.ModelArtifacts{S3ModelArtifacts: aws.String(modelURL)}
			}
			return out, nil
		}
	}
	metric := func(name string, v float32) smtypes.MetricData {
		return smtypes.MetricData{MetricName: aws.String(name), Value: aws.Float32(v)}
	}
	liveRecord := `{"endpointName":"churn-dev","endpointConfigName":"config-old","modelName":"model-old","executionName":"ingest-old","trainingJobName":"train-old",` +
		`"dataset":{"bucket":"b","key":"raw/old.csv","size":1,"lastModified":"2026-10-01T00:00:00Z"},"metric":{"name":"validation:error","value":0.1},` +
		`"baselineUri":"s3://b/baseline.json","deployedAt":"2026-10-01T01:00:00Z"}`
	completed := job(smtypes.TrainingJobStatusCompleted, "", metric("train:error", 0.05), metric("validation:error", 0.082))

	tests := []struct {
		name     string
		describe func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error)
		registry *fakeS3
		mutate   func(*pipeline.TrainRequest)
		want     pipeline.TrainStatus
		wantRead bool // registry read
		wantErr  string
		wantMsg  string
	}{
		{name: "in progress", describe: job(smtypes.TrainingJobStatusInProgress, ""),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateRunning, Detail: "InProgress/Training"}}},
		{name: "stopping", describe: job(smtypes.TrainingJobStatusStopping, ""),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateRunning, Detail: "Stopping/Training"}}},
		{name: "failed with the job's reason", describe: job(smtypes.TrainingJobStatusFailed, "AlgorithmError: label must be 0 or 1"),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateFailed, Detail: "Failed/Training", Reason: "AlgorithmError: label must be 0 or 1"}}},
		{name: "stopped", describe: job(smtypes.TrainingJobStatusStopped, ""),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateFailed, Detail: "Stopped/Training", Reason: "training job ended in status Stopped"}}},
		{name: "completed, live model on the same metric", describe: completed, registry: &fakeS3{body: liveRecord}, wantRead: true,
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed/Completed"}, ModelDataURL: modelURL,
				Metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.082}, LiveMetric: &pipeline.MetricValue{Name: "validation:error", Value: 0.1}}},
		{name: "completed, no live model yet", describe: completed, registry: &fakeS3{err: &s3types.NoSuchKey{Message: aws.String("no such key")}}, wantRead: true,
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed/Completed"}, ModelDataURL: modelURL,
				Metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.082}}},
		{name: "completed, no live model yet (generic NoSuchKey)", describe: completed, registry: &fakeS3{err: apiErr("NoSuchKey", "The specified key does not exist.")}, wantRead: true,
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed/Completed"}, ModelDataURL: modelURL,
				Metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.082}}},
		{name: "completed, live model judged on another metric", describe: completed, wantRead: true,
			registry: &fakeS3{body: strings.Replace(liveRecord, `"validation:error"`, `"validation:auc"`, 1)},
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed/Completed"}, ModelDataURL: modelURL,
				Metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.082}}},
		{name: "completed without the objective metric fails", describe: job(smtypes.TrainingJobStatusCompleted, "", metric("train:error", 0.05)),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateFailed, Detail: "Completed/Completed", Reason: `training job completed but reported no "validation:error" metric`},
				ModelDataURL: modelURL}},
		{name: "unknown status fails clearly", describe: job("Paused", ""),
			want: pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateFailed, Detail: "Paused/Training", Reason: `unrecognised training job status "Paused"`}}},
		{name: "registry throttled is transient", describe: completed, registry: &fakeS3{err: apiErr("SlowDown", "slow down")}, wantRead: true,
			wantErr: faults.TransientErrorName, wantMsg: "read registry record s3://" + testArtifacts + "/registry/churn-dev/live.json"},
		{name: "registry access denied is permanent", describe: completed, registry: &fakeS3{err: apiErr("AccessDenied", "denied")}, wantRead: true,
			wantErr: faults.PermanentErrorName, wantMsg: "denied"},
		{name: "corrupt registry record is permanent", describe: completed, registry: &fakeS3{body: "{not json"}, wantRead: true,
			wantErr: faults.PermanentErrorName, wantMsg: "is not a live-model record"},
		{name: "job not found is permanent", describe: func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
			return nil, apiErr("ValidationException", "Requested resource not found.")
		}, wantErr: faults.PermanentErrorName, wantMsg: "describe training job"},
		{name: "describe throttled is transient", describe: func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
			return nil, apiErr("ThrottlingException", "Rate exceeded")
		}, wantErr: faults.TransientErrorName, wantMsg: "Rate exceeded"},
		{name: "missing training job name is permanent", mutate: func(r *pipeline.TrainRequest) { r.TrainingJobName = "" },
			wantErr: faults.PermanentErrorName, wantMsg: "trainingJobName is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := &fakeSageMaker{describe: tt.describe}
			reg := tt.registry
			if reg == nil {
				reg = &fakeS3{err: errors.New("registry must not be read")}
			}
			h, _, emf := newHandler(sm, reg)
			req := loadRequest(t, "train-status.json")
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			out, err := h.Handle(context.Background(), req)
			assert.Equal(t, tt.wantRead, len(reg.gets) == 1, "registry read")
			if tt.wantRead {
				assert.Equal(t, testArtifacts, aws.ToString(reg.gets[0].Bucket))
				assert.Equal(t, "registry/churn-dev/live.json", aws.ToString(reg.gets[0].Key))
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				name, msg := taskError(t, err)
				assert.Equal(t, tt.wantErr, name)
				assert.Contains(t, msg, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)
			var wantMetrics []string
			if tt.want.State != pipeline.StateRunning {
				wantMetrics = append(wantMetrics, "TrainingJobs/Outcome="+strings.ToLower(string(tt.want.State))+"/1")
			}
			if tt.want.Metric != nil {
				wantMetrics = append(wantMetrics, fmt.Sprintf("ModelObjective/ObjectiveMetric=%s/%v", tt.want.Metric.Name, tt.want.Metric.Value))
			}
			assert.Equal(t, wantMetrics, emitted(t, emf))
			require.Len(t, sm.describes, 1)
			assert.Equal(t, testJob, aws.ToString(sm.describes[0].TrainingJobName))
			assert.Empty(t, sm.creates)
		})
	}
}

func TestLoadConfig(t *testing.T) {
	base := map[string]string{"ARTIFACTS_BUCKET": testArtifacts, "SAGEMAKER_ROLE_ARN": testRole, "KMS_KEY_ARN": testKey, "ENDPOINT_NAME": testEndpoint}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		region  string
		check   func(t *testing.T, c Config)
		wantErr []string
	}{
		{name: "defaults with the region's XGBoost image", env: base, region: "us-east-1", check: func(t *testing.T, c Config) {
			assert.Equal(t, testConfig(), c)
		}},
		{name: "explicit image works in any region", env: with("TRAINING_IMAGE", "123.dkr.ecr.xx-new-1.amazonaws.com/mine:1"), region: "xx-new-1",
			check: func(t *testing.T, c Config) {
				assert.Equal(t, "123.dkr.ecr.xx-new-1.amazonaws.com/mine:1", c.TrainingImage)
			}},
		{name: "hyperparameters override the defaults key by key", env: with("HYPERPARAMETERS", `{"num_round":"50","eta":"0.2"}`), region: "eu-west-1",
			check: func(t *testing.T, c Config) {
				assert.Equal(t, map[string]string{"objective": "binary:logistic", "eval_metric": "error", "num_round": "50", "max_depth": "4", "eta": "0.2"}, c.Hyperparameters)
				assert.Equal(t, "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", c.TrainingImage)
			}},
		{name: "spot", env: with("USE_SPOT_TRAINING", "true", "MAX_WAIT_SECONDS", "9000"), region: "us-east-1",
			check: func(t *testing.T, c Config) { assert.True(t, c.UseSpot); assert.Equal(t, int32(9000), c.MaxWait) }},
		{name: "unknown region without image", env: base, region: "xx-new-1", wantErr: []string{`TRAINING_IMAGE: unset and no default`, `region "xx-new-1"`}},
		{name: "everything wrong is reported at once", region: "us-east-1",
			env: map[string]string{"HYPERPARAMETERS": `{"num_round":50}`, "TRAINING_INSTANCE_COUNT": "0", "USE_SPOT_TRAINING": "true", "MAX_WAIT_SECONDS": "60"},
			wantErr: []string{"ARTIFACTS_BUCKET: required", "SAGEMAKER_ROLE_ARN: required", "KMS_KEY_ARN: required", "ENDPOINT_NAME: required",
				"TRAINING_INSTANCE_COUNT: 0 is outside", "HYPERPARAMETERS: want a JSON object of string values", "MAX_WAIT_SECONDS: 60 must be at least"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(config.New(config.MapLookup(tt.env)), tt.region)
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					assert.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

// TestLambdaWire runs the handler through aws-lambda-go's own adapter with
// the fixture's bytes, as the Lambda runtime does.
func TestLambdaWire(t *testing.T) {
	sm := &fakeSageMaker{}
	h, _, _ := newHandler(sm, nil)
	payload, err := os.ReadFile(filepath.Join("..", "..", "events", "train-start.json"))
	require.NoError(t, err)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	require.NoError(t, err)
	assert.JSONEq(t, `{"trainingJobName":"`+testJob+`"}`, string(out))

	payload, err = os.ReadFile(filepath.Join("..", "..", "events", "train-status.json"))
	require.NoError(t, err)
	out, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	require.NoError(t, err)
	assert.JSONEq(t, `{"state":"RUNNING","detail":"InProgress"}`, string(out))

	sm.describe = func(context.Context) (*sagemaker.DescribeTrainingJobOutput, error) {
		return nil, apiErr("ThrottlingException", "slow")
	}
	_, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	var ie messages.InvokeResponse_Error
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, faults.TransientErrorName, ie.Type)
}
