package sagemakeremu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Training job statuses.
const (
	statusInProgress = "InProgress"
	statusCompleted  = "Completed"
	statusFailed     = "Failed"
	statusStopping   = "Stopping"
	statusStopped    = "Stopped"
)

// AlgorithmSpecification is the algorithm of a training job.
type AlgorithmSpecification struct {
	TrainingImage                    string            `json:"TrainingImage,omitempty"`
	AlgorithmName                    string            `json:"AlgorithmName,omitempty"`
	TrainingInputMode                string            `json:"TrainingInputMode,omitempty"`
	MetricDefinitions                []json.RawMessage `json:"MetricDefinitions,omitempty"`
	EnableSageMakerMetricsTimeSeries *bool             `json:"EnableSageMakerMetricsTimeSeries,omitempty"`
}

// S3DataSource is a channel's S3 location.
type S3DataSource struct {
	S3DataType             string   `json:"S3DataType,omitempty"`
	S3URI                  string   `json:"S3Uri,omitempty"`
	S3DataDistributionType string   `json:"S3DataDistributionType,omitempty"`
	AttributeNames         []string `json:"AttributeNames,omitempty"`
}

// DataSource is a channel's data source.
type DataSource struct {
	S3DataSource         *S3DataSource   `json:"S3DataSource,omitempty"`
	FileSystemDataSource json.RawMessage `json:"FileSystemDataSource,omitempty"`
}

// Channel is one input channel.
type Channel struct {
	ChannelName       string          `json:"ChannelName"`
	DataSource        *DataSource     `json:"DataSource,omitempty"`
	ContentType       string          `json:"ContentType,omitempty"`
	CompressionType   string          `json:"CompressionType,omitempty"`
	RecordWrapperType string          `json:"RecordWrapperType,omitempty"`
	InputMode         string          `json:"InputMode,omitempty"`
	ShuffleConfig     json.RawMessage `json:"ShuffleConfig,omitempty"`
}

// OutputDataConfig is where the model goes.
type OutputDataConfig struct {
	S3OutputPath    string `json:"S3OutputPath"`
	KmsKeyID        string `json:"KmsKeyId,omitempty"`
	CompressionType string `json:"CompressionType,omitempty"`
}

// ResourceConfig is the training cluster.
type ResourceConfig struct {
	InstanceType             string          `json:"InstanceType,omitempty"`
	InstanceCount            *int64          `json:"InstanceCount,omitempty"`
	VolumeSizeInGB           *int64          `json:"VolumeSizeInGB,omitempty"`
	VolumeKmsKeyID           string          `json:"VolumeKmsKeyId,omitempty"`
	KeepAlivePeriodInSeconds *int64          `json:"KeepAlivePeriodInSeconds,omitempty"`
	InstanceGroups           json.RawMessage `json:"InstanceGroups,omitempty"`
}

// StoppingCondition bounds a job's run time.
type StoppingCondition struct {
	MaxRuntimeInSeconds     *int64 `json:"MaxRuntimeInSeconds,omitempty"`
	MaxWaitTimeInSeconds    *int64 `json:"MaxWaitTimeInSeconds,omitempty"`
	MaxPendingTimeInSeconds *int64 `json:"MaxPendingTimeInSeconds,omitempty"`
}

// CheckpointConfig is a spot job's checkpoint location.
type CheckpointConfig struct {
	S3URI     string `json:"S3Uri"`
	LocalPath string `json:"LocalPath,omitempty"`
}

