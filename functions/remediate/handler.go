// Command remediate acts on the platform's CloudWatch alarms.
//
// EventBridge delivers "CloudWatch Alarm State Change" events. Only
// transitions into ALARM of alarms on the allow-list are acted on:
//
//   - a drift alarm starts a retraining execution of the pipeline on the
//     newest dataset under the raw prefix when it is newer than the live
//     model's, and otherwise asks for new labelled data;
//   - an endpoint errors alarm after a deployment rolls the endpoint back to
//     the previous known-good configuration recorded by deploy.
//
// Every decision is published on SNS with its reason. Guards: one
// remediation per alarm transition (a marker object claimed with a
// conditional write), a retraining cooldown and daily cap per endpoint, and
// deterministic execution names per cooldown window. After acting on a
// drift alarm the alarm is set back to OK, so persisting drift fires it again
// and is re-evaluated against the guards; see docs/monitoring.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
	"github.com/gomlops/mlops/shared/registry"
)

// S3API is what remediation needs from S3.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// SFNAPI starts and lists pipeline executions.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

// SageMakerAPI reads and rolls back the endpoint.
type SageMakerAPI interface {
	DescribeEndpoint(ctx context.Context, in *sagemaker.DescribeEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeEndpointOutput, error)
	UpdateEndpoint(ctx context.Context, in *sagemaker.UpdateEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateEndpointOutput, error)
}

// SNSAPI publishes decisions.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// CloudWatchAPI re-arms an alarm after acting on it.
type CloudWatchAPI interface {
	SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error)
}

// Config is remediation's configuration.
type Config struct {
	StateMachineARN   string
	EndpointName      string
	ArtifactsBucket   string
	RawBucket         string
	RawPrefix         string
	TopicARN          string
	DriftAlarmNames   []string
	ErrorAlarmNames   []string
	RetrainCooldown   time.Duration
	MaxRetrainsPerDay int64
	// RollbackWindow is how long after a deployment endpoint errors are
	// blamed on it; later errors are notified, not rolled back.
	RollbackWindow time.Duration
}

// Defaults of the settings.
const (
	DefaultRetrainCooldown   = 6 * time.Hour
	DefaultMaxRetrainsPerDay = 2
	DefaultRollbackWindow    = 24 * time.Hour
)

// LoadConfig reads the configuration; problems are collected in env.
func LoadConfig(env *config.Reader) Config {
	c := Config{
		StateMachineARN:   env.String("STATE_MACHINE_ARN"),
		EndpointName:      env.String("ENDPOINT_NAME"),
		ArtifactsBucket:   env.String("ARTIFACTS_BUCKET"),
		RawBucket:         env.String("RAW_BUCKET"),
		RawPrefix:         env.StringOr("RAW_PREFIX", "raw/"),
		TopicARN:          env.String("TOPIC_ARN"),
		DriftAlarmNames:   env.List("DRIFT_ALARM_NAMES"),
		ErrorAlarmNames:   env.List("ERROR_ALARM_NAMES"),
		RetrainCooldown:   env.DurationOr("RETRAIN_COOLDOWN", DefaultRetrainCooldown),
		MaxRetrainsPerDay: env.Int64Or("MAX_RETRAINS_PER_DAY", DefaultMaxRetrainsPerDay, 0, 24),
		RollbackWindow:    DefaultRollbackWindow,
	}
	if len(c.DriftAlarmNames)+len(c.ErrorAlarmNames) == 0 {
		// An empty allow-list would make remediation a silent no-op.
		env.String("DRIFT_ALARM_NAMES")
	}
	return c
}

// Handler decides and acts on one alarm event per invocation.
type Handler struct {
	S3         S3API
	SFN        SFNAPI
	SageMaker  SageMakerAPI
	SNS        SNSAPI
	CloudWatch CloudWatchAPI
	Config     Config
	Log        *slog.Logger
	Metrics    *metrics.Emitter
	Now        func() time.Time
}

