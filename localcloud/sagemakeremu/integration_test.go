package sagemakeremu

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/drift"
)

// TestTrainDeployInvoke drives the whole life of a model through the SDK
// clients: a real XGBoost training on generated churn data, an endpoint
// serving it, predictions checked against the data's true decision rule,
// data capture read back by shared/drift, blue/green updates with and
// without an alarm-triggered rollback, and deletion.
func TestTrainDeployInvoke(t *testing.T) {
	requirePython(t)
	h := newHarness(t, nil)
	ctx := context.Background()
	const execution = "ingest-abc123"
	h.put(t, "prepared/"+execution+"/train/train.csv", trainingCSV(churnRows(600, 1)))
	h.put(t, "prepared/"+execution+"/validation/validation.csv", trainingCSV(churnRows(200, 2)))
	h.put(t, "prepared/"+execution+"/train/_SUCCESS", "not data")

	job := "train-" + execution
	var modelData string
	t.Run("training completes with metrics and a model", func(t *testing.T) {
		out, err := h.sm.CreateTrainingJob(ctx, h.trainingInput(job, execution))
		require.NoError(t, err)
		assert.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:training-job/"+job, aws.ToString(out.TrainingJobArn))

		d := h.waitJob(t, job)
		require.Equal(t, smtypes.TrainingJobStatusCompleted, d.TrainingJobStatus, "failure: %s", aws.ToString(d.FailureReason))
		assert.Equal(t, smtypes.SecondaryStatusCompleted, d.SecondaryStatus)
		var steps []string
		for _, tr := range d.SecondaryStatusTransitions {
			steps = append(steps, string(tr.Status))
			assert.NotNil(t, tr.StartTime)
			assert.NotNil(t, tr.EndTime, "transition %s", tr.Status)
		}
		assert.Equal(t, []string{"Starting", "Downloading", "Training", "Uploading", "Completed"}, steps)
		metrics := map[string]float32{}
		for _, m := range d.FinalMetricDataList {
			metrics[aws.ToString(m.MetricName)] = aws.ToFloat32(m.Value)
		}
		t.Logf("final metrics: %v", metrics)
		require.Contains(t, metrics, "validation:error")
		require.Contains(t, metrics, "train:error")
		// The labels are drawn from the true probability: the Bayes error
		// of this dataset is ~0.2, a model that learned nothing ~0.45.
		assert.Less(t, metrics["validation:error"], float32(0.32))
		modelData = aws.ToString(d.ModelArtifacts.S3ModelArtifacts)
		assert.Equal(t, "s3://artifacts/models/"+execution+"/"+job+"/output/model.tar.gz", modelData)
		assert.Equal(t, map[string]string{"objective": "binary:logistic", "eval_metric": "error", "num_round": "20", "max_depth": "3"}, d.HyperParameters)
		assert.NotNil(t, d.TrainingTimeInSeconds)

		// The archive holds xgboost-model, loadable by XGBoost itself.
		dir := t.TempDir()
		members := untar(t, h.get(t, "models/"+execution+"/"+job+"/output/model.tar.gz"), dir)
		assert.Equal(t, []string{"xgboost-model"}, members)
		out2, err := exec.Command(python, "-c", "import sys, xgboost; b = xgboost.Booster(); b.load_model(sys.argv[1]); print(b.num_features(), b.num_boosted_rounds())", filepath.Join(dir, "xgboost-model")).CombinedOutput()
		require.NoError(t, err, "%s", out2)
		assert.Equal(t, "4 20", strings.TrimSpace(string(out2)))
	})
	require.NotEmpty(t, modelData, "training failed; the rest needs its model")

	t.Run("a duplicate job name is ResourceInUse", func(t *testing.T) {
		_, err := h.sm.CreateTrainingJob(ctx, h.trainingInput(job, execution))
		var inUse *smtypes.ResourceInUse
		require.True(t, errors.As(err, &inUse), "got %v", err)
		assert.Contains(t, inUse.ErrorMessage(), "Training job names must be unique within an AWS account and region")
	})
	t.Run("stopping a completed job is refused", func(t *testing.T) {
		_, err := h.sm.StopTrainingJob(ctx, &sagemaker.StopTrainingJobInput{TrainingJobName: aws.String(job)})
		requireAPIError(t, err, "ValidationException", "training job is in status Completed")
	})

	createConfig := func(t *testing.T, model, config string) {
		t.Helper()
		_, err := h.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
			ModelName:        aws.String(model),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(h.image), ModelDataUrl: aws.String(modelData)},
			ExecutionRoleArn: aws.String(testRole), EnableNetworkIsolation: aws.Bool(true),
		})
		require.NoError(t, err)
		_, err = h.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String(config),
			ProductionVariants: []smtypes.ProductionVariant{{
				VariantName: aws.String("AllTraffic"), ModelName: aws.String(model),
				InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1), InitialVariantWeight: aws.Float32(1),
			}},
			KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/abc"),
			DataCaptureConfig: &smtypes.DataCaptureConfig{
				EnableCapture: aws.Bool(true), InitialSamplingPercentage: aws.Int32(100),
				DestinationS3Uri: aws.String("s3://" + testBucket + "/capture"),
				KmsKeyId:         aws.String("arn:aws:kms:us-east-1:123456789012:key/abc"),
				CaptureOptions:   []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}, {CaptureMode: smtypes.CaptureModeOutput}},
				CaptureContentTypeHeader: &smtypes.CaptureContentTypeHeader{
					CsvContentTypes: []string{"text/csv"}, JsonContentTypes: []string{"application/json"},
				},
			},
		})
		require.NoError(t, err)
	}

	const endpoint = "churn"
	invoke := func(t *testing.T, body string) (*sagemakerruntime.InvokeEndpointOutput, error) {
		t.Helper()
		return h.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String(endpoint), ContentType: aws.String("text/csv"), Accept: aws.String("text/csv"),
			Body: []byte(body), InferenceId: aws.String("inf-1"),
		})
	}

	t.Run("endpoint goes Creating then InService", func(t *testing.T) {
		createConfig(t, "model-1", "config-1")
		_, err := h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(endpoint), EndpointConfigName: aws.String("config-1")})
		require.NoError(t, err)
		_, err = invoke(t, "1,2,3,0")
		requireAPIError(t, err, "ValidationError", "Endpoint churn of account 123456789012 not found.")
		d, seen := h.waitEndpoint(t, endpoint, func(d *sagemaker.DescribeEndpointOutput) bool {
			return d.EndpointStatus != smtypes.EndpointStatusCreating
		})
		require.Equal(t, smtypes.EndpointStatusInService, d.EndpointStatus, "failure: %s", aws.ToString(d.FailureReason))
		assert.Equal(t, []smtypes.EndpointStatus{smtypes.EndpointStatusCreating, smtypes.EndpointStatusInService}, seen)
		assert.Equal(t, "config-1", aws.ToString(d.EndpointConfigName))
		require.Len(t, d.ProductionVariants, 1)
		assert.Equal(t, "AllTraffic", aws.ToString(d.ProductionVariants[0].VariantName))
		require.NotNil(t, d.DataCaptureConfig)
		assert.Equal(t, smtypes.CaptureStatusStarted, d.DataCaptureConfig.CaptureStatus)
	})

	rows := churnRows(300, 3)
	t.Run("predictions are real and follow the data's decision rule", func(t *testing.T) {
		var body strings.Builder
		for _, r := range rows {
			body.WriteString(r.features() + "\n")
		}
		out, err := invoke(t, body.String())
		require.NoError(t, err)
		assert.Equal(t, "AllTraffic", aws.ToString(out.InvokedProductionVariant))
		assert.Equal(t, "text/csv; charset=utf-8", aws.ToString(out.ContentType))
		// The built-in algorithm answers one probability per row, joined
		// by commas.
		fields := strings.Split(string(out.Body), ",")
		require.Len(t, fields, len(rows))
		agree := 0
		for i, f := range fields {
			p, err := strconv.ParseFloat(f, 64)
			require.NoError(t, err)
			require.True(t, p >= 0 && p <= 1, "probability %v", p)
			if (p > 0.5) == (rows[i].bayes == 1) {
				agree++
			}
		}
		assert.Greater(t, float64(agree)/float64(len(rows)), 0.85, "agreement with the true decision rule")
	})

	t.Run("runtime errors", func(t *testing.T) {
		tests := []struct {
			name        string
			endpoint    string
			variant     string
			contentType string
			body        string
			code        string
			status      int32
			msg         string
		}{
			{name: "malformed CSV is the model's 415", endpoint: endpoint, contentType: "text/csv", body: "abc,1,2,3", code: "ModelError", status: 415, msg: "Loading csv data failed"},
			{name: "JSON is not accepted by built-in XGBoost", endpoint: endpoint, contentType: "application/json", body: "[[1,2,3,4]]", code: "ModelError", status: 415, msg: "application/json is not an accepted ContentType: csv, libsvm"},
			{name: "wrong feature count is the model's 400", endpoint: endpoint, contentType: "text/csv", body: "1,2,3", code: "ModelError", status: 400, msg: "Feature size of csv inference data 3 is not consistent"},
			{name: "unknown endpoint", endpoint: "nope", contentType: "text/csv", body: "1,2,3,4", code: "ValidationError", msg: "Endpoint nope of account 123456789012 not found."},
			{name: "unknown variant", endpoint: endpoint, variant: "Blue", contentType: "text/csv", body: "1,2,3,4", code: "ValidationError", msg: "Variant Blue not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(tt.endpoint), ContentType: aws.String(tt.contentType), Body: []byte(tt.body)}
				if tt.variant != "" {
					in.TargetVariant = aws.String(tt.variant)
				}
				_, err := h.rt.InvokeEndpoint(ctx, in)
				requireAPIError(t, err, tt.code, tt.msg)
				if tt.code == "ModelError" {
					var me *rttypes.ModelError
					require.True(t, errors.As(err, &me))
					assert.Equal(t, tt.status, aws.ToInt32(me.OriginalStatusCode))
					assert.Contains(t, aws.ToString(me.OriginalMessage), tt.msg)
					assert.Contains(t, aws.ToString(me.LogStreamArn), "/aws/sagemaker/Endpoints/churn")
					assert.Regexp(t, `^Received client error \(\d{3}\) from primary with message ".+"\. See https://us-east-1\.console\.aws\.amazon\.com/cloudwatch/home\?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/churn in account 123456789012 for more information\.$`, me.ErrorMessage())
				}
			})
		}
		t.Run("target variant", func(t *testing.T) {
			out, err := h.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), ContentType: aws.String("text/csv"), TargetVariant: aws.String("AllTraffic"), Body: []byte("1,2,3,4")})
			require.NoError(t, err)
			assert.Equal(t, "AllTraffic", aws.ToString(out.InvokedProductionVariant))
		})
	})

	t.Run("data capture is SageMaker's JSON Lines, readable by shared/drift", func(t *testing.T) {
		require.NoError(t, h.svc.Flush(ctx))
		keys := h.list(t, "capture/")
		require.NotEmpty(t, keys)
		layout := regexp.MustCompile(`^capture/churn/AllTraffic/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$`)
		var lines [][]byte
		for _, k := range keys {
			assert.Regexp(t, layout, k)
			sc := bufio.NewScanner(bytes.NewReader(h.get(t, k)))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				lines = append(lines, append([]byte(nil), sc.Bytes()...))
			}
		}
		// Only successful invocations are captured: the big batch and
		// the target-variant call.
		require.Len(t, lines, 2)
		csv, err := drift.ParseCaptureLine(lines[0])
		require.NoError(t, err)
		assert.Equal(t, rows[0].features(), strings.SplitN(csv, "\n", 2)[0])
		var rec drift.CaptureRecord
		require.NoError(t, json.Unmarshal(lines[0], &rec))
		assert.Equal(t, "0", rec.EventVersion)
		assert.Equal(t, "inf-1", rec.EventMetadata.InferenceID)
		assert.NotEmpty(t, rec.EventMetadata.EventID)
		_, err = time.Parse(time.RFC3339, rec.EventMetadata.InferenceTime)
		assert.NoError(t, err)
		require.NotNil(t, rec.CaptureData.EndpointOutput)
		assert.Equal(t, "OUTPUT", rec.CaptureData.EndpointOutput.Mode)
		assert.Equal(t, "CSV", rec.CaptureData.EndpointOutput.Encoding)
		assert.Equal(t, "text/csv; charset=utf-8", rec.CaptureData.EndpointOutput.ObservedContentType)
		assert.Equal(t, "INPUT", rec.CaptureData.EndpointInput.Mode)
		assert.Equal(t, "text/csv", rec.CaptureData.EndpointInput.ObservedContentType)
		require.NoError(t, h.svc.Flush(ctx))
		assert.Len(t, h.list(t, "capture/"), len(keys), "a flush with nothing buffered writes nothing")
	})

	t.Run("two variants share the traffic by weight", func(t *testing.T) {
		_, err := h.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("config-ab"),
			ProductionVariants: []smtypes.ProductionVariant{
				{VariantName: aws.String("A"), ModelName: aws.String("model-1"), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1), InitialVariantWeight: aws.Float32(3)},
				{VariantName: aws.String("B"), ModelName: aws.String("model-1"), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1), InitialVariantWeight: aws.Float32(1)},
			},
		})
		require.NoError(t, err)
		_, err = h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("churn-ab"), EndpointConfigName: aws.String("config-ab")})
		require.NoError(t, err)
		d, _ := h.waitEndpoint(t, "churn-ab", func(d *sagemaker.DescribeEndpointOutput) bool {
			return d.EndpointStatus != smtypes.EndpointStatusCreating
		})
		require.Equal(t, smtypes.EndpointStatusInService, d.EndpointStatus, "failure: %s", aws.ToString(d.FailureReason))
		require.Len(t, d.ProductionVariants, 2)
		assert.Nil(t, d.DataCaptureConfig)
		counts := map[string]int{}
		for range 60 {
			out, err := h.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("churn-ab"), ContentType: aws.String("text/csv"), Body: []byte("10,70,1,0")})
			require.NoError(t, err)
			counts[aws.ToString(out.InvokedProductionVariant)]++
		}
		assert.Positive(t, counts["B"])
		assert.Greater(t, counts["A"], counts["B"], "weight 3 against 1: %v", counts)
		for range 5 {
			out, err := h.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("churn-ab"), ContentType: aws.String("text/csv"), TargetVariant: aws.String("B"), Body: []byte("10,70,1,0")})
			require.NoError(t, err)
			assert.Equal(t, "B", aws.ToString(out.InvokedProductionVariant))
		}
		_, err = h.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("churn-ab")})
		require.NoError(t, err)
		require.NoError(t, h.svc.Flush(ctx))
		for _, k := range h.list(t, "capture/") {
			assert.NotContains(t, k, "churn-ab", "no capture without a DataCaptureConfig")
		}
	})

	update := func(t *testing.T, config string, alarms ...string) {
		t.Helper()
		in := &sagemaker.UpdateEndpointInput{
			EndpointName: aws.String(endpoint), EndpointConfigName: aws.String(config),
			DeploymentConfig: &smtypes.DeploymentConfig{
				BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
					TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: smtypes.TrafficRoutingConfigTypeAllAtOnce, WaitIntervalInSeconds: aws.Int32(0)},
					TerminationWaitInSeconds:    aws.Int32(0),
				},
			},
		}
		if len(alarms) > 0 {
			var as []smtypes.Alarm
			for _, a := range alarms {
				as = append(as, smtypes.Alarm{AlarmName: aws.String(a)})
			}
			in.DeploymentConfig.AutoRollbackConfiguration = &smtypes.AutoRollbackConfig{Alarms: as}
		}
		_, err := h.sm.UpdateEndpoint(ctx, in)
		require.NoError(t, err)
	}
	notUpdating := func(d *sagemaker.DescribeEndpointOutput) bool {
		return d.EndpointStatus != smtypes.EndpointStatusUpdating && d.EndpointStatus != smtypes.EndpointStatusRollingBack
	}

	t.Run("blue/green update switches once the new fleet is ready", func(t *testing.T) {
		h.alarms.set("churn-errors", "OK")
		createConfig(t, "model-2", "config-2")
		update(t, "config-2", "churn-errors")
		d, err := h.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(endpoint)})
		require.NoError(t, err)
		require.Equal(t, smtypes.EndpointStatusUpdating, d.EndpointStatus)
		require.NotNil(t, d.PendingDeploymentSummary)
		assert.Equal(t, "config-2", aws.ToString(d.PendingDeploymentSummary.EndpointConfigName))
		// The old fleet keeps serving while the new one starts.
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)
		_, err = h.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String(endpoint), EndpointConfigName: aws.String("config-1")})
		requireAPIError(t, err, "ValidationException", "Cannot update in-progress endpoint")

		d, _ = h.waitEndpoint(t, endpoint, notUpdating)
		assert.Equal(t, smtypes.EndpointStatusInService, d.EndpointStatus)
		assert.Equal(t, "config-2", aws.ToString(d.EndpointConfigName))
		assert.Empty(t, aws.ToString(d.FailureReason))
		assert.Nil(t, d.PendingDeploymentSummary)
		require.NotNil(t, d.LastDeploymentConfig)
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)
		h.alarms.mu.Lock()
		assert.Positive(t, h.alarms.reads["churn-errors"], "the rollback alarm was watched")
		h.alarms.mu.Unlock()
	})

	t.Run("an alarm in ALARM during the deployment rolls it back", func(t *testing.T) {
		h.alarms.set("churn-errors", "ALARM")
		createConfig(t, "model-3", "config-3")
		update(t, "config-3", "churn-errors")
		d, seen := h.waitEndpoint(t, endpoint, notUpdating)
		assert.Contains(t, seen, smtypes.EndpointStatusRollingBack)
		assert.Equal(t, smtypes.EndpointStatusInService, d.EndpointStatus)
		assert.Equal(t, "config-2", aws.ToString(d.EndpointConfigName))
		assert.Contains(t, aws.ToString(d.FailureReason), `alarm "churn-errors" went into ALARM state`)
		_, err := invoke(t, "10,70,1,0")
		require.NoError(t, err, "the old configuration still serves")
	})

	t.Run("an alarm firing while the new fleet bakes moves the traffic back", func(t *testing.T) {
		h.alarms.set("churn-errors", "OK")
		createConfig(t, "model-4", "config-4")
		_, err := h.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{
			EndpointName: aws.String(endpoint), EndpointConfigName: aws.String("config-4"),
			DeploymentConfig: &smtypes.DeploymentConfig{
				BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
					TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{Type: smtypes.TrafficRoutingConfigTypeAllAtOnce, WaitIntervalInSeconds: aws.Int32(600)},
				},
				AutoRollbackConfiguration: &smtypes.AutoRollbackConfig{Alarms: []smtypes.Alarm{{AlarmName: aws.String("churn-errors")}}},
			},
		})
		require.NoError(t, err)
		servingConfig := func() string {
			h.svc.mu.Lock()
			defer h.svc.mu.Unlock()
			return h.svc.endpoints[endpoint].serving.spec.ConfigName
		}
		require.Eventually(t, func() bool { return servingConfig() == "config-4" }, 30*time.Second, 10*time.Millisecond, "the new fleet takes the traffic once ready")
		d, err := h.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(endpoint)})
		require.NoError(t, err)
		assert.Equal(t, smtypes.EndpointStatusUpdating, d.EndpointStatus, "still baking")
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)

		h.alarms.set("churn-errors", "ALARM")
		d, seen := h.waitEndpoint(t, endpoint, notUpdating)
		require.GreaterOrEqual(t, len(seen), 2)
		assert.Equal(t, []smtypes.EndpointStatus{smtypes.EndpointStatusRollingBack, smtypes.EndpointStatusInService}, seen[len(seen)-2:])
		assert.Equal(t, "config-2", aws.ToString(d.EndpointConfigName))
		assert.Equal(t, "config-2", servingConfig())
		assert.Contains(t, aws.ToString(d.FailureReason), `"config-4" was rolled back`)
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)
	})

	t.Run("an update whose model cannot load keeps the old configuration", func(t *testing.T) {
		_, err := h.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
			ModelName:        aws.String("model-broken"),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(h.image), ModelDataUrl: aws.String("s3://artifacts/models/none/model.tar.gz")},
			ExecutionRoleArn: aws.String(testRole),
		})
		require.NoError(t, err)
		_, err = h.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String("config-broken"),
			ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String("model-broken"), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1)}},
		})
		require.NoError(t, err)
		update(t, "config-broken")
		d, _ := h.waitEndpoint(t, endpoint, notUpdating)
		assert.Equal(t, smtypes.EndpointStatusInService, d.EndpointStatus)
		assert.Equal(t, "config-2", aws.ToString(d.EndpointConfigName))
		assert.Contains(t, aws.ToString(d.FailureReason), `Failed to update endpoint to configuration "config-broken"`)
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)
		list, err := h.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{})
		require.NoError(t, err)
		require.Len(t, list.Endpoints, 1)
		assert.Equal(t, smtypes.EndpointStatusInService, list.Endpoints[0].EndpointStatus)
	})

	t.Run("restart keeps the records and brings the endpoint back", func(t *testing.T) {
		servers := h.serverPIDs()
		require.NotEmpty(t, servers)
		require.NoError(t, h.svc.Close())
		for _, pid := range servers {
			assert.False(t, processAlive(pid), "model server %d outlived Close", pid)
		}
		svc, err := New(h.opts)
		require.NoError(t, err)
		h.use(svc)
		d := h.waitJob(t, job)
		assert.Equal(t, smtypes.TrainingJobStatusCompleted, d.TrainingJobStatus)
		ep, _ := h.waitEndpoint(t, endpoint, func(d *sagemaker.DescribeEndpointOutput) bool {
			return d.EndpointStatus != smtypes.EndpointStatusCreating
		})
		assert.Equal(t, smtypes.EndpointStatusInService, ep.EndpointStatus)
		assert.Equal(t, "config-2", aws.ToString(ep.EndpointConfigName))
		_, err = invoke(t, "10,70,1,0")
		require.NoError(t, err)
	})

	t.Run("a model server that died answers ModelError", func(t *testing.T) {
		h.svc.mu.Lock()
		srv := h.svc.endpoints[endpoint].serving.servers["AllTraffic"]
		h.svc.mu.Unlock()
		require.NoError(t, srv.cmd.Process.Kill())
		<-srv.exited
		_, err := invoke(t, "10,70,1,0")
		requireAPIError(t, err, "ModelError", "the model server is not running")
		var me *rttypes.ModelError
		require.True(t, errors.As(err, &me))
		assert.Equal(t, int32(500), aws.ToInt32(me.OriginalStatusCode))
	})

	t.Run("delete stops the model servers", func(t *testing.T) {
		servers := h.serverPIDs()
		require.NotEmpty(t, servers)
		_, err := h.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String(endpoint)})
		require.NoError(t, err)
		for _, pid := range servers {
			assert.False(t, processAlive(pid), "model server %d still runs", pid)
		}
		_, err = h.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(endpoint)})
		requireAPIError(t, err, "ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn"`)
		_, err = invoke(t, "1,2,3,4")
		requireAPIError(t, err, "ValidationError", "not found")
	})
}

// serverPIDs lists the model server processes of every endpoint.
func (h *harness) serverPIDs() []int {
	h.svc.mu.Lock()
	defer h.svc.mu.Unlock()
	var pids []int
	for _, ep := range h.svc.endpoints {
		for _, f := range []*fleet{ep.serving, ep.pending, ep.retiring} {
			if f == nil {
				continue
			}
			for _, srv := range f.servers {
				pids = append(pids, srv.cmd.Process.Pid)
			}
		}
	}
	return pids
}

// processAlive reports whether pid runs (a zombie counts as gone).
func processAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

func untar(t *testing.T, data []byte, dir string) []string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		f, err := os.Create(filepath.Join(dir, filepath.Base(hdr.Name)))
		require.NoError(t, err)
		_, err = io.Copy(f, tr)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
}
