// Package main is the deploy Lambda: the pipeline's Task that puts a trained
// model behind the SageMaker endpoint — a new endpoint on the first
// deployment, a blue/green update with alarm-driven auto-rollback after
// that — and, once the endpoint serves the new configuration, records the
// live model in the registry that monitoring and remediation read.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

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

// CreateModelAPI is the SageMaker operation that registers a model.
type CreateModelAPI interface {
	CreateModel(ctx context.Context, params *sagemaker.CreateModelInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateModelOutput, error)
}

// CreateEndpointConfigAPI is the SageMaker operation that creates an
// endpoint configuration.
type CreateEndpointConfigAPI interface {
	CreateEndpointConfig(ctx context.Context, params *sagemaker.CreateEndpointConfigInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateEndpointConfigOutput, error)
}

// DescribeEndpointAPI is the SageMaker operation that reads the endpoint.
type DescribeEndpointAPI interface {
	DescribeEndpoint(ctx context.Context, params *sagemaker.DescribeEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeEndpointOutput, error)
}

// CreateEndpointAPI is the SageMaker operation that creates the endpoint.
type CreateEndpointAPI interface {
	CreateEndpoint(ctx context.Context, params *sagemaker.CreateEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateEndpointOutput, error)
}

// UpdateEndpointAPI is the SageMaker operation that deploys a new
// configuration to the endpoint.
type UpdateEndpointAPI interface {
	UpdateEndpoint(ctx context.Context, params *sagemaker.UpdateEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateEndpointOutput, error)
}

// PutObjectAPI is the S3 operation that writes the registry record.
type PutObjectAPI interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// GetObjectAPI is the S3 operation that reads the registry record.
type GetObjectAPI interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Deployment modes.
const (
	ModeCreate = "create"
	ModeUpdate = "update"
)

// VariantName is the endpoint's only production variant.
const VariantName = "AllTraffic"

// Blue/green settings: after shifting all traffic at once, SageMaker bakes
// for BakeSeconds while watching the rollback alarms, then terminates the old
// fleet after TerminationWaitSeconds.
const (
	BakeSeconds            = 300
	TerminationWaitSeconds = 0
	maxRollbackAlarms      = 10
)

// Config is deploy's configuration.
type Config struct {
	EndpointName           string
	RoleARN                string
	KMSKeyARN              string
	ArtifactsBucket        string
	InferenceImage         string
	InstanceType           string
	InstanceCount          int32
	CaptureSamplingPercent int32
	RollbackAlarmNames     []string
}

// LoadConfig reads Config. region is the function's AWS region, used for the
// default built-in XGBoost image when INFERENCE_IMAGE is unset.
func LoadConfig(r *config.Reader, region string) (Config, error) {
	c := Config{
		EndpointName:           r.String("ENDPOINT_NAME"),
		RoleARN:                r.String("SAGEMAKER_ROLE_ARN"),
		KMSKeyARN:              r.String("KMS_KEY_ARN"),
		ArtifactsBucket:        r.String("ARTIFACTS_BUCKET"),
		InferenceImage:         r.StringOr("INFERENCE_IMAGE", ""),
		InstanceType:           r.StringOr("INFERENCE_INSTANCE_TYPE", "ml.m5.large"),
		InstanceCount:          int32(r.Int64Or("INFERENCE_INSTANCE_COUNT", 1, 1, 100)),
		CaptureSamplingPercent: int32(r.Int64Or("CAPTURE_SAMPLING_PERCENT", 100, 0, 100)),
		RollbackAlarmNames:     r.List("ROLLBACK_ALARM_NAMES"),
	}
	var errs []error
	if err := r.Err(); err != nil {
		errs = append(errs, err)
	}
	if c.InferenceImage == "" {
		img, err := images.XGBoost(region)
		if err != nil {
			errs = append(errs, fmt.Errorf("INFERENCE_IMAGE: unset and no default: %w", err))
		}
		c.InferenceImage = img
	}
	if len(c.RollbackAlarmNames) > maxRollbackAlarms {
		errs = append(errs, fmt.Errorf("ROLLBACK_ALARM_NAMES: %d alarms, SageMaker accepts at most %d", len(c.RollbackAlarmNames), maxRollbackAlarms))
	}
	return c, errors.Join(errs...)
}