// Actions a Decision reports.
const (
	ActionIgnored         = "ignored"          // not a transition into ALARM, or not on the allow-list
	ActionDuplicate       = "duplicate"        // this transition was already handled
	ActionRetrain         = "retrain"          // a retraining execution was started
	ActionRetrainSkipped  = "retrain-skipped"  // a guard held the retraining back
	ActionNeedData        = "need-data"        // no newer dataset: label new data
	ActionRollback        = "rollback"         // the endpoint is going back to its previous configuration
	ActionRollbackSkipped = "rollback-skipped" // no rollback possible or needed
	ActionFailed          = "failed"           // a transient failure, returned for retry
	ActionDropped         = "dropped"          // a permanent failure: not retried, notified
)

// Alarm kinds.
const (
	KindDrift  = "drift"
	KindErrors = "errors"
)

// Decision is what remediation decided and why; it is the Lambda's response,
// the SNS message, and the content of the transition's marker object.
type Decision struct {
	Action        string            `json:"action"`
	Reason        string            `json:"reason"`
	AlarmName     string            `json:"alarmName,omitempty"`
	Kind          string            `json:"kind,omitempty"`
	EndpointName  string            `json:"endpointName"`
	ExecutionName string            `json:"executionName,omitempty"`
	ExecutionARN  string            `json:"executionArn,omitempty"`
	Dataset       *pipeline.Dataset `json:"dataset,omitempty"`
	// EndpointConfigName is the configuration rolled back to.
	EndpointConfigName string `json:"endpointConfigName,omitempty"`
	// RegistryRestored is set when a rollback also restored the live
	// registry record of the configuration it went back to.
	RegistryRestored bool `json:"registryRestored,omitempty"`
	// Rearmed is set when the alarm was set back to OK after acting.
	Rearmed bool      `json:"rearmed"`
	At      time.Time `json:"at"`
}

// Handle decides what an alarm event calls for and does it.
//
// It is an EventBridge target, invoked asynchronously: a returned error is
// retried by Lambda and finally dead-lettered, whatever its name. So only
// transient errors are returned. A permanent one (a malformed event, a
// rollback SageMaker refuses, a denied call) cannot succeed when retried: it
// is logged, counted and dropped, and when it concerns an alarm on the
// allow-list the failure is published on SNS so that it is not lost.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Decision, error) {
	d, err := h.handle(ctx, raw)
	if err != nil {
		kind := faults.KindOf(err)
		if kind.Transient() {
			h.Log.ErrorContext(ctx, "remediation failed; returned for retry", "error", err, "kind", kind.String(), "alarm", d.AlarmName)
			h.emit(d.AlarmName, ActionFailed)
			return d, err
		}
		return h.drop(ctx, d, err)
	}
	h.Log.InfoContext(ctx, "remediation decided", "alarm", d.AlarmName, "action", d.Action, "reason", d.Reason,
		"execution", d.ExecutionName, "endpointConfig", d.EndpointConfigName)
	h.emit(d.AlarmName, d.Action)
	return d, nil
}

// drop ends an invocation whose error is permanent: logged once, counted,
// and, for an alarm remediation acts on, notified. Only a failure to notify
// is returned, since that one may succeed when retried.
func (h *Handler) drop(ctx context.Context, d Decision, cause error) (Decision, error) {
	kind := faults.KindOf(cause)
	h.Log.ErrorContext(ctx, "remediation failed permanently; dropped", "error", cause, "kind", kind.String(), "alarm", d.AlarmName)
	h.emit(d.AlarmName, ActionDropped)
	d.Action = ActionDropped
	d.Reason = fmt.Sprintf("failed permanently (%s), not retried: %v", kind, cause)
	if d.Kind == "" {
		// Not an alarm this function acts on (a malformed event): the log
		// line and the count are the record.
		return d, nil
	}
	if err := h.notify(ctx, d); err != nil {
		return d, err
	}
	return d, nil
}

