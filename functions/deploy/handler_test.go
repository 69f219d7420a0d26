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
	testEndpoint  = "churn-dev"
	testModel     = "model-ingest-churn-2026-11-0cc989d34eebadc8-d0488a00d200f373"
	testConfigN   = "config-ingest-churn-2026-11-0cc989d34eebadc8-43458a36d712ba8c"
	oldConfig     = "config-ingest-churn-2026-10-5d1f7a9e2b3c4d60-0a1b2c3d4e5f6a7b"
	testRole      = "arn:aws:iam::123456789012:role/mlops-dev-sagemaker"
	testKey       = "arn:aws:kms:us-east-1:123456789012:key/0d6f3b0e-1111-2222-3333-444455556666"
	testImage     = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
	testModelData = "s3://" + testArtifacts + "/models/" + testExecution + "/train-ingest-churn-2026-11-0cc989d34eebadc8-16499af1a854f52c/output/model.tar.gz"
)

var testNow = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

func testConfig() Config {
	return Config{
		EndpointName: testEndpoint, RoleARN: testRole, KMSKeyARN: testKey, ArtifactsBucket: testArtifacts,
		InferenceImage: testImage, InstanceType: "ml.m5.large", InstanceCount: 1, CaptureSamplingPercent: 100,
		RollbackAlarmNames: []string{"churn-dev-5xx", "churn-dev-latency"},
	}
}

func loadRequest(t testing.TB, name string) pipeline.DeployRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	require.NoError(t, err)
	var req pipeline.DeployRequest
	require.NoError(t, json.Unmarshal(b, &req))
	return req
}

// fakeSageMaker is a hand-written SageMaker client recording every call.
// A nil func answers success.
type fakeSageMaker struct {
	models    []*sagemaker.CreateModelInput
	configs   []*sagemaker.CreateEndpointConfigInput
	describes []*sagemaker.DescribeEndpointInput
	creates   []*sagemaker.CreateEndpointInput
	updates   []*sagemaker.UpdateEndpointInput

	createModel  func(ctx context.Context) error
	createConfig func(ctx context.Context) error
	describe     func(ctx context.Context) (*sagemaker.DescribeEndpointOutput, error)
	create       func(ctx context.Context) error
	update       func(ctx context.Context) error
}

func call(ctx context.Context, f func(context.Context) error) error {
	if f == nil {
		return nil
	}
	return f(ctx)
}

func (f *fakeSageMaker) CreateModel(ctx context.Context, in *sagemaker.CreateModelInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateModelOutput, error) {
	f.models = append(f.models, in)
	if err := call(ctx, f.createModel); err != nil {
		return nil, err
	}
	return &sagemaker.CreateModelOutput{}, nil
}

func (f *fakeSageMaker) CreateEndpointConfig(ctx context.Context, in *sagemaker.CreateEndpointConfigInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateEndpointConfigOutput, error) {
	f.configs = append(f.configs, in)
	if err := call(ctx, f.createConfig); err != nil {
		return nil, err
	}
	return &sagemaker.CreateEndpointConfigOutput{}, nil
}

func (f *fakeSageMaker) DescribeEndpoint(ctx context.Context, in *sagemaker.DescribeEndpointInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeEndpointOutput, error) {
	f.describes = append(f.describes, in)
	return f.describe(ctx)
}

func (f *fakeSageMaker) CreateEndpoint(ctx context.Context, in *sagemaker.CreateEndpointInput, _ ...func(*sagemaker.Options)) (*sagemaker.CreateEndpointOutput, error) {
	f.creates = append(f.creates, in)
	if err := call(ctx, f.create); err != nil {
		return nil, err
	}
	return &sagemaker.CreateEndpointOutput{}, nil
}

func (f *fakeSageMaker) UpdateEndpoint(ctx context.Context, in *sagemaker.UpdateEndpointInput, _ ...func(*sagemaker.Options)) (*sagemaker.UpdateEndpointOutput, error) {
	f.updates = append(f.updates, in)
	if err := call(ctx, f.update); err != nil {
		return nil, err
	}
	return &sagemaker.UpdateEndpointOutput{}, nil
}