// CreateTrainingJobInput is the CreateTrainingJob request.
type CreateTrainingJobInput struct {
	TrainingJobName                       string                  `json:"TrainingJobName"`
	AlgorithmSpecification                *AlgorithmSpecification `json:"AlgorithmSpecification,omitempty"`
	RoleArn                               string                  `json:"RoleArn"`
	HyperParameters                       map[string]string       `json:"HyperParameters,omitempty"`
	InputDataConfig                       []Channel               `json:"InputDataConfig,omitempty"`
	OutputDataConfig                      *OutputDataConfig       `json:"OutputDataConfig,omitempty"`
	ResourceConfig                        *ResourceConfig         `json:"ResourceConfig,omitempty"`
	StoppingCondition                     *StoppingCondition      `json:"StoppingCondition,omitempty"`
	EnableNetworkIsolation                *bool                   `json:"EnableNetworkIsolation,omitempty"`
	EnableInterContainerTrafficEncryption *bool                   `json:"EnableInterContainerTrafficEncryption,omitempty"`
	EnableManagedSpotTraining             *bool                   `json:"EnableManagedSpotTraining,omitempty"`
	CheckpointConfig                      *CheckpointConfig       `json:"CheckpointConfig,omitempty"`
	VpcConfig                             json.RawMessage         `json:"VpcConfig,omitempty"`
	Environment                           map[string]string       `json:"Environment,omitempty"`
	RetryStrategy                         json.RawMessage         `json:"RetryStrategy,omitempty"`
	Tags                                  []Tag                   `json:"Tags,omitempty"`
}

// SecondaryStatusTransition is one step of a job's progress.
type SecondaryStatusTransition struct {
	Status        string     `json:"Status"`
	StartTime     *Timestamp `json:"StartTime"`
	EndTime       *Timestamp `json:"EndTime,omitempty"`
	StatusMessage string     `json:"StatusMessage,omitempty"`
}

// MetricData is a final metric.
type MetricData struct {
	MetricName string     `json:"MetricName"`
	Value      float64    `json:"Value"`
	Timestamp  *Timestamp `json:"Timestamp"`
}

// trainingJob is a job's record (persisted).
type trainingJob struct {
	Request           CreateTrainingJobInput      `json:"request"`
	ARN               string                      `json:"arn"`
	Status            string                      `json:"status"`
	Secondary         string                      `json:"secondaryStatus"`
	FailureReason     string                      `json:"failureReason,omitempty"`
	Transitions       []SecondaryStatusTransition `json:"transitions"`
	Metrics           []MetricData                `json:"metrics,omitempty"`
	ModelArtifacts    string                      `json:"modelArtifacts,omitempty"`
	CreationTime      time.Time                   `json:"creationTime"`
	LastModifiedTime  time.Time                   `json:"lastModifiedTime"`
	TrainingStartTime time.Time                   `json:"trainingStartTime,omitzero"`
	TrainingEndTime   time.Time                   `json:"trainingEndTime,omitzero"`

	stop context.CancelFunc
}

// transition moves the job to a new secondary status.
func (j *trainingJob) transition(now time.Time, status, message string) {
	if n := len(j.Transitions); n > 0 && j.Transitions[n-1].EndTime == nil {
		j.Transitions[n-1].EndTime = ts(now)
	}
	j.Secondary = status
	j.Transitions = append(j.Transitions, SecondaryStatusTransition{Status: status, StartTime: ts(now), StatusMessage: message})
	j.LastModifiedTime = now
}

// end closes the job with a terminal status.
func (j *trainingJob) end(now time.Time, status, secondary, message string) {
	j.Status = status
	j.transition(now, secondary, message)
	j.Transitions[len(j.Transitions)-1].EndTime = ts(now)
	if j.TrainingEndTime.IsZero() {
		j.TrainingEndTime = now
	}
}

func (j *trainingJob) fail(now time.Time, reason string) {
	j.FailureReason = reason
	j.end(now, statusFailed, statusFailed, "Training job failed")
}