func (h *Handler) emit(alarm, action string) {
	dims := []metrics.Dimension{{Name: "EndpointName", Value: h.Config.EndpointName}, {Name: "Action", Value: action}}
	// Metrics are best effort: a failed write to stdout must not undo a
	// remediation.
	_ = h.Metrics.Emit(dims, map[string]string{"alarmName": alarm}, metrics.Metric{Name: "Remediations", Unit: metrics.Count, Value: 1})
}

func (h *Handler) handle(ctx context.Context, raw json.RawMessage) (Decision, error) {
	now := h.Now().UTC()
	d := Decision{EndpointName: h.Config.EndpointName, At: now}
	ev, err := DecodeAlarmEvent(raw)
	if err != nil {
		return d, err
	}
	d.AlarmName = ev.Detail.AlarmName
	if !ev.IntoAlarm() {
		d.Action = ActionIgnored
		d.Reason = fmt.Sprintf("transition %s -> %s is not into ALARM", orNone(ev.Detail.PreviousState.Value), ev.Detail.State.Value)
		return d, nil
	}
	d.Kind = h.kindOf(d.AlarmName)
	if d.Kind == "" {
		d.Action, d.Reason = ActionIgnored, "alarm is not on the allow-list (DRIFT_ALARM_NAMES, ERROR_ALARM_NAMES)"
		return d, nil
	}
	// The work gets the invocation's time less releaseReserve, so that
	// after a timeout the claim can still be released with ctx and the
	// retry acts.
	work, cancel := workContext(ctx)
	defer cancel()
	marker := markerKey(h.Config.EndpointName, ev)
	claimed, err := h.claim(work, marker, d)
	if err != nil {
		return d, err
	}
	if !claimed {
		d.Action, d.Reason = ActionDuplicate, "this alarm transition was already handled"
		return d, nil
	}
	d, err = h.remediate(work, ev, d, now)
	if err != nil {
		h.release(ctx, marker)
		return d, err
	}
	h.record(ctx, marker, d)
	return d, nil
}

// releaseReserve is the time kept before the invocation's deadline to
// release or record the marker after the work.
const releaseReserve = 3 * time.Second

// workContext is ctx with its deadline moved releaseReserve earlier.
func workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-releaseReserve))
}

// remediate decides, acts, re-arms and notifies. Every step is safe to
// repeat, which is what a retry after a failure does.
func (h *Handler) remediate(ctx context.Context, ev AlarmEvent, d Decision, now time.Time) (Decision, error) {
	var err error
	switch d.Kind {
	case KindDrift:
		d, err = h.onDrift(ctx, d, now)
	case KindErrors:
		d, err = h.onErrors(ctx, d, now)
	}
	if err != nil {
		return d, err
	}
	// Re-arm: a drift alarm left in ALARM would never fire again, and drift
	// that persists after the cooldown would go unhandled. Errors alarms
	// are re-armed only after a rollback: while the endpoint updates, its
	// deployment guardrails watch the same alarm.
	if d.Kind == KindDrift || d.Action == ActionRollback {
		if _, err := h.CloudWatch.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName:   aws.String(d.AlarmName),
			StateValue:  cwtypes.StateValueOk,
			StateReason: aws.String(truncate("Remediation "+d.Action+": "+d.Reason+"; re-armed so that a persisting condition fires again", 1023)),
		}); err != nil {
			return d, fmt.Errorf("re-arm alarm %q: %w", d.AlarmName, err)
		}
		d.Rearmed = true
	}
	if err := h.notify(ctx, d); err != nil {
		return d, err
	}
	return d, nil
}

func (h *Handler) kindOf(alarm string) string {
	for _, n := range h.Config.DriftAlarmNames {
		if n == alarm {
			return KindDrift
		}
	}
	for _, n := range h.Config.ErrorAlarmNames {
		if n == alarm {
			return KindErrors
		}
	}
	return ""
}

