package sagemakeremu

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateTrainingJobValidation(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("a", 64)
	tests := []struct {
		name   string
		change func(in *sagemaker.CreateTrainingJobInput)
		msg    string
	}{
		{name: "name pattern", change: func(in *sagemaker.CreateTrainingJobInput) { in.TrainingJobName = aws.String("bad_name") },
			msg: "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"},
		{name: "name length", change: func(in *sagemaker.CreateTrainingJobInput) { in.TrainingJobName = aws.String(long) },
			msg: "Value '" + long + "' at 'trainingJobName' failed to satisfy constraint: Member must have length less than or equal to 63"},
		{name: "role ARN", change: func(in *sagemaker.CreateTrainingJobInput) { in.RoleArn = aws.String("arn:aws:iam::123:role/x-role") },
			msg: "at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "instance type", change: func(in *sagemaker.CreateTrainingJobInput) { in.ResourceConfig.InstanceType = "ml.bogus" },
			msg: "Value 'ml.bogus' at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set: ["},
		{name: "output path", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.OutputDataConfig.S3OutputPath = aws.String("ftp://bucket/x")
		},
			msg: "at 'outputDataConfig.s3OutputPath' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"},
		{name: "channel URI", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("bucket/train")
		}, msg: "at 'inputDataConfig.1.member.dataSource.s3DataSource.s3Uri'"},
		{name: "channel name", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.InputDataConfig[1].ChannelName = aws.String("val idation")
		},
			msg: "Value 'val idation' at 'inputDataConfig.2.member.channelName'"},
		{name: "max runtime", change: func(in *sagemaker.CreateTrainingJobInput) { in.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(0) },
			msg: "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "volume size", change: func(in *sagemaker.CreateTrainingJobInput) { in.ResourceConfig.VolumeSizeInGB = aws.Int32(0) },
			msg: "at 'resourceConfig.volumeSizeInGB'"},
		{name: "hyperparameter value length", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.HyperParameters["objective"] = strings.Repeat("x", 2501)
		}, msg: "at 'hyperParameters.objective' failed to satisfy constraint: Member must have length less than or equal to 2500"},
		{name: "too many hyperparameters", change: func(in *sagemaker.CreateTrainingJobInput) {
			for i := range 101 {
				in.HyperParameters["k"+strconv.Itoa(i)] = "1"
			}
		}, msg: "at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{name: "input mode", change: func(in *sagemaker.CreateTrainingJobInput) { in.AlgorithmSpecification.TrainingInputMode = "Stream" },
			msg: "at 'algorithmSpecification.trainingInputMode'"},
		{name: "several errors at once", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.TrainingJobName = aws.String("a_b")
			in.ResourceConfig.InstanceType = "ml.bogus"
		}, msg: "2 validation errors detected: Value 'a_b' at 'trainingJobName'"},
		{name: "image and algorithm", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.AlgorithmSpecification.AlgorithmName = aws.String("my-algo")
		}, msg: "Either TrainingImage or AlgorithmName must be specified"},
		{name: "duplicate channels", change: func(in *sagemaker.CreateTrainingJobInput) { in.InputDataConfig[1].ChannelName = aws.String("train") },
			msg: `Channel names must be unique: "train"`},
		{name: "spot without max wait", change: func(in *sagemaker.CreateTrainingJobInput) { in.EnableManagedSpotTraining = aws.Bool(true) },
			msg: "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds"},
		{name: "spot max wait below max runtime", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.EnableManagedSpotTraining = aws.Bool(true)
			in.StoppingCondition.MaxWaitTimeInSeconds = aws.Int32(60)
		}, msg: "Invalid MaxWaitTimeInSeconds"},
		{name: "max runtime above 28 days", change: func(in *sagemaker.CreateTrainingJobInput) {
			in.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(28*24*3600 + 1)
		}, msg: "Invalid MaxRuntimeInSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := h.trainingInput("job-"+strconv.Itoa(len(tt.name)), "exec")
			tt.change(in)
			_, err := h.sm.CreateTrainingJob(context.Background(), in)
			requireAPIError(t, err, "ValidationException", tt.msg)
		})
	}
	out, err := h.sm.ListTrainingJobs(context.Background(), &sagemaker.ListTrainingJobsInput{})
	require.NoError(t, err)
	assert.Empty(t, out.TrainingJobSummaries, "a rejected request creates no job")

	t.Run("missing required members", func(t *testing.T) {
		// The SDK checks required members itself: send raw JSON.
		body := `{"TrainingJobName":"j1","AlgorithmSpecification":{"TrainingImage":"x","TrainingInputMode":"File"},"ResourceConfig":{"InstanceType":"ml.m5.large","InstanceCount":1,"VolumeSizeInGB":10}}`
		status, typ, msg := rawCall(t, h, "CreateTrainingJob", body)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "ValidationException", typ)
		assert.Equal(t, "3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; "+
			"Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null; "+
			"Value null at 'stoppingCondition' failed to satisfy constraint: Member must not be null", msg)
	})
	t.Run("missing input mode", func(t *testing.T) {
		body := `{"TrainingJobName":"j1","RoleArn":"` + testRole + `","AlgorithmSpecification":{"TrainingImage":"x"},"OutputDataConfig":{"S3OutputPath":"s3://b/o"},"ResourceConfig":{"InstanceType":"ml.m5.large","InstanceCount":1,"VolumeSizeInGB":10},"StoppingCondition":{"MaxRuntimeInSeconds":60}}`
		_, typ, msg := rawCall(t, h, "CreateTrainingJob", body)
		assert.Equal(t, "ValidationException", typ)
		assert.Equal(t, "1 validation error detected: Value null at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must not be null", msg)
	})
	t.Run("unknown operation", func(t *testing.T) {
		status, typ, _ := rawCall(t, h, "CreateHyperParameterTuningJob", `{}`)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "UnknownOperationException", typ)
	})
	t.Run("malformed JSON", func(t *testing.T) {
		_, typ, _ := rawCall(t, h, "CreateTrainingJob", `{"TrainingJobName":`)
		assert.Equal(t, "SerializationException", typ)
	})
}