func (s *Service) validateTrainingJob(in *CreateTrainingJobInput) error {
	var c checks
	c.str("trainingJobName", in.TrainingJobName, 1, 63, nameRE, namePattern)
	if c.required("roleArn", in.RoleArn != "") {
		c.str("roleArn", in.RoleArn, 20, 2048, roleRE, rolePattern)
	}
	if c.required("algorithmSpecification", in.AlgorithmSpecification != nil) {
		a := in.AlgorithmSpecification
		if a.TrainingImage != "" {
			c.str("algorithmSpecification.trainingImage", a.TrainingImage, 1, 255, imageRE, imagePattern)
		}
		if c.required("algorithmSpecification.trainingInputMode", a.TrainingInputMode != "") {
			c.enum("algorithmSpecification.trainingInputMode", a.TrainingInputMode, enumValues(smtypes.TrainingInputMode("").Values()))
		}
	}
	if len(in.HyperParameters) > 100 {
		c.add("'{...}'", "hyperParameters", "have length less than or equal to 100")
	}
	for _, k := range sortedKeys(in.HyperParameters) {
		c.str("hyperParameters", k, 0, 256, nil, "")
		c.str("hyperParameters."+k, in.HyperParameters[k], 0, 2500, nil, "")
	}
	c.count("inputDataConfig", len(in.InputDataConfig), 0, 20)
	for i, ch := range in.InputDataConfig {
		p := fmt.Sprintf("inputDataConfig.%d.member", i+1)
		c.str(p+".channelName", ch.ChannelName, 1, 64, channelRE, channelPattern)
		if c.required(p+".dataSource", ch.DataSource != nil) && ch.DataSource.S3DataSource != nil {
			ds := ch.DataSource.S3DataSource
			c.enum(p+".dataSource.s3DataSource.s3DataType", ds.S3DataType, enumValues(smtypes.S3DataType("").Values()))
			c.str(p+".dataSource.s3DataSource.s3Uri", ds.S3URI, 0, 1024, s3URIRE, s3URIPattern)
			if ds.S3DataDistributionType != "" {
				c.enum(p+".dataSource.s3DataSource.s3DataDistributionType", ds.S3DataDistributionType, enumValues(smtypes.S3DataDistribution("").Values()))
			}
		}
		if ch.CompressionType != "" {
			c.enum(p+".compressionType", ch.CompressionType, enumValues(smtypes.CompressionType("").Values()))
		}
		if ch.InputMode != "" {
			c.enum(p+".inputMode", ch.InputMode, enumValues(smtypes.TrainingInputMode("").Values()))
		}
	}
	if c.required("outputDataConfig", in.OutputDataConfig != nil) {
		c.str("outputDataConfig.s3OutputPath", in.OutputDataConfig.S3OutputPath, 0, 1024, s3URIRE, s3URIPattern)
		c.str("outputDataConfig.kmsKeyId", in.OutputDataConfig.KmsKeyID, 0, 2048, kmsRE, kmsPattern)
	}
	if c.required("resourceConfig", in.ResourceConfig != nil) {
		r := in.ResourceConfig
		if r.InstanceGroups == nil {
			c.enum("resourceConfig.instanceType", r.InstanceType, enumValues(smtypes.TrainingInstanceType("").Values()))
			if c.required("resourceConfig.instanceCount", r.InstanceCount != nil) {
				c.num("resourceConfig.instanceCount", *r.InstanceCount, 0, 0)
			}
		}
		if c.required("resourceConfig.volumeSizeInGB", r.VolumeSizeInGB != nil) {
			c.num("resourceConfig.volumeSizeInGB", *r.VolumeSizeInGB, 1, 0)
		}
		c.str("resourceConfig.volumeKmsKeyId", r.VolumeKmsKeyID, 0, 2048, kmsRE, kmsPattern)
	}
	if c.required("stoppingCondition", in.StoppingCondition != nil) {
		sc := in.StoppingCondition
		if sc.MaxRuntimeInSeconds != nil {
			c.num("stoppingCondition.maxRuntimeInSeconds", *sc.MaxRuntimeInSeconds, 1, 0)
		}
		if sc.MaxWaitTimeInSeconds != nil {
			c.num("stoppingCondition.maxWaitTimeInSeconds", *sc.MaxWaitTimeInSeconds, 1, 0)
		}
	}
	if in.CheckpointConfig != nil {
		c.str("checkpointConfig.s3Uri", in.CheckpointConfig.S3URI, 0, 1024, s3URIRE, s3URIPattern)
	}
	c.tags(in.Tags)
	if err := c.err(); err != nil {
		return err
	}
	// Semantic checks, after the shape is right, as SageMaker does.
	a := in.AlgorithmSpecification
	if (a.TrainingImage == "") == (a.AlgorithmName == "") {
		return awsproto.Validation("Either TrainingImage or AlgorithmName must be specified, but not both.")
	}
	seen := map[string]bool{}
	for _, ch := range in.InputDataConfig {
		if seen[ch.ChannelName] {
			return awsproto.Validation("Channel names must be unique: %q appears more than once in InputDataConfig.", ch.ChannelName)
		}
		seen[ch.ChannelName] = true
		if ch.DataSource.S3DataSource == nil && ch.DataSource.FileSystemDataSource == nil {
			return awsproto.Validation("Channel %q: DataSource must have either S3DataSource or FileSystemDataSource.", ch.ChannelName)
		}
		if ch.DataSource.S3DataSource != nil && strings.HasPrefix(ch.DataSource.S3DataSource.S3URI, "https://") {
			return awsproto.Validation("Channel %q: S3Uri %q must be an s3:// URI.", ch.ChannelName, ch.DataSource.S3DataSource.S3URI)
		}
	}
	if r := in.ResourceConfig; r.InstanceGroups == nil && *r.InstanceCount < 1 {
		return awsproto.Validation("Invalid InstanceCount %d: it must be at least 1.", *r.InstanceCount)
	}
	sc := in.StoppingCondition
	spot := in.EnableManagedSpotTraining != nil && *in.EnableManagedSpotTraining
	switch {
	case spot && (sc.MaxWaitTimeInSeconds == nil || sc.MaxRuntimeInSeconds == nil || *sc.MaxWaitTimeInSeconds < *sc.MaxRuntimeInSeconds):
		return awsproto.Validation("Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds")
	case !spot && sc.MaxWaitTimeInSeconds != nil:
		return awsproto.Validation("Invalid request: MaxWaitTimeInSeconds may only be set with EnableManagedSpotTraining.")
	case sc.MaxRuntimeInSeconds != nil && *sc.MaxRuntimeInSeconds > 28*24*3600:
		return awsproto.Validation("Invalid MaxRuntimeInSeconds %d: the maximum is 2419200 (28 days).", *sc.MaxRuntimeInSeconds)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CreateTrainingJobOutput is the CreateTrainingJob answer.
type CreateTrainingJobOutput struct {
	TrainingJobArn string `json:"TrainingJobArn"`
}

// CreateTrainingJob validates the request as SageMaker does and starts the
// job in the background.
func (s *Service) CreateTrainingJob(_ context.Context, in *CreateTrainingJobInput) (*CreateTrainingJobOutput, error) {
	if err := s.validateTrainingJob(in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, awsproto.Internal()
	}
	if _, ok := s.jobs[in.TrainingJobName]; ok {
		return nil, awsproto.Errorf(400, "ResourceInUse", "Training job names must be unique within an AWS account and region, and a training job with this name already exists (%s)", s.arn("training-job", in.TrainingJobName))
	}
	now := s.now()
	j := &trainingJob{Request: *in, ARN: s.arn("training-job", in.TrainingJobName), Status: statusInProgress, CreationTime: now}
	j.transition(now, "Starting", "Launching requested ML instances")
	ctx, stop := context.WithCancel(s.ctx)
	j.stop = stop
	s.jobs[in.TrainingJobName] = j
	s.save()
	s.goBackground(func(context.Context) { s.runTraining(ctx, j) })
	return &CreateTrainingJobOutput{TrainingJobArn: j.ARN}, nil
}

// update applies f to the job under the lock and saves.
func (s *Service) update(j *trainingJob, f func(now time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.now())
	s.save()
}

// runTraining drives a job: Starting → Downloading → Training → Uploading
// → Completed, or Failed / Stopped / MaxRuntimeExceeded.
func (s *Service) runTraining(ctx context.Context, j *trainingJob) {
	in := j.Request
	log := s.log.With("trainingJob", in.TrainingJobName)
	work := filepath.Join(s.dir, "training", in.TrainingJobName)
	defer os.RemoveAll(work)

	// stopped reports and records a stop, returning true when ctx ended.
	stopped := func() bool {
		if ctx.Err() == nil {
			return false
		}
		s.update(j, func(now time.Time) {
			if j.Status == statusStopping {
				j.end(now, statusStopped, statusStopped, "Training job stopped")
			} else if j.Status == statusInProgress {
				// The local cloud is shutting down.
				j.fail(now, "InternalServerError: the local cloud stopped while the training job ran")
			}
		})
		return true
	}
	fail := func(reason string) {
		log.Warn("training job failed", "reason", reason)
		s.update(j, func(now time.Time) { j.fail(now, reason) })
	}

	if !s.sleep(ctx, s.timings.TrainingStartup) {
		stopped()
		return
	}
	s.update(j, func(now time.Time) {
		j.TrainingStartTime = now
		j.transition(now, "Downloading", "Downloading input data")
	})
	channels, err := s.downloadChannels(ctx, in, filepath.Join(work, "input", "data"))
	if stopped() {
		return
	}
	if err != nil {
		fail(err.Error())
		return
	}
	s.update(j, func(now time.Time) {
		j.transition(now, "Training", "Training image download completed. Training in progress.")
	})
	if reason := unsupportedAlgorithm(in.AlgorithmSpecification); reason != "" {
		fail(reason)
		return
	}
	metrics, runErr := s.train(ctx, in, work, channels, log)
	if stopped() {
		return
	}
	if runErr != nil {
		if errors.Is(runErr, errMaxRuntime) {
			s.update(j, func(now time.Time) {
				j.FailureReason = "MaxRuntimeExceeded: Training job exceeded MaxRuntimeInSeconds provided"
				j.end(now, statusStopped, "MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds provided")
			})
			return
		}
		fail(runErr.Error())
		return
	}
	s.update(j, func(now time.Time) {
		j.transition(now, "Uploading", "Uploading generated training model")
	})
	artifact, err := s.uploadModel(ctx, in, filepath.Join(work, "model"))
	if stopped() {
		return
	}
	if err != nil {
		fail("InternalServerError: " + err.Error())
		return
	}
	s.update(j, func(now time.Time) {
		j.ModelArtifacts = artifact
		for _, name := range sortedKeys(metrics) {
			j.Metrics = append(j.Metrics, MetricData{MetricName: name, Value: float64(float32(metrics[name])), Timestamp: ts(now)})
		}
		j.end(now, statusCompleted, statusCompleted, "Training job completed")
	})
	log.Info("training job completed", "model", artifact, "metrics", metrics)
}

// unsupportedAlgorithm returns the failure reason of an algorithm the local
// cloud cannot run ("" when it is the built-in XGBoost).
func unsupportedAlgorithm(a *AlgorithmSpecification) string {
	if a.AlgorithmName != "" {
		return fmt.Sprintf("ClientError: the local cloud runs only SageMaker's built-in XGBoost image, not algorithm resource %q", a.AlgorithmName)
	}
	repo := a.TrainingImage
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		repo = repo[i+1:]
	}
	repo, _, _ = strings.Cut(repo, ":")
	repo, _, _ = strings.Cut(repo, "@")
	if repo != "sagemaker-xgboost" && repo != "xgboost" {
		return fmt.Sprintf("ClientError: the local cloud runs only SageMaker's built-in XGBoost image (<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1), not %q", a.TrainingImage)
	}
	return ""
}

// channelSpec is one channel as train.py reads it.
type channelSpec struct {
	Dir         string `json:"dir"`
	ContentType string `json:"contentType,omitempty"`
}

// downloadChannels copies each channel's S3 objects under dir/<channel>.
func (s *Service) downloadChannels(ctx context.Context, in CreateTrainingJobInput, dir string) (map[string]channelSpec, error) {
	out := map[string]channelSpec{}
	for _, ch := range in.InputDataConfig {
		ds := ch.DataSource.S3DataSource
		if ds == nil {
			return nil, fmt.Errorf("ClientError: channel %q: the local cloud reads channels from S3 only", ch.ChannelName)
		}
		if ds.S3DataType != string(smtypes.S3DataTypeS3Prefix) {
			return nil, fmt.Errorf("ClientError: channel %q: S3DataType %s is not supported by the local cloud (S3Prefix only)", ch.ChannelName, ds.S3DataType)
		}
		if ch.CompressionType != "" && ch.CompressionType != string(smtypes.CompressionTypeNone) {
			return nil, fmt.Errorf("ClientError: channel %q: CompressionType %s is not supported by the local cloud", ch.ChannelName, ch.CompressionType)
		}
		bucket, prefix, err := splitS3URI(ds.S3URI)
		if err != nil {
			return nil, fmt.Errorf("ClientError: channel %q: %v", ch.ChannelName, err)
		}
		keys, err := s.opts.Store.List(ctx, bucket, prefix)
		if err != nil {
			return nil, fmt.Errorf("ClientError: Data download failed: could not list %s: %v", ds.S3URI, err)
		}
		var objects []string
		for _, k := range keys {
			if !strings.HasSuffix(k, "/") {
				objects = append(objects, k)
			}
		}
		if len(objects) == 0 {
			return nil, fmt.Errorf("ClientError: No S3 objects found under S3 URL %q given in input data source. Please ensure that the bucket exists in the selected region (%s), that objects exist under that S3 prefix, and that the role %q has \"s3:ListBucket\" permissions on bucket %q.",
				ds.S3URI, s.opts.Region, in.RoleArn, bucket)
		}
		chDir := filepath.Join(dir, ch.ChannelName)
		for _, k := range objects {
			// Keep the layout under the prefix, as SageMaker does in
			// /opt/ml/input/data/<channel>.
			rel := path.Clean("/" + strings.TrimPrefix(k, prefix))[1:]
			if rel == "" {
				rel = path.Base(k)
			}
			if err := download(ctx, s.opts.Store, bucket, k, filepath.Join(chDir, filepath.FromSlash(rel))); err != nil {
				return nil, fmt.Errorf("ClientError: Data download failed: %v", err)
			}
		}
		out[ch.ChannelName] = channelSpec{Dir: chDir, ContentType: ch.ContentType}
	}
	return out, nil
}

var errMaxRuntime = errors.New("max runtime exceeded")

// train runs train.py and returns the final metrics.
func (s *Service) train(ctx context.Context, in CreateTrainingJobInput, work string, channels map[string]channelSpec, log *slog.Logger) (map[string]float64, error) {
	cfg := map[string]any{
		"hyperparameters": in.HyperParameters,
		"channels":        channels,
		"modelDir":        filepath.Join(work, "model"),
		"metricsFile":     filepath.Join(work, "output", "metrics.json"),
		"failureFile":     filepath.Join(work, "output", "failure"),
	}
	if err := os.MkdirAll(filepath.Join(work, "output"), 0o755); err != nil {
		return nil, fmt.Errorf("InternalServerError: %v", err)
	}
	data, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(work, "job.json")
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("InternalServerError: %v", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	overran := make(chan struct{})
	if sc := in.StoppingCondition; sc.MaxRuntimeInSeconds != nil {
		// The limit applies to the algorithm's real run time, in wall
		// time: the training takes what it takes, and a fast-forwarded
		// clock must not cut it short.
		timer := time.NewTimer(time.Duration(*sc.MaxRuntimeInSeconds) * time.Second)
		defer timer.Stop()
		go func() {
			select {
			case <-timer.C:
				close(overran)
				cancel()
			case <-runCtx.Done():
			}
		}()
	}
	cmd := exec.CommandContext(runCtx, s.opts.Python, filepath.Join(s.algoDir, "train.py"), "--config", cfgPath)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("InternalServerError: %v", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("InternalServerError: %v", err)
	}
	if err := cmd.Start(); err != nil {
		if isExecNotFound(err) {
			return nil, fmt.Errorf("AlgorithmError: %v", xgboostMissing(s.opts.Python, err))
		}
		return nil, fmt.Errorf("InternalServerError: start algorithm: %v", err)
	}
	errTail := &tail{max: 20}
	done := make(chan struct{}, 2)
	go func() {
		pump(stdout, s.log, "training log", nil, "trainingJob", in.TrainingJobName)
		done <- struct{}{}
	}()
	go func() {
		pump(stderr, s.log, "training log", errTail, "trainingJob", in.TrainingJobName)
		done <- struct{}{}
	}()
	<-done
	<-done
	waitErr := cmd.Wait()
	select {
	case <-overran:
		return nil, errMaxRuntime
	default:
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if waitErr != nil {
		if reason, err := os.ReadFile(cfg["failureFile"].(string)); err == nil && len(bytes.TrimSpace(reason)) > 0 {
			return nil, errors.New(string(bytes.TrimSpace(reason)))
		}
		msg := errTail.String()
		if strings.Contains(msg, "No module named 'xgboost'") || strings.Contains(msg, "No module named 'numpy'") {
			return nil, fmt.Errorf("AlgorithmError: %v", xgboostMissing(s.opts.Python, waitErr))
		}
		return nil, fmt.Errorf("AlgorithmError: %v: %s", waitErr, lastLine(msg))
	}
	raw, err := os.ReadFile(cfg["metricsFile"].(string))
	if err != nil {
		return nil, fmt.Errorf("AlgorithmError: the algorithm wrote no metrics: %v", err)
	}
	var metrics map[string]float64
	if err := json.Unmarshal(raw, &metrics); err != nil {
		return nil, fmt.Errorf("AlgorithmError: unreadable metrics: %v", err)
	}
	log.Info("training finished", "metrics", metrics)
	return metrics, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// uploadModel packs the model directory to
// <S3OutputPath>/<job>/output/model.tar.gz.
func (s *Service) uploadModel(ctx context.Context, in CreateTrainingJobInput, modelDir string) (string, error) {
	data, err := tarGz(modelDir)
	if err != nil {
		return "", fmt.Errorf("pack model: %w", err)
	}
	bucket, prefix, err := splitS3URI(in.OutputDataConfig.S3OutputPath)
	if err != nil {
		return "", err
	}
	key := strings.TrimSuffix(prefix, "/")
	if key != "" {
		key += "/"
	}
	key += in.TrainingJobName + "/output/model.tar.gz"
	if err := s.opts.Store.PutObject(ctx, bucket, key, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("upload model: %w", err)
	}
	return "s3://" + bucket + "/" + key, nil
}

// DescribeTrainingJobInput names a job.
type DescribeTrainingJobInput struct {
	TrainingJobName string `json:"TrainingJobName"`
}

// ModelArtifacts is where the model is.
type ModelArtifacts struct {
	S3ModelArtifacts string `json:"S3ModelArtifacts"`
}

// DescribeTrainingJobOutput is a job's description.
type DescribeTrainingJobOutput struct {
	CreateTrainingJobInput
	TrainingJobArn             string                      `json:"TrainingJobArn"`
	TrainingJobStatus          string                      `json:"TrainingJobStatus"`
	SecondaryStatus            string                      `json:"SecondaryStatus"`
	FailureReason              string                      `json:"FailureReason,omitempty"`
	ModelArtifacts             *ModelArtifacts             `json:"ModelArtifacts,omitempty"`
	SecondaryStatusTransitions []SecondaryStatusTransition `json:"SecondaryStatusTransitions,omitempty"`
	FinalMetricDataList        []MetricData                `json:"FinalMetricDataList,omitempty"`
	CreationTime               *Timestamp                  `json:"CreationTime"`
	LastModifiedTime           *Timestamp                  `json:"LastModifiedTime,omitempty"`
	TrainingStartTime          *Timestamp                  `json:"TrainingStartTime,omitempty"`
	TrainingEndTime            *Timestamp                  `json:"TrainingEndTime,omitempty"`
	TrainingTimeInSeconds      *int64                      `json:"TrainingTimeInSeconds,omitempty"`
	BillableTimeInSeconds      *int64                      `json:"BillableTimeInSeconds,omitempty"`
}

// DescribeTrainingJob reports a job.
func (s *Service) DescribeTrainingJob(_ context.Context, in *DescribeTrainingJobInput) (*DescribeTrainingJobOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[in.TrainingJobName]
	if !ok {
		return nil, notFound()
	}
	return s.describeJobLocked(j), nil
}

func (s *Service) describeJobLocked(j *trainingJob) *DescribeTrainingJobOutput {
	out := &DescribeTrainingJobOutput{
		CreateTrainingJobInput:     j.Request,
		TrainingJobArn:             j.ARN,
		TrainingJobStatus:          j.Status,
		SecondaryStatus:            j.Secondary,
		FailureReason:              j.FailureReason,
		SecondaryStatusTransitions: append([]SecondaryStatusTransition(nil), j.Transitions...),
		FinalMetricDataList:        append([]MetricData(nil), j.Metrics...),
		CreationTime:               ts(j.CreationTime),
		LastModifiedTime:           ts(j.LastModifiedTime),
		TrainingStartTime:          ts(j.TrainingStartTime),
		TrainingEndTime:            ts(j.TrainingEndTime),
	}
	out.Tags = nil
	if j.ModelArtifacts != "" {
		out.ModelArtifacts = &ModelArtifacts{S3ModelArtifacts: j.ModelArtifacts}
	}
	if !j.TrainingStartTime.IsZero() && !j.TrainingEndTime.IsZero() {
		secs := int64(j.TrainingEndTime.Sub(j.TrainingStartTime).Round(time.Second) / time.Second)
		out.TrainingTimeInSeconds, out.BillableTimeInSeconds = &secs, &secs
	}
	return out
}

// StopTrainingJobInput names the job to stop.
type StopTrainingJobInput struct {
	TrainingJobName string `json:"TrainingJobName"`
}

// StopTrainingJob stops a running job: Stopping, then Stopped.
func (s *Service) StopTrainingJob(_ context.Context, in *StopTrainingJobInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[in.TrainingJobName]
	if !ok {
		return nil, notFound()
	}
	if j.Status != statusInProgress {
		return nil, awsproto.Validation("The request was rejected because the training job is in status %s.", j.Status)
	}
	j.Status = statusStopping
	j.transition(s.now(), "Stopping", "Stopping the training job")
	s.save()
	if j.stop != nil {
		j.stop()
	}
	return &struct{}{}, nil
}

// ListTrainingJobsInput filters the job list.
type ListTrainingJobsInput struct {
	NameContains string `json:"NameContains,omitempty"`
	StatusEquals string `json:"StatusEquals,omitempty"`
	MaxResults   int    `json:"MaxResults,omitempty"`
}

// TrainingJobSummary is one listed job.
type TrainingJobSummary struct {
	TrainingJobName   string     `json:"TrainingJobName"`
	TrainingJobArn    string     `json:"TrainingJobArn"`
	TrainingJobStatus string     `json:"TrainingJobStatus"`
	SecondaryStatus   string     `json:"SecondaryStatus"`
	CreationTime      *Timestamp `json:"CreationTime"`
	TrainingEndTime   *Timestamp `json:"TrainingEndTime,omitempty"`
	LastModifiedTime  *Timestamp `json:"LastModifiedTime,omitempty"`
}

// ListTrainingJobsOutput lists jobs, newest first.
type ListTrainingJobsOutput struct {
	TrainingJobSummaries []TrainingJobSummary `json:"TrainingJobSummaries"`
}

// ListTrainingJobs lists jobs, newest first (no pagination).
func (s *Service) ListTrainingJobs(_ context.Context, in *ListTrainingJobsInput) (*ListTrainingJobsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ListTrainingJobsOutput{TrainingJobSummaries: []TrainingJobSummary{}}
	for name, j := range s.jobs {
		if in.NameContains != "" && !strings.Contains(name, in.NameContains) {
			continue
		}
		if in.StatusEquals != "" && j.Status != in.StatusEquals {
			continue
		}
		out.TrainingJobSummaries = append(out.TrainingJobSummaries, TrainingJobSummary{
			TrainingJobName: name, TrainingJobArn: j.ARN, TrainingJobStatus: j.Status, SecondaryStatus: j.Secondary,
			CreationTime: ts(j.CreationTime), TrainingEndTime: ts(j.TrainingEndTime), LastModifiedTime: ts(j.LastModifiedTime),
		})
	}
	sort.Slice(out.TrainingJobSummaries, func(a, b int) bool {
		return out.TrainingJobSummaries[a].CreationTime.After(out.TrainingJobSummaries[b].CreationTime.Time)
	})
	if in.MaxResults > 0 && len(out.TrainingJobSummaries) > in.MaxResults {
		out.TrainingJobSummaries = out.TrainingJobSummaries[:in.MaxResults]
	}
	return out, nil
}