// markerKey is the object that records one alarm transition's handling.
func markerKey(endpoint string, ev AlarmEvent) string {
	return "monitor/" + endpoint + "/remediation/" + naming.Hash(ev.TransitionID())[:32] + ".json"
}

// claim creates the transition's marker unless it exists. Only the
// invocation that creates it acts; a duplicate event finds it.
func (h *Handler) claim(ctx context.Context, key string, d Decision) (bool, error) {
	d.Action, d.Reason = actionClaimed, "being handled"
	body, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode marker: %w", err)
	}
	_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	})
	switch {
	case err == nil:
		return true, nil
	case faults.KindOf(err) != faults.Conflict:
		return false, fmt.Errorf("claim marker s3://%s/%s: %w", h.Config.ArtifactsBucket, key, err)
	}
	// The marker exists: a finished decision, a claim being worked on, or
	// the claim of an invocation that died (timed out) before it released
	// it. Only the last is taken over, once it is older than any invocation
	// can run; every action is safe to repeat.
	prev, err := h.readMarker(ctx, key)
	if err != nil {
		return false, err
	}
	if prev.Action != actionClaimed {
		return false, nil
	}
	if d.At.Sub(prev.At) < ClaimTTL {
		// Being worked on, or left by an invocation that failed and could
		// not release it. Dropping this event as a duplicate would lose the
		// transition in the second case: it is retried instead, and then
		// finds the decision, the marker released, or the claim stale.
		return false, faults.Wrap(faults.Throttled, fmt.Errorf("alarm transition claimed at %s by another invocation, not finished yet", prev.At.UTC().Format(time.RFC3339)))
	}
	h.Log.WarnContext(ctx, "taking over a stale remediation claim", "key", key, "claimedAt", prev.At)
	_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return false, fmt.Errorf("take over marker s3://%s/%s: %w", h.Config.ArtifactsBucket, key, err)
	}
	return true, nil
}

// ClaimTTL is how old a claim must be before another invocation takes it
// over: longer than the function's timeout, so a live invocation is never
// overtaken.
const ClaimTTL = 5 * time.Minute

// actionClaimed marks a transition being handled.
const actionClaimed = "claimed"

func (h *Handler) readMarker(ctx context.Context, key string) (Decision, error) {
	var d Decision
	out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key)})
	if err != nil {
		if faults.KindOf(err) == faults.NotFound {
			// Released between our write and this read: the other
			// invocation failed and its retry will act.
			return Decision{Action: "released"}, nil
		}
		return d, fmt.Errorf("read marker s3://%s/%s: %w", h.Config.ArtifactsBucket, key, err)
	}
	defer out.Body.Close()
	if err := json.NewDecoder(io.LimitReader(out.Body, 1<<20)).Decode(&d); err != nil {
		// An unreadable marker still proves the transition was claimed.
		return Decision{Action: "unreadable"}, nil
	}
	return d, nil
}

// release deletes the marker after a failure so that the retry acts.
func (h *Handler) release(ctx context.Context, key string) {
	if _, err := h.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key)}); err != nil {
		h.Log.WarnContext(ctx, "could not release the remediation marker; a retry will see a duplicate", "key", key, "error", err)
	}
}

// record overwrites the marker with the decision, for the record. The
// marker already exists, which is all the duplicate check needs, so a
// failure here is logged, not returned.
func (h *Handler) record(ctx context.Context, key string, d Decision) {
	body, err := json.Marshal(d)
	if err == nil {
		_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("application/json"),
		})
	}
	if err != nil {
		h.Log.WarnContext(ctx, "could not record the decision in the marker", "key", key, "error", err)
	}
}

// liveModel reads the registry record; nil when nothing was deployed.
func (h *Handler) liveModel(ctx context.Context) (*pipeline.LiveModel, error) {
	return registry.Read(ctx, h.S3, h.Config.ArtifactsBucket, h.Config.EndpointName)
}

