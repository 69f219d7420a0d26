// Package main is the train Lambda: the pipeline's Task that launches the
// SageMaker training job of an execution on its prepared data, and reports
// the job's progress, model artefact and objective metric — next to the same
// metric of the model serving now — to the state machine's quality gate.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/images"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
	"github.com/gomlops/mlops/shared/registry"
)

// CreateTrainingJobAPI is the SageMaker operation that launches a job.
type CreateTrainingJobAPI interface {
	CreateTrainingJob(ctx context.Context, params *sagemaker.CreateTrainingJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateTrainingJobOutput, error)
}

// DescribeTrainingJobAPI is the SageMaker operation that reads a job.
type DescribeTrainingJobAPI interface {
	DescribeTrainingJob(ctx context.Context, params *sagemaker.DescribeTrainingJobInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeTrainingJobOutput, error)
}

// GetObjectAPI is the S3 operation that reads the live-model registry record.
type GetObjectAPI interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// DefaultHyperparameters train a binary classifier with built-in XGBoost.
// HYPERPARAMETERS overrides them key by key.
var DefaultHyperparameters = map[string]string{
	"objective":   "binary:logistic",
	"eval_metric": "error",
	"num_round":   "100",
	"max_depth":   "4",
}

// Config is train's configuration.
type Config struct {
	ArtifactsBucket string
	RoleARN         string
	KMSKeyARN       string
	EndpointName    string
	TrainingImage   string
	InstanceType    string
	InstanceCount   int32
	VolumeGB        int32
	MaxRuntime      int32 // seconds
	UseSpot         bool
	MaxWait         int32 // seconds, with spot training
	Hyperparameters map[string]string
	ObjectiveMetric string
}

// LoadConfig reads Config. region is the function's AWS region, used for the
// default built-in XGBoost image when TRAINING_IMAGE is unset.
func LoadConfig(r *config.Reader, region string) (Config, error) {
	c := Config{
		ArtifactsBucket: r.String("ARTIFACTS_BUCKET"),
		RoleARN:         r.String("SAGEMAKER_ROLE_ARN"),
		KMSKeyARN:       r.String("KMS_KEY_ARN"),
		EndpointName:    r.String("ENDPOINT_NAME"),
		TrainingImage:   r.StringOr("TRAINING_IMAGE", ""),
		InstanceType:    r.StringOr("TRAINING_INSTANCE_TYPE", "ml.m5.large"),
		InstanceCount:   int32(r.Int64Or("TRAINING_INSTANCE_COUNT", 1, 1, 100)),
		VolumeGB:        int32(r.Int64Or("TRAINING_VOLUME_GB", 10, 1, 16384)),
		MaxRuntime:      int32(r.Int64Or("MAX_RUNTIME_SECONDS", 3600, 1, 28*24*3600)),
		UseSpot:         r.BoolOr("USE_SPOT_TRAINING", false),
		MaxWait:         int32(r.Int64Or("MAX_WAIT_SECONDS", 7200, 1, 28*24*3600)),
		ObjectiveMetric: r.StringOr("OBJECTIVE_METRIC", "validation:error"),
	}
	var errs []error
	if err := r.Err(); err != nil {
		errs = append(errs, err)
	}
	if c.TrainingImage == "" {
		img, err := images.XGBoost(region)
		if err != nil {
			errs = append(errs, fmt.Errorf("TRAINING_IMAGE: unset and no default: %w", err))
		}
		c.TrainingImage = img
	}
	hp, err := parseHyperparameters(r.StringOr("HYPERPARAMETERS", ""))
	if err != nil {
		errs = append(errs, err)
	}
	c.Hyperparameters = hp
	if c.UseSpot && c.MaxWait < c.MaxRuntime {
		errs = append(errs, fmt.Errorf("MAX_WAIT_SECONDS: %d must be at least MAX_RUNTIME_SECONDS (%d) with spot training", c.MaxWait, c.MaxRuntime))
	}
	return c, errors.Join(errs...)
}