// rawCall posts a JSON 1.1 request and returns the status, error type and
// message.
func rawCall(t *testing.T, h *harness, op, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.control.URL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "SageMaker."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	return resp.StatusCode, e.Type, e.Message
}

func TestTrainingJobFailures(t *testing.T) {
	requirePython(t)
	sleeper := filepath.Join(t.TempDir(), "python-that-hangs")
	require.NoError(t, os.WriteFile(sleeper, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755))
	tests := []struct {
		name      string
		python    string
		files     map[string]string
		change    func(*sagemaker.CreateTrainingJobInput)
		status    smtypes.TrainingJobStatus
		secondary smtypes.SecondaryStatus
		reason    string
	}{
		{name: "CSV with a header row", files: map[string]string{"train/a.csv": "churned,tenure\n1,2\n", "validation/v.csv": "1,2\n"},
			status: smtypes.TrainingJobStatusFailed, secondary: smtypes.SecondaryStatusFailed,
			reason: "ClientError: Channel train: a.csv line 1: non-numeric value in 'churned,tenure'"},
		{name: "empty channel prefix", files: map[string]string{"validation/v.csv": "1,2\n"},
			status: smtypes.TrainingJobStatusFailed, secondary: smtypes.SecondaryStatusFailed,
			reason: `ClientError: No S3 objects found under S3 URL "s3://artifacts/prepared/exec/train/" given in input data source.`},
		{name: "unknown hyperparameter", files: map[string]string{"train/a.csv": "1,2\n0,1\n", "validation/v.csv": "1,2\n"},
			change: func(in *sagemaker.CreateTrainingJobInput) { in.HyperParameters["depth"] = "3" },
			status: smtypes.TrainingJobStatusFailed, secondary: smtypes.SecondaryStatusFailed,
			reason: "ClientError: Additional hyperparameters are not allowed ('depth' unexpected)"},
		{name: "an image the local cloud cannot run", files: map[string]string{"train/a.csv": "1,2\n", "validation/v.csv": "1,2\n"},
			change: func(in *sagemaker.CreateTrainingJobInput) {
				in.AlgorithmSpecification.TrainingImage = aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-trainer:latest")
			},
			status: smtypes.TrainingJobStatusFailed, secondary: smtypes.SecondaryStatusFailed,
			reason: "ClientError: the local cloud runs only SageMaker's built-in XGBoost image"},
		{name: "no python3-xgboost", python: "/nonexistent/python3", files: map[string]string{"train/a.csv": "1,2\n", "validation/v.csv": "1,2\n"},
			status: smtypes.TrainingJobStatusFailed, secondary: smtypes.SecondaryStatusFailed,
			reason: "AlgorithmError: /nonexistent/python3 cannot import xgboost (install the Debian package python3-xgboost"},
		{name: "max runtime exceeded", python: sleeper, files: map[string]string{"train/a.csv": "1,2\n", "validation/v.csv": "1,2\n"},
			change: func(in *sagemaker.CreateTrainingJobInput) { in.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(1) },
			status: smtypes.TrainingJobStatusStopped, secondary: smtypes.SecondaryStatusMaxRuntimeExceeded,
			reason: "MaxRuntimeExceeded: Training job exceeded MaxRuntimeInSeconds provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(o *Options) {
				if tt.python != "" {
					o.Python = tt.python
				}
			})
			for k, v := range tt.files {
				h.put(t, "prepared/exec/"+k, v)
			}
			in := h.trainingInput("job", "exec")
			if tt.change != nil {
				tt.change(in)
			}
			_, err := h.sm.CreateTrainingJob(context.Background(), in)
			require.NoError(t, err)
			d := h.waitJob(t, "job")
			assert.Equal(t, tt.status, d.TrainingJobStatus)
			assert.Equal(t, tt.secondary, d.SecondaryStatus)
			assert.Contains(t, aws.ToString(d.FailureReason), tt.reason)
			assert.Nil(t, d.ModelArtifacts)
			assert.Empty(t, d.FinalMetricDataList)
			assert.Empty(t, h.list(t, "models/"), "a failed job writes no model")
		})
	}
}