// Handler deploys models and records the live one.
type Handler struct {
	Models    CreateModelAPI
	Configs   CreateEndpointConfigAPI
	Describer DescribeEndpointAPI
	Creator   CreateEndpointAPI
	Updater   UpdateEndpointAPI
	Writer    PutObjectAPI
	Reader    GetObjectAPI
	Config    Config
	Log       *slog.Logger
	Metrics   *metrics.Emitter
	Now       func() time.Time
}

// MetricDeployments counts finished deployments by Outcome (succeeded,
// rolled-back, failed).
const MetricDeployments = "Deployments"

// Handle runs one request from the state machine. Failures are returned as
// faults.ForTask errors, named TransientError or PermanentError.
func (h *Handler) Handle(ctx context.Context, req pipeline.DeployRequest) (any, error) {
	var (
		out any
		err error
	)
	switch req.Action {
	case pipeline.ActionStart:
		out, err = h.Start(ctx, req)
	case pipeline.ActionStatus:
		var st pipeline.Status
		st, err = h.Status(ctx, req)
		if err == nil && st.State != pipeline.StateRunning {
			h.emitOutcome(ctx, st)
		}
		out = st
	default:
		err = faults.Invalidf("deploy: unknown action %q (want %q or %q)", req.Action, pipeline.ActionStart, pipeline.ActionStatus)
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "deploy failed", "action", req.Action, "execution", req.ExecutionName,
			"kind", faults.KindOf(err).String(), "error", err)
		return nil, faults.ForTask(err)
	}
	return out, nil
}

// emitOutcome counts a finished deployment; a metric that cannot be written
// is logged, never allowed to fail the Task.
func (h *Handler) emitOutcome(ctx context.Context, st pipeline.Status) {
	outcome := strings.ToLower(string(st.State))
	if strings.HasPrefix(st.Reason, reasonRolledBack) {
		outcome = "rolled-back"
	}
	dims := []metrics.Dimension{{Name: "Function", Value: "deploy"}, {Name: "EndpointName", Value: h.Config.EndpointName}, {Name: "Outcome", Value: outcome}}
	if err := h.Metrics.Emit(dims, map[string]string{"detail": st.Detail}, metrics.Metric{Name: MetricDeployments, Unit: metrics.Count, Value: 1}); err != nil {
		h.Log.WarnContext(ctx, "emit metric", "metric", MetricDeployments, "error", err)
	}
}

// reasonRolledBack starts the reason of a deployment SageMaker rolled back.
const reasonRolledBack = "deployment rolled back"

// errBusy is the endpoint being changed by someone else; the state machine
// retries the Task later rather than queueing a second update.
func errBusy(endpoint string, status smtypes.EndpointStatus, config string) error {
	return faults.Wrap(faults.Throttled, fmt.Errorf("endpoint is already being updated: %q is %s with configuration %q", endpoint, status, config))
}

// Start creates the model and the endpoint configuration, then creates the
// endpoint or starts a blue/green update of it. Every step is idempotent:
// Step Functions may run Start again after a timeout.
func (h *Handler) Start(ctx context.Context, req pipeline.DeployRequest) (pipeline.Deployment, error) {
	if err := validate(req); err != nil {
		return pipeline.Deployment{}, err
	}
	d := pipeline.Deployment{
		EndpointName:       h.Config.EndpointName,
		ModelName:          naming.Resource("model", req.ExecutionName),
		EndpointConfigName: naming.Resource("config", req.ExecutionName),
	}
	if err := h.createModel(ctx, d.ModelName, req); err != nil {
		return pipeline.Deployment{}, err
	}
	if err := h.createEndpointConfig(ctx, d, req.ExecutionName); err != nil {
		return pipeline.Deployment{}, err
	}

	ep, err := h.Describer.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(d.EndpointName)})
	if endpointNotFound(err) {
		return h.createEndpoint(ctx, d, req.ExecutionName)
	}
	if err != nil {
		return pipeline.Deployment{}, fmt.Errorf("describe endpoint %q: %w", d.EndpointName, err)
	}
	current := aws.ToString(ep.EndpointConfigName)
	pending := ""
	if ep.PendingDeploymentSummary != nil {
		pending = aws.ToString(ep.PendingDeploymentSummary.EndpointConfigName)
	}
	switch {
	case current == d.EndpointConfigName && ep.EndpointStatus == smtypes.EndpointStatusCreating:
		d.Mode = ModeCreate
		h.Log.InfoContext(ctx, "endpoint already being created with this configuration", "endpoint", d.EndpointName, "config", current)
		return d, nil
	case current == d.EndpointConfigName:
		// A retried start after the deployment went through: the registry
		// says what was live before.
		if err := h.recoverPrevious(ctx, &d); err != nil {
			return pipeline.Deployment{}, err
		}
		h.Log.InfoContext(ctx, "endpoint already on this configuration", "endpoint", d.EndpointName, "config", current, "status", ep.EndpointStatus)
		return d, nil
	case pending == d.EndpointConfigName:
		d.Mode, d.PreviousEndpointConfigName = ModeUpdate, current
		h.Log.InfoContext(ctx, "endpoint already being updated to this configuration", "endpoint", d.EndpointName, "config", pending)
		return d, nil
	case ep.EndpointStatus == smtypes.EndpointStatusInService:
		return h.updateEndpoint(ctx, d, current)
	case ep.EndpointStatus == smtypes.EndpointStatusFailed, ep.EndpointStatus == smtypes.EndpointStatusUpdateRollbackFailed:
		return pipeline.Deployment{}, faults.Invalidf("endpoint %q is %s (%s) and cannot be updated; repair or delete it",
			d.EndpointName, ep.EndpointStatus, aws.ToString(ep.FailureReason))
	default:
		return pipeline.Deployment{}, errBusy(d.EndpointName, ep.EndpointStatus, current)
	}
}