// parseHyperparameters merges a JSON object of strings over the defaults.
func parseHyperparameters(s string) (map[string]string, error) {
	hp := make(map[string]string, len(DefaultHyperparameters))
	for k, v := range DefaultHyperparameters {
		hp[k] = v
	}
	if s == "" {
		return hp, nil
	}
	var override map[string]string
	if err := json.Unmarshal([]byte(s), &override); err != nil {
		return nil, fmt.Errorf("HYPERPARAMETERS: want a JSON object of string values like {\"num_round\":\"50\"}: %w", err)
	}
	for k, v := range override {
		hp[k] = v
	}
	return hp, nil
}

// Handler launches and reports on training jobs.
type Handler struct {
	Creator   CreateTrainingJobAPI
	Describer DescribeTrainingJobAPI
	Registry  GetObjectAPI
	Config    Config
	Log       *slog.Logger
	Metrics   *metrics.Emitter
}

// Metrics train emits when a job ends.
const (
	// MetricJobs counts finished training jobs by Outcome (succeeded, failed).
	MetricJobs = "TrainingJobs"
	// MetricObjective is a completed job's objective metric, by ObjectiveMetric.
	MetricObjective = "ModelObjective"
)

// Handle runs one request from the state machine. Failures are returned as
// faults.ForTask errors, named TransientError or PermanentError.
func (h *Handler) Handle(ctx context.Context, req pipeline.TrainRequest) (any, error) {
	var (
		out any
		err error
	)
	switch req.Action {
	case pipeline.ActionStart:
		out, err = h.Start(ctx, req)
	case pipeline.ActionStatus:
		var st pipeline.TrainStatus
		st, err = h.Status(ctx, req)
		if err == nil && st.State != pipeline.StateRunning {
			h.emitOutcome(ctx, st)
		}
		out = st
	default:
		err = faults.Invalidf("train: unknown action %q (want %q or %q)", req.Action, pipeline.ActionStart, pipeline.ActionStatus)
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "train failed", "action", req.Action, "execution", req.ExecutionName,
			"kind", faults.KindOf(err).String(), "error", err)
		return nil, faults.ForTask(err)
	}
	return out, nil
}

// emitOutcome records a finished job; a metric that cannot be written is
// logged, never allowed to fail the Task.
func (h *Handler) emitOutcome(ctx context.Context, st pipeline.TrainStatus) {
	fn := metrics.Dimension{Name: "Function", Value: "train"}
	err := h.Metrics.Emit([]metrics.Dimension{fn, {Name: "Outcome", Value: strings.ToLower(string(st.State))}},
		map[string]string{"detail": st.Detail}, metrics.Metric{Name: MetricJobs, Unit: metrics.Count, Value: 1})
	if err == nil && st.Metric != nil {
		err = h.Metrics.Emit([]metrics.Dimension{fn, {Name: "ObjectiveMetric", Value: st.Metric.Name}}, nil,
			metrics.Metric{Name: MetricObjective, Unit: metrics.None, Value: st.Metric.Value})
	}
	if err != nil {
		h.Log.WarnContext(ctx, "emit metric", "error", err)
	}
}

// Start launches the execution's training job. A retried launch whose job
// already exists (the deterministic name makes SageMaker refuse a second)
// returns that job once DescribeTrainingJob confirms it.
func (h *Handler) Start(ctx context.Context, req pipeline.TrainRequest) (pipeline.TrainResult, error) {
	if err := validateExecution(req.ExecutionName); err != nil {
		return pipeline.TrainResult{}, err
	}
	for _, uri := range []struct{ name, v string }{{"prepared.train", req.Prepared.Train}, {"prepared.validation", req.Prepared.Validation}} {
		if _, _, err := pipeline.ParseS3URI(uri.v); err != nil {
			return pipeline.TrainResult{}, faults.Invalidf("train %s: %s: %v", req.ExecutionName, uri.name, err)
		}
	}
	name := naming.Resource("train", req.ExecutionName)
	_, err := h.Creator.CreateTrainingJob(ctx, h.trainingJob(name, req))
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "training job created", "execution", req.ExecutionName, "trainingJob", name)
	case alreadyExists(err):
		if _, derr := h.describe(ctx, name); derr != nil {
			// SageMaker just said the job exists: a describe that cannot
			// see it yet is worth retrying, whatever its code.
			return pipeline.TrainResult{}, faults.Wrap(faults.Unavailable, fmt.Errorf("training job %q reported as existing: %w", name, derr))
		}
		h.Log.InfoContext(ctx, "training job already exists: retried launch", "execution", req.ExecutionName, "trainingJob", name)
	default:
		return pipeline.TrainResult{}, fmt.Errorf("create training job %q: %w", name, err)
	}
	return pipeline.TrainResult{TrainingJobName: name}, nil
}