func TestStopTrainingJob(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Timings.TrainingStartup = time.Hour })
	ctx := context.Background()
	_, err := h.sm.CreateTrainingJob(ctx, h.trainingInput("job", "exec"))
	require.NoError(t, err)
	d, err := h.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("job")})
	require.NoError(t, err)
	assert.Equal(t, smtypes.TrainingJobStatusInProgress, d.TrainingJobStatus)
	assert.Equal(t, smtypes.SecondaryStatusStarting, d.SecondaryStatus)

	_, err = h.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("job")})
	require.NoError(t, err)
	d = h.waitJob(t, "job")
	assert.Equal(t, smtypes.TrainingJobStatusStopped, d.TrainingJobStatus)
	assert.Equal(t, smtypes.SecondaryStatusStopped, d.SecondaryStatus)
	var steps []string
	for _, tr := range d.SecondaryStatusTransitions {
		steps = append(steps, string(tr.Status))
	}
	assert.Equal(t, []string{"Starting", "Stopping", "Stopped"}, steps)

	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{name: "stop a stopped job", code: "ValidationException", msg: "the training job is in status Stopped",
			call: func() error {
				_, err := h.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("job")})
				return err
			}},
		{name: "stop an unknown job", code: "ValidationException", msg: "Requested resource not found.",
			call: func() error {
				_, err := h.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String("nope")})
				return err
			}},
		{name: "describe an unknown job", code: "ValidationException", msg: "Requested resource not found.",
			call: func() error {
				_, err := h.sm.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String("nope")})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireAPIError(t, tt.call(), tt.code, tt.msg) })
	}
}