func (h *Handler) createModel(ctx context.Context, name string, req pipeline.DeployRequest) error {
	_, err := h.Models.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String(name),
		PrimaryContainer: &smtypes.ContainerDefinition{
			Image:        aws.String(h.Config.InferenceImage),
			ModelDataUrl: aws.String(req.ModelDataURL),
		},
		ExecutionRoleArn:       aws.String(h.Config.RoleARN),
		EnableNetworkIsolation: aws.Bool(true),
		Tags:                   tags(req.ExecutionName),
	})
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "model created", "model", name, "modelData", req.ModelDataURL)
	case alreadyExists(err):
		h.Log.InfoContext(ctx, "model already exists", "model", name)
	default:
		return fmt.Errorf("create model %q: %w", name, err)
	}
	return nil
}

func (h *Handler) createEndpointConfig(ctx context.Context, d pipeline.Deployment, execution string) error {
	c := h.Config
	_, err := h.Configs.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String(d.EndpointConfigName),
		ProductionVariants: []smtypes.ProductionVariant{{
			VariantName:          aws.String(VariantName),
			ModelName:            aws.String(d.ModelName),
			InstanceType:         smtypes.ProductionVariantInstanceType(c.InstanceType),
			InitialInstanceCount: aws.Int32(c.InstanceCount),
			InitialVariantWeight: aws.Float32(1),
		}},
		KmsKeyId: aws.String(c.KMSKeyARN),
		DataCaptureConfig: &smtypes.DataCaptureConfig{
			EnableCapture:             aws.Bool(true),
			InitialSamplingPercentage: aws.Int32(c.CaptureSamplingPercent),
			DestinationS3Uri:          aws.String("s3://" + c.ArtifactsBucket + "/capture"),
			KmsKeyId:                  aws.String(c.KMSKeyARN),
			CaptureOptions: []smtypes.CaptureOption{
				{CaptureMode: smtypes.CaptureModeInput},
				{CaptureMode: smtypes.CaptureModeOutput},
			},
			CaptureContentTypeHeader: &smtypes.CaptureContentTypeHeader{
				CsvContentTypes:  []string{"text/csv"},
				JsonContentTypes: []string{"application/json"},
			},
		},
		Tags: tags(execution),
	})
	switch {
	case err == nil:
		h.Log.InfoContext(ctx, "endpoint configuration created", "config", d.EndpointConfigName)
	case alreadyExists(err):
		h.Log.InfoContext(ctx, "endpoint configuration already exists", "config", d.EndpointConfigName)
	default:
		return fmt.Errorf("create endpoint configuration %q: %w", d.EndpointConfigName, err)
	}
	return nil
}