// onDrift retrains on newer data, within the guards, or asks for data.
func (h *Handler) onDrift(ctx context.Context, d Decision, now time.Time) (Decision, error) {
	live, err := h.liveModel(ctx)
	if err != nil {
		return d, err
	}
	newest, err := h.newestDataset(ctx)
	if err != nil {
		return d, err
	}
	switch {
	case newest == nil:
		d.Action = ActionNeedData
		d.Reason = fmt.Sprintf("no dataset under s3://%s/%s: label new data and upload it", h.Config.RawBucket, h.Config.RawPrefix)
		return d, nil
	case live != nil && !newest.LastModified.After(live.Dataset.LastModified):
		d.Action, d.Dataset = ActionNeedData, newest
		d.Reason = fmt.Sprintf("the newest dataset %s (%s) is not newer than the live model's %s (%s): retraining would learn nothing new; label new data and upload it",
			newest.URI(), newest.LastModified.Format(time.RFC3339), live.Dataset.URI(), live.Dataset.LastModified.Format(time.RFC3339))
		return d, nil
	}
	d.Dataset = newest
	if reason, err := h.retrainGuard(ctx, now); err != nil || reason != "" {
		d.Action, d.Reason = ActionRetrainSkipped, reason
		return d, err
	}
	window := now.Truncate(h.Config.RetrainCooldown)
	d.ExecutionName = naming.Retrain(h.Config.EndpointName, window.Format(time.RFC3339), newest.Identity())
	// The input depends only on the dataset and the window, so a second
	// event in the window asks for exactly the same execution.
	input, err := json.Marshal(pipeline.Input{
		Dataset: *newest, Trigger: pipeline.TriggerRetrain,
		Reason: fmt.Sprintf("drift alarm %s; retraining window from %s", d.AlarmName, window.Format(time.RFC3339)),
	})
	if err != nil {
		return d, fmt.Errorf("encode execution input: %w", err)
	}
	out, err := h.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.Config.StateMachineARN), Name: aws.String(d.ExecutionName), Input: aws.String(string(input)),
	})
	switch {
	case err == nil:
		d.ExecutionARN = aws.ToString(out.ExecutionArn)
		d.Action = ActionRetrain
		d.Reason = fmt.Sprintf("drift on the live model and %s (%s) is newer than its training data", newest.URI(), newest.LastModified.Format(time.RFC3339))
	case faults.KindOf(err) == faults.Conflict:
		d.Action = ActionRetrainSkipped
		d.Reason = fmt.Sprintf("execution %s already exists: this cooldown window's retraining was started", d.ExecutionName)
	default:
		return d, fmt.Errorf("start execution %q: %w", d.ExecutionName, err)
	}
	return d, nil
}

// newestDataset is the most recently modified object under the raw prefix,
// found page by page.
func (h *Handler) newestDataset(ctx context.Context) (*pipeline.Dataset, error) {
	p := s3.NewListObjectsV2Paginator(h.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(h.Config.RawBucket), Prefix: aws.String(h.Config.RawPrefix), MaxKeys: aws.Int32(1000),
	})
	var best *pipeline.Dataset
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list datasets under s3://%s/%s: %w", h.Config.RawBucket, h.Config.RawPrefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") || aws.ToInt64(o.Size) == 0 {
				continue
			}
			mod := aws.ToTime(o.LastModified)
			if best == nil || mod.After(best.LastModified) || (mod.Equal(best.LastModified) && key > best.Key) {
				best = &pipeline.Dataset{Bucket: h.Config.RawBucket, Key: key, ETag: strings.Trim(aws.ToString(o.ETag), `"`),
					Size: aws.ToInt64(o.Size), LastModified: mod.UTC()}
			}
		}
	}
	if best == nil {
		return nil, nil
	}
	// The version id pins the exact bytes the retraining reads.
	head, err := h.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(best.Bucket), Key: aws.String(best.Key)})
	if err != nil {
		return nil, fmt.Errorf("head dataset %s: %w", best.URI(), err)
	}
	best.VersionID = aws.ToString(head.VersionId)
	if best.VersionID == "null" {
		best.VersionID = ""
	}
	return best, nil
}