// trainingJob builds the CreateTrainingJob request.
func (h *Handler) trainingJob(name string, req pipeline.TrainRequest) *sagemaker.CreateTrainingJobInput {
	c := h.Config
	channel := func(channelName, uri string) smtypes.Channel {
		return smtypes.Channel{
			ChannelName: aws.String(channelName),
			ContentType: aws.String("text/csv"),
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
				S3DataType:             smtypes.S3DataTypeS3Prefix,
				S3Uri:                  aws.String(uri),
				S3DataDistributionType: smtypes.S3DataDistributionFullyReplicated,
			}},
		}
	}
	in := &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(name),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{
			TrainingImage:     aws.String(c.TrainingImage),
			TrainingInputMode: smtypes.TrainingInputModeFile,
		},
		RoleArn:         aws.String(c.RoleARN),
		HyperParameters: c.Hyperparameters,
		InputDataConfig: []smtypes.Channel{channel("train", req.Prepared.Train), channel("validation", req.Prepared.Validation)},
		OutputDataConfig: &smtypes.OutputDataConfig{
			S3OutputPath: aws.String("s3://" + c.ArtifactsBucket + "/models/" + req.ExecutionName + "/"),
			KmsKeyId:     aws.String(c.KMSKeyARN),
		},
		ResourceConfig: &smtypes.ResourceConfig{
			InstanceType:   smtypes.TrainingInstanceType(c.InstanceType),
			InstanceCount:  aws.Int32(c.InstanceCount),
			VolumeSizeInGB: aws.Int32(c.VolumeGB),
			VolumeKmsKeyId: aws.String(c.KMSKeyARN),
		},
		StoppingCondition:                     &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(c.MaxRuntime)},
		EnableNetworkIsolation:                aws.Bool(true),
		EnableInterContainerTrafficEncryption: aws.Bool(true),
		Tags:                                  []smtypes.Tag{{Key: aws.String("execution"), Value: aws.String(req.ExecutionName)}},
	}
	if c.UseSpot {
		in.EnableManagedSpotTraining = aws.Bool(true)
		in.StoppingCondition.MaxWaitTimeInSeconds = aws.Int32(c.MaxWait)
		in.CheckpointConfig = &smtypes.CheckpointConfig{S3Uri: aws.String("s3://" + c.ArtifactsBucket + "/checkpoints/" + req.ExecutionName + "/")}
	}
	return in
}

// alreadyExists reports whether CreateTrainingJob refused a duplicate name
// (ResourceInUse, or SageMaker's ValidationException "... already exists";
// classified by faults).
func alreadyExists(err error) bool {
	return err != nil && faults.KindOf(err) == faults.Conflict
}

func (h *Handler) describe(ctx context.Context, name string) (*sagemaker.DescribeTrainingJobOutput, error) {
	out, err := h.Describer.DescribeTrainingJob(ctx, &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("describe training job %q: %w", name, err)
	}
	return out, nil
}