// fakeS3 holds the registry record.
type fakeS3 struct {
	puts   []*s3.PutObjectInput
	bodies []string
	gets   int
	record string // served by GetObject; "" = NoSuchKey
	putErr error
	getErr error
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.puts = append(f.puts, in)
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.bodies = append(f.bodies, string(b))
	if f.putErr != nil {
		return nil, f.putErr
	}
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.gets++
	if aws.ToString(in.Bucket) != testArtifacts || aws.ToString(in.Key) != "registry/churn-dev/live.json" {
		return nil, errors.New("unexpected registry location " + aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key))
	}
	if f.getErr != nil {
		return nil, f.getErr
	}
	if f.record == "" {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(f.record))}, nil
}

func newHandler(sm *fakeSageMaker, reg *fakeS3) (h *Handler, logs, emf *bytes.Buffer) {
	logs, emf = &bytes.Buffer{}, &bytes.Buffer{}
	return &Handler{
		Models: sm, Configs: sm, Describer: sm, Creator: sm, Updater: sm, Writer: reg, Reader: reg,
		Config: testConfig(), Log: logging.New(logs, "DEBUG"), Now: func() time.Time { return testNow },
		Metrics: metrics.New(emf, "MLOps/test", func() time.Time { return testNow }),
	}, logs, emf
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

func endpoint(status smtypes.EndpointStatus, config, pending string) func(context.Context) (*sagemaker.DescribeEndpointOutput, error) {
	return func(context.Context) (*sagemaker.DescribeEndpointOutput, error) {
		out := &sagemaker.DescribeEndpointOutput{EndpointName: aws.String(testEndpoint), EndpointStatus: status,
			EndpointConfigName: aws.String(config), FailureReason: aws.String("")}
		if status == smtypes.EndpointStatusFailed {
			out.FailureReason = aws.String("The primary container for production variant AllTraffic did not pass the ping health check.")
		}
		if pending != "" {
			out.PendingDeploymentSummary = &smtypes.PendingDeploymentSummary{EndpointConfigName: aws.String(pending)}
		}
		return out, nil
	}
}

func notFound(context.Context) (*sagemaker.DescribeEndpointOutput, error) {
	return nil, apiErr("ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev".`)
}

func liveRecord(config, previous string) string {
	b, _ := json.Marshal(pipeline.LiveModel{EndpointName: testEndpoint, EndpointConfigName: config, PreviousEndpointConfigName: previous,
		ModelName: "m", ExecutionName: "x", TrainingJobName: "t", BaselineURI: "s3://b/k"})
	return string(b)
}

func TestStart(t *testing.T) {
	tests := []struct {
		name       string
		event      string
		sm         fakeSageMaker
		reg        fakeS3
		noAlarms   bool
		timeout    time.Duration
		want       pipeline.Deployment
		wantCalls  string // models,configs,describes,creates,updates
		wantErr    string
		wantMsg    string
		checkInput func(t *testing.T, sm *fakeSageMaker)
	}{
		{name: "first deployment creates the endpoint", event: "deploy-start.json", sm: fakeSageMaker{describe: notFound},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, Mode: ModeCreate},
			wantCalls: "1,1,1,1,0",
			checkInput: func(t *testing.T, sm *fakeSageMaker) {
				assert.Equal(t, testEndpoint, aws.ToString(sm.creates[0].EndpointName))
				assert.Equal(t, testConfigN, aws.ToString(sm.creates[0].EndpointConfigName))
			}},
		{name: "later deployment is a blue/green update with auto-rollback", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, oldConfig, "")},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, PreviousEndpointConfigName: oldConfig, Mode: ModeUpdate},
			wantCalls: "1,1,1,0,1",
			checkInput: func(t *testing.T, sm *fakeSageMaker) {
				in := sm.updates[0]
				assert.Equal(t, testEndpoint, aws.ToString(in.EndpointName))
				assert.Equal(t, testConfigN, aws.ToString(in.EndpointConfigName))
				bg := in.DeploymentConfig.BlueGreenUpdatePolicy
				assert.Equal(t, smtypes.TrafficRoutingConfigTypeAllAtOnce, bg.TrafficRoutingConfiguration.Type)
				assert.Equal(t, int32(BakeSeconds), aws.ToInt32(bg.TrafficRoutingConfiguration.WaitIntervalInSeconds))
				assert.Equal(t, []smtypes.Alarm{{AlarmName: aws.String("churn-dev-5xx")}, {AlarmName: aws.String("churn-dev-latency")}},
					in.DeploymentConfig.AutoRollbackConfiguration.Alarms)
			}},
		{name: "update without rollback alarms", event: "deploy-start.json", noAlarms: true,
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, oldConfig, "")},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, PreviousEndpointConfigName: oldConfig, Mode: ModeUpdate},
			wantCalls: "1,1,1,0,1",
			checkInput: func(t *testing.T, sm *fakeSageMaker) {
				assert.Nil(t, sm.updates[0].DeploymentConfig.AutoRollbackConfiguration)
			}},
		{name: "model and configuration already exist", event: "deploy-start.json",
			sm: fakeSageMaker{
				createModel: func(context.Context) error {
					return apiErr("ValidationException", `Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/`+testModel+`".`)
				},
				createConfig: func(context.Context) error {
					return apiErr("ValidationException", `Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/`+testConfigN+`".`)
				},
				describe: notFound},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, Mode: ModeCreate},
			wantCalls: "1,1,1,1,0"},
		{name: "retried after the update went through: previous from the registry", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, testConfigN, "")},
			reg:       fakeS3{record: liveRecord(oldConfig, "")},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, PreviousEndpointConfigName: oldConfig, Mode: ModeUpdate},
			wantCalls: "1,1,1,0,0"},
		{name: "retried after status recorded it: previous kept", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, testConfigN, "")},
			reg:       fakeS3{record: liveRecord(testConfigN, oldConfig)},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, PreviousEndpointConfigName: oldConfig, Mode: ModeUpdate},
			wantCalls: "1,1,1,0,0"},
		{name: "retried after the first creation went through", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, testConfigN, "")},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, Mode: ModeCreate},
			wantCalls: "1,1,1,0,0"},
		{name: "retried while our endpoint is being created", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusCreating, testConfigN, "")},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, Mode: ModeCreate},
			wantCalls: "1,1,1,0,0"},
		{name: "retried while our update is in progress", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusUpdating, oldConfig, testConfigN)},
			want:      pipeline.Deployment{EndpointName: testEndpoint, ModelName: testModel, EndpointConfigName: testConfigN, PreviousEndpointConfigName: oldConfig, Mode: ModeUpdate},
			wantCalls: "1,1,1,0,0"},
		{name: "another update in progress is transient, never a second update", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusUpdating, oldConfig, "config-someone-else")},
			wantCalls: "1,1,1,0,0", wantErr: faults.TransientErrorName, wantMsg: "endpoint is already being updated"},
		{name: "endpoint being created by someone else is transient", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusCreating, oldConfig, "")},
			wantCalls: "1,1,1,0,0", wantErr: faults.TransientErrorName, wantMsg: "endpoint is already being updated"},
		{name: "endpoint rolling back is transient", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusRollingBack, oldConfig, "")},
			wantCalls: "1,1,1,0,0", wantErr: faults.TransientErrorName, wantMsg: "endpoint is already being updated"},
		{name: "failed endpoint is permanent", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusFailed, oldConfig, "")},
			wantCalls: "1,1,1,0,0", wantErr: faults.PermanentErrorName, wantMsg: "did not pass the ping health check"},
		{name: "update refused as in progress is transient", event: "deploy-start.json",
			sm: fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, oldConfig, ""),
				update: func(context.Context) error {
					return apiErr("ValidationException", `Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev".`)
				}},
			wantCalls: "1,1,1,0,1", wantErr: faults.TransientErrorName, wantMsg: "endpoint is already being updated"},
		{name: "endpoint created concurrently is transient", event: "deploy-start.json",
			sm: fakeSageMaker{describe: notFound, create: func(context.Context) error {
				return apiErr("ValidationException", `Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-dev".`)
			}},
			wantCalls: "1,1,1,1,0", wantErr: faults.TransientErrorName, wantMsg: "created concurrently"},
		{name: "model creation throttled is transient", event: "deploy-start.json",
			sm:        fakeSageMaker{createModel: func(context.Context) error { return apiErr("ThrottlingException", "Rate exceeded") }},
			wantCalls: "1,0,0,0,0", wantErr: faults.TransientErrorName, wantMsg: "create model"},
		{name: "configuration validation error is permanent", event: "deploy-start.json",
			sm: fakeSageMaker{createConfig: func(context.Context) error {
				return apiErr("ValidationException", "The KMS key cannot be used with instance type ml.m5d.large")
			}},
			wantCalls: "1,1,0,0,0", wantErr: faults.PermanentErrorName, wantMsg: "create endpoint configuration"},
		{name: "describe throttled is transient", event: "deploy-start.json",
			sm: fakeSageMaker{describe: func(context.Context) (*sagemaker.DescribeEndpointOutput, error) {
				return nil, apiErr("ThrottlingException", "Rate exceeded")
			}},
			wantCalls: "1,1,1,0,0", wantErr: faults.TransientErrorName, wantMsg: "describe endpoint"},
		{name: "corrupt registry on a retried start is permanent", event: "deploy-start.json",
			sm:        fakeSageMaker{describe: endpoint(smtypes.EndpointStatusInService, testConfigN, "")},
			reg:       fakeS3{record: "not json"},
			wantCalls: "1,1,1,0,0", wantErr: faults.PermanentErrorName, wantMsg: "not a live-model record"},
		{name: "timeout via context deadline is transient", event: "deploy-start.json", timeout: time.Millisecond,
			sm: fakeSageMaker{createModel: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			}},
			wantCalls: "1,0,0,0,0", wantErr: faults.TransientErrorName, wantMsg: "deadline exceeded"},
		{name: "missing model data is permanent and calls nothing", event: "deploy-start-missing-model.json",
			wantCalls: "0,0,0,0,0", wantErr: faults.PermanentErrorName, wantMsg: "modelDataUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm, reg := &tt.sm, &tt.reg
			h, _, _ := newHandler(sm, reg)
			if tt.noAlarms {
				h.Config.RollbackAlarmNames = nil
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			out, err := h.Handle(ctx, loadRequest(t, tt.event))
			calls := strings.Join([]string{itoa(len(sm.models)), itoa(len(sm.configs)), itoa(len(sm.describes)), itoa(len(sm.creates)), itoa(len(sm.updates))}, ",")
			assert.Equal(t, tt.wantCalls, calls, "calls: models,configs,describes,creates,updates")
			assert.Empty(t, reg.puts, "start never writes the registry")
			if tt.wantErr != "" {
				require.Error(t, err)
				name, msg := taskError(t, err)
				assert.Equal(t, tt.wantErr, name)
				assert.Contains(t, msg, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)

			model := sm.models[0]
			assert.Empty(t, guardrails.CheckCreateModel(model), "the template guardrails' model rules")
			assert.Empty(t, guardrails.CheckCreateEndpointConfig(sm.configs[0]), "the template guardrails' endpoint rules")
			assert.Equal(t, testModel, aws.ToString(model.ModelName))
			assert.Equal(t, testImage, aws.ToString(model.PrimaryContainer.Image))
			assert.Equal(t, testModelData, aws.ToString(model.PrimaryContainer.ModelDataUrl))
			assert.Equal(t, testRole, aws.ToString(model.ExecutionRoleArn))
			assert.True(t, aws.ToBool(model.EnableNetworkIsolation))

			cfg := sm.configs[0]
			assert.Equal(t, testConfigN, aws.ToString(cfg.EndpointConfigName))
			assert.Equal(t, testKey, aws.ToString(cfg.KmsKeyId))
			require.Len(t, cfg.ProductionVariants, 1)
			v := cfg.ProductionVariants[0]
			assert.Equal(t, "AllTraffic", aws.ToString(v.VariantName))
			assert.Equal(t, testModel, aws.ToString(v.ModelName))
			assert.Equal(t, smtypes.ProductionVariantInstanceTypeMlM5Large, v.InstanceType)
			assert.Equal(t, int32(1), aws.ToInt32(v.InitialInstanceCount))
			dc := cfg.DataCaptureConfig
			assert.True(t, aws.ToBool(dc.EnableCapture))
			assert.Equal(t, int32(100), aws.ToInt32(dc.InitialSamplingPercentage))
			assert.Equal(t, "s3://"+testArtifacts+"/capture", aws.ToString(dc.DestinationS3Uri))
			assert.Equal(t, testKey, aws.ToString(dc.KmsKeyId))
			assert.Equal(t, []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}, {CaptureMode: smtypes.CaptureModeOutput}}, dc.CaptureOptions)
			assert.Equal(t, []string{"text/csv"}, dc.CaptureContentTypeHeader.CsvContentTypes)
			assert.Equal(t, []string{"application/json"}, dc.CaptureContentTypeHeader.JsonContentTypes)
			assert.Equal(t, testEndpoint, aws.ToString(sm.describes[0].EndpointName))
			if tt.checkInput != nil {
				tt.checkInput(t, sm)
			}
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestStatus(t *testing.T) {
	req := loadRequest(t, "deploy-status.json")
	tests := []struct {
		name      string
		describe  func(context.Context) (*sagemaker.DescribeEndpointOutput, error)
		reg       fakeS3
		mutate    func(*pipeline.DeployRequest)
		want      pipeline.Status
		outcome   string // Deployments metric's Outcome, "" for none
		wantWrite bool
		wantErr   string
		wantMsg   string
	}{
		{name: "in service on the new configuration records the live model", describe: endpoint(smtypes.EndpointStatusInService, testConfigN, ""),
			want: pipeline.Status{State: pipeline.StateSucceeded, Detail: "InService"}, outcome: "succeeded", wantWrite: true},
		{name: "in service on another configuration was rolled back", describe: endpoint(smtypes.EndpointStatusInService, oldConfig, ""),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "InService",
				Reason: `deployment rolled back: endpoint "churn-dev" serves configuration "` + oldConfig + `", not "` + testConfigN + `"`}, outcome: "rolled-back"},
		{name: "failed", describe: endpoint(smtypes.EndpointStatusFailed, testConfigN, ""),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "Failed", Reason: "The primary container for production variant AllTraffic did not pass the ping health check."}, outcome: "failed"},
		{name: "update rollback failed", describe: endpoint(smtypes.EndpointStatusUpdateRollbackFailed, oldConfig, ""),
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "UpdateRollbackFailed", Reason: `endpoint "churn-dev" is UpdateRollbackFailed`}, outcome: "failed"},
		{name: "creating", describe: endpoint(smtypes.EndpointStatusCreating, testConfigN, ""), want: pipeline.Status{State: pipeline.StateRunning, Detail: "Creating"}},
		{name: "updating", describe: endpoint(smtypes.EndpointStatusUpdating, oldConfig, testConfigN), want: pipeline.Status{State: pipeline.StateRunning, Detail: "Updating"}},
		{name: "rolling back", describe: endpoint(smtypes.EndpointStatusRollingBack, oldConfig, ""), want: pipeline.Status{State: pipeline.StateRunning, Detail: "RollingBack"}},
		{name: "endpoint gone", describe: notFound,
			want: pipeline.Status{State: pipeline.StateFailed, Detail: "NotFound", Reason: `endpoint "churn-dev" does not exist`}, outcome: "failed"},
		{name: "registry write throttled is transient", describe: endpoint(smtypes.EndpointStatusInService, testConfigN, ""),
			reg: fakeS3{putErr: apiErr("SlowDown", "Please reduce your request rate.")}, wantWrite: true,
			wantErr: faults.TransientErrorName, wantMsg: "write registry record s3://" + testArtifacts + "/registry/churn-dev/configs/" + testConfigN + ".json"},
		{name: "registry write denied is permanent", describe: endpoint(smtypes.EndpointStatusInService, testConfigN, ""),
			reg: fakeS3{putErr: apiErr("AccessDenied", "Access Denied")}, wantWrite: true,
			wantErr: faults.PermanentErrorName, wantMsg: "Access Denied"},
		{name: "describe throttled is transient", describe: func(context.Context) (*sagemaker.DescribeEndpointOutput, error) {
			return nil, apiErr("ThrottlingException", "Rate exceeded")
		}, wantErr: faults.TransientErrorName, wantMsg: "describe endpoint"},
		{name: "missing deployment is permanent", mutate: func(r *pipeline.DeployRequest) { r.Deployment = nil },
			wantErr: faults.PermanentErrorName, wantMsg: "deployment with modelName and endpointConfigName is required"},
		{name: "deployment of another endpoint is permanent", mutate: func(r *pipeline.DeployRequest) {
			d := *r.Deployment
			d.EndpointName = "other"
			r.Deployment = &d
		}, wantErr: faults.PermanentErrorName, wantMsg: `endpoint "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm, reg := &fakeSageMaker{describe: tt.describe}, &tt.reg
			h, _, emf := newHandler(sm, reg)
			r := req
			if tt.mutate != nil {
				tt.mutate(&r)
			}
			out, err := h.Handle(context.Background(), r)
			assert.Empty(t, sm.models)
			assert.Empty(t, sm.creates)
			assert.Empty(t, sm.updates)
			// The per-configuration record is written before the live one, so
			// a failed write never leaves a live record without it.
			var wantKeys, gotKeys []string
			if tt.wantWrite {
				wantKeys = []string{"registry/churn-dev/configs/" + testConfigN + ".json", "registry/churn-dev/live.json"}
				if tt.wantErr != "" {
					wantKeys = wantKeys[:1]
				}
			}
			for _, put := range reg.puts {
				gotKeys = append(gotKeys, aws.ToString(put.Key))
			}
			require.Equal(t, wantKeys, gotKeys, "registry writes")
			for i, put := range reg.puts {
				assert.Equal(t, testArtifacts, aws.ToString(put.Bucket))
				assert.Equal(t, "application/json", aws.ToString(put.ContentType))
				var live pipeline.LiveModel
				require.NoError(t, json.Unmarshal([]byte(reg.bodies[i]), &live))
				assert.Equal(t, pipeline.LiveModel{
					EndpointName: testEndpoint, EndpointConfigName: testConfigN, ModelName: testModel, ExecutionName: testExecution,
					TrainingJobName: req.TrainingJobName, Dataset: req.Dataset, Metric: &pipeline.MetricValue{Name: "validation:error", Value: 0.082},
					BaselineURI:                "s3://" + testArtifacts + "/prepared/" + testExecution + "/baseline.json",
					PreviousEndpointConfigName: oldConfig, DeployedAt: testNow,
				}, live)
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
			if tt.outcome != "" {
				wantMetrics = []string{"Deployments/Outcome=" + tt.outcome + "/1"}
			}
			assert.Equal(t, wantMetrics, emitted(t, emf))
		})
	}
}

func TestLoadConfig(t *testing.T) {
	base := map[string]string{"ENDPOINT_NAME": testEndpoint, "SAGEMAKER_ROLE_ARN": testRole, "KMS_KEY_ARN": testKey, "ARTIFACTS_BUCKET": testArtifacts,
		"ROLLBACK_ALARM_NAMES": " churn-dev-5xx, churn-dev-latency ,"}
	c, err := LoadConfig(config.New(config.MapLookup(base)), "us-east-1")
	require.NoError(t, err)
	assert.Equal(t, testConfig(), c)

	c, err = LoadConfig(config.New(config.MapLookup(map[string]string{"INFERENCE_IMAGE": "img", "ENDPOINT_NAME": "e", "SAGEMAKER_ROLE_ARN": "r", "KMS_KEY_ARN": "k", "ARTIFACTS_BUCKET": "b"})), "xx-new-1")
	require.NoError(t, err)
	assert.Equal(t, "img", c.InferenceImage)
	assert.Nil(t, c.RollbackAlarmNames)

	_, err = LoadConfig(config.New(config.MapLookup(map[string]string{"CAPTURE_SAMPLING_PERCENT": "101",
		"ROLLBACK_ALARM_NAMES": "a,b,c,d,e,f,g,h,i,j,k"})), "xx-new-1")
	for _, want := range []string{"ENDPOINT_NAME: required", "SAGEMAKER_ROLE_ARN: required", "KMS_KEY_ARN: required", "ARTIFACTS_BUCKET: required",
		"CAPTURE_SAMPLING_PERCENT: 101 is outside", "INFERENCE_IMAGE: unset and no default", "ROLLBACK_ALARM_NAMES: 11 alarms"} {
		assert.ErrorContains(t, err, want)
	}
}

// TestLambdaWire runs the handler through aws-lambda-go's own adapter with
// the fixture's bytes, as the Lambda runtime does.
func TestLambdaWire(t *testing.T) {
	sm := &fakeSageMaker{describe: notFound}
	h, _, _ := newHandler(sm, &fakeS3{})
	payload, err := os.ReadFile(filepath.Join("..", "..", "events", "deploy-start.json"))
	require.NoError(t, err)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	require.NoError(t, err)
	assert.JSONEq(t, `{"endpointName":"churn-dev","modelName":"`+testModel+`","endpointConfigName":"`+testConfigN+`","mode":"create"}`, string(out))

	sm.describe = endpoint(smtypes.EndpointStatusUpdating, oldConfig, "config-someone-else")
	_, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	var ie messages.InvokeResponse_Error
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, faults.TransientErrorName, ie.Type)
	assert.Contains(t, ie.Message, "endpoint is already being updated")
}