// retrainGuard returns why a retraining must not start now, or "".
func (h *Handler) retrainGuard(ctx context.Context, now time.Time) (string, error) {
	running, err := h.SFN.ListExecutions(ctx, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(h.Config.StateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 10,
	})
	if err != nil {
		return "", fmt.Errorf("list running executions: %w", err)
	}
	if len(running.Executions) > 0 {
		return fmt.Sprintf("execution %s is already running; its model will be checked by the next monitoring runs", aws.ToString(running.Executions[0].Name)), nil
	}
	// Executions come newest first; the retrainings of this endpoint are
	// recognised by the name prefix naming.Retrain gives them.
	prefix := retrainPrefix(h.Config.EndpointName)
	dayAgo := now.Add(-24 * time.Hour)
	var count int64
	var last time.Time
	p := sfn.NewListExecutionsPaginator(h.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(h.Config.StateMachineARN), MaxResults: 100})
pages:
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list executions: %w", err)
		}
		for _, e := range page.Executions {
			started := aws.ToTime(e.StartDate)
			if started.Before(dayAgo) {
				break pages
			}
			if !strings.HasPrefix(aws.ToString(e.Name), prefix) {
				continue
			}
			count++
			if started.After(last) {
				last = started
			}
		}
	}
	if count >= h.Config.MaxRetrainsPerDay {
		return fmt.Sprintf("daily cap reached: %d retrainings of %s in the last 24 hours (MAX_RETRAINS_PER_DAY=%d)", count, h.Config.EndpointName, h.Config.MaxRetrainsPerDay), nil
	}
	if !last.IsZero() && now.Sub(last) < h.Config.RetrainCooldown {
		return fmt.Sprintf("cooldown: the last retraining started at %s, less than %s ago; drift that persists fires the alarm again after that",
			last.UTC().Format(time.RFC3339), h.Config.RetrainCooldown), nil
	}
	return "", nil
}

// retrainPrefix is what every retraining execution name of endpoint starts
// with: naming.Retrain's name without its hash.
func retrainPrefix(endpoint string) string {
	n := naming.Retrain(endpoint, "", naming.ObjectIdentity{})
	return n[:strings.LastIndexByte(n, '-')+1]
}