// Status reports the training job's state; once it completed, its model
// artefact, its objective metric and the live model's, for the quality gate.
func (h *Handler) Status(ctx context.Context, req pipeline.TrainRequest) (pipeline.TrainStatus, error) {
	if err := validateExecution(req.ExecutionName); err != nil {
		return pipeline.TrainStatus{}, err
	}
	name := req.TrainingJobName
	if name == "" {
		return pipeline.TrainStatus{}, faults.Invalidf("train status for %s: trainingJobName is empty", req.ExecutionName)
	}
	job, err := h.describe(ctx, name)
	if err != nil {
		return pipeline.TrainStatus{}, err
	}
	st := pipeline.TrainStatus{Status: pipeline.Status{Detail: string(job.TrainingJobStatus)}}
	if job.SecondaryStatus != "" {
		st.Detail += "/" + string(job.SecondaryStatus)
	}
	switch job.TrainingJobStatus {
	case smtypes.TrainingJobStatusInProgress, smtypes.TrainingJobStatusStopping:
		st.State = pipeline.StateRunning
		return st, nil
	case smtypes.TrainingJobStatusFailed, smtypes.TrainingJobStatusStopped:
		st.State = pipeline.StateFailed
		st.Reason = aws.ToString(job.FailureReason)
		if st.Reason == "" {
			st.Reason = "training job ended in status " + string(job.TrainingJobStatus)
		}
		return st, nil
	case smtypes.TrainingJobStatusCompleted:
	default:
		st.State = pipeline.StateFailed
		st.Reason = fmt.Sprintf("unrecognised training job status %q", job.TrainingJobStatus)
		return st, nil
	}

	if job.ModelArtifacts == nil || aws.ToString(job.ModelArtifacts.S3ModelArtifacts) == "" {
		st.State, st.Reason = pipeline.StateFailed, "training job completed without a model artefact"
		return st, nil
	}
	st.ModelDataURL = aws.ToString(job.ModelArtifacts.S3ModelArtifacts)
	st.Metric = findMetric(job.FinalMetricDataList, h.Config.ObjectiveMetric)
	if st.Metric == nil {
		// The quality gate cannot judge a model without its metric.
		st.State, st.Reason = pipeline.StateFailed, fmt.Sprintf("training job completed but reported no %q metric", h.Config.ObjectiveMetric)
		return st, nil
	}
	live, err := h.liveMetric(ctx)
	if err != nil {
		return pipeline.TrainStatus{}, err
	}
	st.LiveMetric = live
	st.State = pipeline.StateSucceeded
	return st, nil
}

// findMetric returns the named final metric, or nil.
func findMetric(list []smtypes.MetricData, name string) *pipeline.MetricValue {
	for _, m := range list {
		if aws.ToString(m.MetricName) == name && m.Value != nil {
			// SageMaker reports float32: print it at float32 precision so
			// 0.1 stays 0.1 instead of 0.10000000149011612.
			v, err := strconv.ParseFloat(strconv.FormatFloat(float64(*m.Value), 'g', -1, 32), 64)
			if err != nil {
				return nil
			}
			return &pipeline.MetricValue{Name: name, Value: v}
		}
	}
	return nil
}

// liveMetric reads the objective metric of the model serving on the
// endpoint from its registry record; nil when no model is live yet, or when
// the live model was judged on another metric (not comparable).
func (h *Handler) liveMetric(ctx context.Context) (*pipeline.MetricValue, error) {
	live, err := registry.Read(ctx, h.Registry, h.Config.ArtifactsBucket, h.Config.EndpointName)
	if err != nil {
		return nil, err
	}
	uri := "s3://" + h.Config.ArtifactsBucket + "/" + pipeline.RegistryKey(h.Config.EndpointName)
	if live == nil {
		h.Log.InfoContext(ctx, "no live model yet", "registry", uri)
		return nil, nil
	}
	if live.Metric == nil || live.Metric.Name != h.Config.ObjectiveMetric {
		h.Log.WarnContext(ctx, "live model has no comparable metric", "registry", uri, "want", h.Config.ObjectiveMetric, "live", live.Metric)
		return nil, nil
	}
	return live.Metric, nil
}

func validateExecution(name string) error {
	if name == "" || len(name) > naming.MaxExecutionName {
		return faults.Invalidf("executionName %q must have 1 to %d characters", name, naming.MaxExecutionName)
	}
	return nil
}