func (h *Handler) createEndpoint(ctx context.Context, d pipeline.Deployment, execution string) (pipeline.Deployment, error) {
	_, err := h.Creator.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{
		EndpointName:       aws.String(d.EndpointName),
		EndpointConfigName: aws.String(d.EndpointConfigName),
		Tags:               tags(execution),
	})
	switch {
	case alreadyExists(err):
		// Someone created it between our describe and create: look again
		// on the next attempt rather than guess whose it is.
		return pipeline.Deployment{}, faults.Wrap(faults.Throttled, fmt.Errorf("endpoint is already being updated: %q was created concurrently: %w", d.EndpointName, err))
	case err != nil:
		return pipeline.Deployment{}, fmt.Errorf("create endpoint %q: %w", d.EndpointName, err)
	}
	d.Mode = ModeCreate
	h.Log.InfoContext(ctx, "endpoint creation started", "endpoint", d.EndpointName, "config", d.EndpointConfigName)
	return d, nil
}

func (h *Handler) updateEndpoint(ctx context.Context, d pipeline.Deployment, current string) (pipeline.Deployment, error) {
	in := &sagemaker.UpdateEndpointInput{
		EndpointName:       aws.String(d.EndpointName),
		EndpointConfigName: aws.String(d.EndpointConfigName),
		DeploymentConfig: &smtypes.DeploymentConfig{
			BlueGreenUpdatePolicy: &smtypes.BlueGreenUpdatePolicy{
				TrafficRoutingConfiguration: &smtypes.TrafficRoutingConfig{
					Type:                  smtypes.TrafficRoutingConfigTypeAllAtOnce,
					WaitIntervalInSeconds: aws.Int32(BakeSeconds),
				},
				TerminationWaitInSeconds: aws.Int32(TerminationWaitSeconds),
			},
		},
	}
	if len(h.Config.RollbackAlarmNames) > 0 {
		alarms := make([]smtypes.Alarm, len(h.Config.RollbackAlarmNames))
		for i, a := range h.Config.RollbackAlarmNames {
			alarms[i] = smtypes.Alarm{AlarmName: aws.String(a)}
		}
		in.DeploymentConfig.AutoRollbackConfiguration = &smtypes.AutoRollbackConfig{Alarms: alarms}
	} else {
		h.Log.WarnContext(ctx, "no rollback alarms configured: the blue/green update cannot roll back by itself", "endpoint", d.EndpointName)
	}
	_, err := h.Updater.UpdateEndpoint(ctx, in)
	switch {
	case inProgress(err):
		return pipeline.Deployment{}, faults.Wrap(faults.Throttled, fmt.Errorf("endpoint is already being updated: %q: %w", d.EndpointName, err))
	case err != nil:
		return pipeline.Deployment{}, fmt.Errorf("update endpoint %q to %q: %w", d.EndpointName, d.EndpointConfigName, err)
	}
	d.Mode, d.PreviousEndpointConfigName = ModeUpdate, current
	h.Log.InfoContext(ctx, "blue/green update started", "endpoint", d.EndpointName, "config", d.EndpointConfigName, "previous", current)
	return d, nil
}

// recoverPrevious fills the mode and previous configuration of a deployment
// that already went through, from the registry record.
func (h *Handler) recoverPrevious(ctx context.Context, d *pipeline.Deployment) error {
	live, err := registry.Read(ctx, h.Reader, h.Config.ArtifactsBucket, h.Config.EndpointName)
	if err != nil {
		return err
	}
	switch {
	case live == nil:
		d.Mode = ModeCreate
	case live.EndpointConfigName == d.EndpointConfigName:
		d.PreviousEndpointConfigName = live.PreviousEndpointConfigName
	default:
		d.PreviousEndpointConfigName = live.EndpointConfigName
	}
	if d.Mode == "" {
		d.Mode = ModeCreate
		if d.PreviousEndpointConfigName != "" {
			d.Mode = ModeUpdate
		}
	}
	return nil
}