// onErrors rolls the endpoint back to the configuration that was live
// before the last deployment, when that deployment is recent.
func (h *Handler) onErrors(ctx context.Context, d Decision, now time.Time) (Decision, error) {
	live, err := h.liveModel(ctx)
	if err != nil {
		return d, err
	}
	d.Action = ActionRollbackSkipped
	switch {
	case live == nil:
		d.Reason = "no deployment is recorded for the endpoint: nothing to roll back"
		return d, nil
	case live.PreviousEndpointConfigName == "":
		d.Reason = fmt.Sprintf("%s is the endpoint's first configuration: there is no known-good one to go back to", live.EndpointConfigName)
		return d, nil
	case now.Sub(live.DeployedAt) > h.Config.RollbackWindow:
		d.Reason = fmt.Sprintf("the last deployment (%s at %s) is older than %s: the errors are not attributed to it; investigate",
			live.EndpointConfigName, live.DeployedAt.UTC().Format(time.RFC3339), h.Config.RollbackWindow)
		return d, nil
	}
	ep, err := h.SageMaker.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(h.Config.EndpointName)})
	if err != nil {
		return d, fmt.Errorf("describe endpoint %q: %w", h.Config.EndpointName, err)
	}
	current := aws.ToString(ep.EndpointConfigName)
	switch {
	case ep.EndpointStatus != smtypes.EndpointStatusInService:
		d.Reason = fmt.Sprintf("the endpoint is %s: a deployment or rollback is in progress (its guardrails watch the same alarm)", ep.EndpointStatus)
		return d, nil
	case current == live.PreviousEndpointConfigName:
		d.Reason = fmt.Sprintf("the endpoint already runs the previous configuration %s", current)
		return d, nil
	case current != live.EndpointConfigName:
		d.Reason = fmt.Sprintf("the endpoint runs %s, not the recorded live configuration %s: not touching a configuration this platform did not record", current, live.EndpointConfigName)
		return d, nil
	}
	// Read the record of the configuration we go back to before acting: a
	// failure here is retried with nothing changed yet.
	previous, err := h.configRecord(ctx, live.PreviousEndpointConfigName)
	if err != nil {
		return d, err
	}
	if _, err := h.SageMaker.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{
		EndpointName: aws.String(h.Config.EndpointName), EndpointConfigName: aws.String(live.PreviousEndpointConfigName),
	}); err != nil {
		err = fmt.Errorf("roll endpoint %q back to %q: %w", h.Config.EndpointName, live.PreviousEndpointConfigName, err)
		if faults.KindOf(err) == faults.Conflict {
			// The endpoint started changing after it was described (a
			// deployment began): retried, the event finds it updating and
			// leaves it to that deployment's guardrails.
			return d, faults.Wrap(faults.Throttled, err)
		}
		return d, err
	}
	d.Action, d.EndpointConfigName = ActionRollback, live.PreviousEndpointConfigName
	d.Reason = fmt.Sprintf("endpoint errors after the deployment of %s at %s: rolling back to %s",
		live.EndpointConfigName, live.DeployedAt.UTC().Format(time.RFC3339), live.PreviousEndpointConfigName)
	// The live record must name what serves, so that monitoring compares
	// traffic with that model's baseline. The endpoint is already rolling
	// back, so a failure here is reported in the notification rather than
	// retried (a retry would find the endpoint Updating and skip).
	d.RegistryRestored = h.restoreLive(ctx, previous, &d)
	return d, nil
}

// configRecord reads the registry record deploy wrote when config went
// live; nil when there is none (a deployment older than these records).
func (h *Handler) configRecord(ctx context.Context, config string) ([]byte, error) {
	return registry.ReadConfigRecord(ctx, h.S3, h.Config.ArtifactsBucket, h.Config.EndpointName, config)
}

// restoreLive writes record as the live registry record and reports
// whether it did; what went wrong is appended to the decision's reason.
func (h *Handler) restoreLive(ctx context.Context, record []byte, d *Decision) bool {
	if record == nil {
		d.Reason += fmt.Sprintf("; the registry has no record of %s, so the live record still names the rolled-back configuration: redeploy to restore monitoring's baseline", d.EndpointConfigName)
		return false
	}
	if err := registry.Restore(ctx, h.S3, h.Config.ArtifactsBucket, h.Config.EndpointName, record); err != nil {
		h.Log.ErrorContext(ctx, "rolled back, but could not restore the live registry record", "key", pipeline.RegistryKey(h.Config.EndpointName), "error", err)
		d.Reason += fmt.Sprintf("; could not restore the live registry record (%v): monitoring still uses the rolled-back model's baseline", faults.KindOf(err))
		return false
	}
	return true
}

// notify publishes the decision on the topic.
func (h *Handler) notify(ctx context.Context, d Decision) error {
	body, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	subject := truncate(fmt.Sprintf("MLOps %s: %s after alarm %s", h.Config.EndpointName, d.Action, d.AlarmName), 100)
	_, err = h.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(h.Config.TopicARN), Subject: aws.String(subject),
		Message: aws.String(d.Reason + "\n\n" + string(body)),
	})
	if err != nil {
		return fmt.Errorf("publish decision to %s: %w", h.Config.TopicARN, err)
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary, and keeps SNS
// subjects to printable ASCII as SNS requires.
func truncate(s string, n int) string {
	b := []byte(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s))
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