func TestHostingErrors(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(t, "models/broken/model.tar.gz", "this is not a tar.gz")
	newModel := func(name, data string) error {
		_, err := h.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(name),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(h.image), ModelDataUrl: aws.String(data)}, ExecutionRoleArn: aws.String(testRole)})
		return err
	}
	newConfig := func(name, model string, change func(*sagemaker.CreateEndpointConfigInput)) error {
		in := &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name), ProductionVariants: []smtypes.ProductionVariant{{
			VariantName: aws.String("AllTraffic"), ModelName: aws.String(model), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1),
		}}}
		if change != nil {
			change(in)
		}
		_, err := h.sm.CreateEndpointConfig(ctx, in)
		return err
	}
	require.NoError(t, newModel("missing-data", "s3://artifacts/models/none/model.tar.gz"))
	require.NoError(t, newModel("broken-data", "s3://artifacts/models/broken/model.tar.gz"))
	require.NoError(t, newConfig("missing-config", "missing-data", nil))
	require.NoError(t, newConfig("broken-config", "broken-data", nil))

	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{name: "duplicate model", code: "ValidationException", msg: `Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/missing-data".`,
			call: func() error { return newModel("missing-data", "s3://artifacts/x.tar.gz") }},
		{name: "model name pattern", code: "ValidationException", msg: "Value 'bad.name' at 'modelName'",
			call: func() error { return newModel("bad.name", "s3://artifacts/x.tar.gz") }},
		{name: "duplicate endpoint configuration", code: "ValidationException", msg: `Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/missing-config".`,
			call: func() error { return newConfig("missing-config", "missing-data", nil) }},
		{name: "configuration of an unknown model", code: "ValidationException", msg: `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope".`,
			call: func() error { return newConfig("c2", "nope", nil) }},
		{name: "variant instance type", code: "ValidationException", msg: "Value 'ml.t9.huge' at 'productionVariants.1.member.instanceType'",
			call: func() error {
				return newConfig("c3", "missing-data", func(in *sagemaker.CreateEndpointConfigInput) { in.ProductionVariants[0].InstanceType = "ml.t9.huge" })
			}},
		{name: "capture sampling above 100", code: "ValidationException", msg: "Value '101' at 'dataCaptureConfig.initialSamplingPercentage' failed to satisfy constraint: Member must have value less than or equal to 100",
			call: func() error {
				return newConfig("c4", "missing-data", func(in *sagemaker.CreateEndpointConfigInput) {
					in.DataCaptureConfig = &smtypes.DataCaptureConfig{InitialSamplingPercentage: aws.Int32(101), DestinationS3Uri: aws.String("s3://artifacts/capture"),
						CaptureOptions: []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}}}
				})
			}},
		{name: "endpoint of an unknown configuration", code: "ValidationException", msg: `Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/nope".`,
			call: func() error {
				_, err := h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("e1"), EndpointConfigName: aws.String("nope")})
				return err
			}},
		{name: "describe an unknown endpoint", code: "ValidationException", msg: `Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope".`,
			call: func() error {
				_, err := h.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("nope")})
				return err
			}},
		{name: "update an unknown endpoint", code: "ValidationException", msg: "Could not find endpoint",
			call: func() error {
				_, err := h.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("nope"), EndpointConfigName: aws.String("missing-config")})
				return err
			}},
		{name: "delete an unknown endpoint", code: "ValidationException", msg: "Could not find endpoint",
			call: func() error {
				_, err := h.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("nope")})
				return err
			}},
		{name: "describe an unknown model", code: "ValidationException", msg: `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/nope".`,
			call: func() error {
				_, err := h.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("nope")})
				return err
			}},
		{name: "describe an unknown endpoint configuration", code: "ValidationException", msg: "Could not find endpoint configuration",
			call: func() error {
				_, err := h.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("nope")})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireAPIError(t, tt.call(), tt.code, tt.msg) })
	}

	t.Run("endpoints whose model cannot be fetched fail", func(t *testing.T) {
		for name, reason := range map[string]string{
			"missing-config": "Could not access model data at s3://artifacts/models/none/model.tar.gz",
			"broken-config":  `Failed to extract model data archive from URL "s3://artifacts/models/broken/model.tar.gz"`,
		} {
			ep := "ep-" + name
			_, err := h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String(name)})
			require.NoError(t, err)
			_, err = h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String(name)})
			requireAPIError(t, err, "ValidationException", `Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/`+ep+`".`)
			d, _ := h.waitEndpoint(t, ep, func(d *sagemaker.DescribeEndpointOutput) bool {
				return d.EndpointStatus != smtypes.EndpointStatusCreating
			})
			assert.Equal(t, smtypes.EndpointStatusFailed, d.EndpointStatus)
			assert.Contains(t, aws.ToString(d.FailureReason), reason)
			_, err = h.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(ep), EndpointConfigName: aws.String(name)})
			requireAPIError(t, err, "ValidationException", "Cannot update in-progress endpoint")
		}
		list, err := h.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: smtypes.EndpointStatusFailed})
		require.NoError(t, err)
		assert.Len(t, list.Endpoints, 2)
	})

	t.Run("models and configurations can be described and deleted", func(t *testing.T) {
		m, err := h.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("broken-data")})
		require.NoError(t, err)
		assert.Equal(t, "s3://artifacts/models/broken/model.tar.gz", aws.ToString(m.PrimaryContainer.ModelDataUrl))
		c, err := h.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("broken-config")})
		require.NoError(t, err)
		assert.Equal(t, "broken-data", aws.ToString(c.ProductionVariants[0].ModelName))
		_, err = h.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String("broken-config")})
		require.NoError(t, err)
		_, err = h.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("broken-data")})
		require.NoError(t, err)
		_, err = h.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("broken-data")})
		requireAPIError(t, err, "ValidationException", "Could not find model")
	})
}