// Status reports the deployment's progress. When the endpoint serves the new
// configuration it records the live model and reports SUCCEEDED; when it
// serves another one, the blue/green update was rolled back.
func (h *Handler) Status(ctx context.Context, req pipeline.DeployRequest) (pipeline.Status, error) {
	if err := validate(req); err != nil {
		return pipeline.Status{}, err
	}
	d := req.Deployment
	if d == nil || d.EndpointConfigName == "" || d.ModelName == "" {
		return pipeline.Status{}, faults.Invalidf("deploy status for %s: deployment with modelName and endpointConfigName is required", req.ExecutionName)
	}
	if d.EndpointName != h.Config.EndpointName {
		return pipeline.Status{}, faults.Invalidf("deploy status for %s: deployment is for endpoint %q, this function manages %q", req.ExecutionName, d.EndpointName, h.Config.EndpointName)
	}
	ep, err := h.Describer.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(d.EndpointName)})
	if endpointNotFound(err) {
		return pipeline.Status{State: pipeline.StateFailed, Detail: "NotFound", Reason: fmt.Sprintf("endpoint %q does not exist", d.EndpointName)}, nil
	}
	if err != nil {
		return pipeline.Status{}, fmt.Errorf("describe endpoint %q: %w", d.EndpointName, err)
	}
	current := aws.ToString(ep.EndpointConfigName)
	st := pipeline.Status{Detail: string(ep.EndpointStatus)}
	switch ep.EndpointStatus {
	case smtypes.EndpointStatusInService:
		if current != d.EndpointConfigName {
			st.State = pipeline.StateFailed
			st.Reason = fmt.Sprintf(reasonRolledBack+": endpoint %q serves configuration %q, not %q", d.EndpointName, current, d.EndpointConfigName)
			return st, nil
		}
		if err := h.record(ctx, req, *d); err != nil {
			return pipeline.Status{}, err
		}
		st.State = pipeline.StateSucceeded
	case smtypes.EndpointStatusFailed, smtypes.EndpointStatusUpdateRollbackFailed, smtypes.EndpointStatusDeleting:
		st.State = pipeline.StateFailed
		st.Reason = aws.ToString(ep.FailureReason)
		if st.Reason == "" {
			st.Reason = fmt.Sprintf("endpoint %q is %s", d.EndpointName, ep.EndpointStatus)
		}
	default:
		st.State = pipeline.StateRunning
	}
	return st, nil
}

// record writes the registry record of the model now live.
func (h *Handler) record(ctx context.Context, req pipeline.DeployRequest, d pipeline.Deployment) error {
	live := pipeline.LiveModel{
		EndpointName:               d.EndpointName,
		EndpointConfigName:         d.EndpointConfigName,
		ModelName:                  d.ModelName,
		ExecutionName:              req.ExecutionName,
		TrainingJobName:            req.TrainingJobName,
		Dataset:                    req.Dataset,
		Metric:                     req.Metric,
		BaselineURI:                req.BaselineURI,
		PreviousEndpointConfigName: d.PreviousEndpointConfigName,
		DeployedAt:                 h.Now().UTC(),
	}
	// Write stores the configuration's record before the live one, which
	// the rollback in remediation relies on.
	if err := registry.Write(ctx, h.Writer, h.Config.ArtifactsBucket, live); err != nil {
		return err
	}
	h.Log.InfoContext(ctx, "live model recorded", "endpoint", d.EndpointName, "config", d.EndpointConfigName, "previous", d.PreviousEndpointConfigName)
	return nil
}

func validate(req pipeline.DeployRequest) error {
	if req.ExecutionName == "" || len(req.ExecutionName) > naming.MaxExecutionName {
		return faults.Invalidf("executionName %q must have 1 to %d characters", req.ExecutionName, naming.MaxExecutionName)
	}
	if req.TrainingJobName == "" {
		return faults.Invalidf("deploy %s: trainingJobName is empty", req.ExecutionName)
	}
	for _, u := range []struct{ name, v string }{{"modelDataUrl", req.ModelDataURL}, {"baselineUri", req.BaselineURI}} {
		if _, key, err := pipeline.ParseS3URI(u.v); err != nil || key == "" {
			return faults.Invalidf("deploy %s: %s %q is not an s3://bucket/key URI", req.ExecutionName, u.name, u.v)
		}
	}
	return nil
}

func tags(execution string) []smtypes.Tag {
	return []smtypes.Tag{{Key: aws.String("execution"), Value: aws.String(execution)}}
}

// endpointNotFound reports whether DescribeEndpoint said the endpoint does
// not exist (SageMaker's "Could not find endpoint", classified by faults).
func endpointNotFound(err error) bool {
	return err != nil && faults.KindOf(err) == faults.NotFound
}

// alreadyExists reports whether a create call met an existing resource of
// the same name (ResourceInUse, or SageMaker's "Cannot create already
// existing ..."; classified by faults).
func alreadyExists(err error) bool {
	return err != nil && faults.KindOf(err) == faults.Conflict
}

// inProgress reports whether UpdateEndpoint refused because another change
// of the endpoint is in progress (SageMaker's "Cannot update in-progress
// endpoint"; classified by faults).
func inProgress(err error) bool {
	return err != nil && faults.KindOf(err) == faults.Conflict
}
