// Package main is the ingest Lambda: the target of an EventBridge rule for S3
// "Object Created" events on the raw bucket. It checks the object is a
// dataset the pipeline can train on and starts one pipeline execution per
// object version, named after the object's identity so that duplicate
// deliveries start nothing new.
//
// With TRAINING_TRIGGER=drift, a dataset that arrives while a model is live
// is held in the raw bucket instead: retraining then happens when drift
// calls for it (the remediate function trains on the newest held dataset),
// which keeps training costs to when they pay. The first dataset, with no
// live model yet, always trains.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/naming"
	"github.com/gomlops/mlops/shared/pipeline"
	"github.com/gomlops/mlops/shared/registry"
)

// StartExecutionAPI is the Step Functions operation ingest uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// HeadObjectAPI is the S3 operation ingest uses to see whether a model is
// live (TRAINING_TRIGGER=drift only).
type HeadObjectAPI interface {
	HeadObject(ctx context.Context, params *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Training triggers (TRAINING_TRIGGER).
const (
	// TriggerOnUpload trains on every accepted upload.
	TriggerOnUpload = "upload"
	// TriggerOnDrift trains on an upload only while no model is live;
	// later datasets wait for a drift alarm.
	TriggerOnDrift = "drift"
)

// Config is ingest's configuration.
type Config struct {
	StateMachineARN string
	// Rules decide which objects start the pipeline.
	Rules Rules
	// Trigger is TriggerOnUpload or TriggerOnDrift.
	Trigger string
	// ArtifactsBucket and EndpointName locate the live-model record; they
	// are required with TriggerOnDrift only.
	ArtifactsBucket string
	EndpointName    string
}

// LoadConfig reads Config; problems are collected in r.
func LoadConfig(r *config.Reader) Config {
	c := Config{
		StateMachineARN: r.String("STATE_MACHINE_ARN"),
		Rules: Rules{
			Bucket:         r.String("RAW_BUCKET"),
			Prefix:         r.StringOr("RAW_PREFIX", "raw/"),
			MaxObjectBytes: r.Int64Or("MAX_OBJECT_BYTES", 1<<30, 1, 5<<40),
		},
		Trigger: r.OneOf("TRAINING_TRIGGER", TriggerOnUpload, TriggerOnUpload, TriggerOnDrift),
	}
	if c.Trigger == TriggerOnDrift {
		c.ArtifactsBucket = r.String("ARTIFACTS_BUCKET")
		c.EndpointName = r.String("ENDPOINT_NAME")
	}
	return c
}

// Metric names ingest emits (EMF, namespace METRICS_NAMESPACE).
const (
	MetricStarted    = "ExecutionsStarted"
	MetricDuplicate  = "DuplicateEvents"
	MetricRejected   = "RejectedObjects" // dimension Reason
	MetricMalformed  = "MalformedEvents" // dimension Reason
	MetricStartError = "StartFailures"   // dimension Kind
	MetricHeld       = "DatasetsHeld"    // TRAINING_TRIGGER=drift with a live model
)

// startSkew is how much older than the request an execution's start date
// must be for an idempotent StartExecution answer to count as a duplicate:
// Step Functions answers a second StartExecution with the same name and input
// with the running execution instead of ExecutionAlreadyExists.
const startSkew = 5 * time.Second

// Handler starts the pipeline for accepted uploads.
type Handler struct {
	SFN StartExecutionAPI
	// Registry is used with TriggerOnDrift only; it may be nil otherwise.
	Registry HeadObjectAPI
	Config   Config
	Log      *slog.Logger
	Metrics  *metrics.Emitter
	Now      func() time.Time
}

// Handle processes one EventBridge event. It returns nil for events it
// handled or deliberately dropped (rejected objects, malformed events: a
// retry could never succeed) and an error only when a retry may succeed, so
// Lambda's asynchronous retries and the dead-letter queue apply.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	ds, err := Decode(raw, h.Config.Rules)
	if err != nil {
		var rej *Rejection
		if !errors.As(err, &rej) {
			// Decode only fails with a Rejection; anything else is a bug
			// worth retrying and dead-lettering rather than dropping.
			return fmt.Errorf("decode event: %w", err)
		}
		metric := MetricRejected
		if rej.Malformed {
			metric = MetricMalformed
		}
		h.Log.WarnContext(ctx, "event dropped", "reason", rej.Reason, "detail", rej.Detail, "malformed", rej.Malformed)
		h.emit(ctx, []metrics.Dimension{{Name: "Reason", Value: rej.Reason}}, metric)
		return nil
	}

	if h.Config.Trigger == TriggerOnDrift {
		live, err := h.modelIsLive(ctx)
		if err != nil {
			h.Log.ErrorContext(ctx, "could not tell whether a model is live", "dataset", ds.URI(), "kind", faults.KindOf(err).String(), "error", err)
			h.emit(ctx, []metrics.Dimension{{Name: "Kind", Value: faults.KindOf(err).String()}}, MetricStartError)
			return err
		}
		if live {
			h.Log.InfoContext(ctx, "dataset held: a model is live and training waits for drift", "dataset", ds.URI(), "versionId", ds.VersionID)
			h.emit(ctx, nil, MetricHeld)
			return nil
		}
	}

	name := naming.Execution("ingest", ds.Identity())
	input, err := json.Marshal(pipeline.Input{Dataset: ds, Trigger: pipeline.TriggerUpload, Reason: "object created: " + ds.URI()})
	if err != nil {
		return fmt.Errorf("encode execution input: %w", err)
	}
	requested := h.Now()
	out, err := h.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.Config.StateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists) || faults.Code(err) == "ExecutionAlreadyExists":
		h.Log.InfoContext(ctx, "duplicate event: execution already exists", "execution", name, "dataset", ds.URI(), "versionId", ds.VersionID)
		h.emit(ctx, nil, MetricDuplicate)
		return nil
	case err != nil:
		kind := faults.KindOf(err)
		h.Log.ErrorContext(ctx, "start execution failed", "execution", name, "dataset", ds.URI(), "kind", kind.String(), "error", err)
		h.emit(ctx, []metrics.Dimension{{Name: "Kind", Value: kind.String()}}, MetricStartError)
		// Returned whatever its kind: a permanent failure here (missing
		// state machine, denied) is a configuration problem, and the
		// dataset must reach the dead-letter queue rather than be lost.
		return fmt.Errorf("start execution %q for %s: %w", name, ds.URI(), err)
	case out.StartDate != nil && out.StartDate.Before(requested.Add(-startSkew)):
		h.Log.InfoContext(ctx, "duplicate event: execution already running", "execution", name, "executionArn", aws.ToString(out.ExecutionArn), "startDate", out.StartDate)
		h.emit(ctx, nil, MetricDuplicate)
		return nil
	}
	h.Log.InfoContext(ctx, "pipeline started", "execution", name, "executionArn", aws.ToString(out.ExecutionArn), "dataset", ds.URI(), "versionId", ds.VersionID, "size", ds.Size)
	h.emit(ctx, nil, MetricStarted)
	return nil
}

// modelIsLive reports whether the endpoint has a live-model record.
func (h *Handler) modelIsLive(ctx context.Context) (bool, error) {
	return registry.Exists(ctx, h.Registry, h.Config.ArtifactsBucket, h.Config.EndpointName)
}

// emit records one count; a metric that cannot be written is logged, never
// allowed to fail the invocation.
func (h *Handler) emit(ctx context.Context, dims []metrics.Dimension, name string) {
	dims = append([]metrics.Dimension{{Name: "Function", Value: "ingest"}}, dims...)
	if err := h.Metrics.Emit(dims, nil, metrics.Metric{Name: name, Unit: metrics.Count, Value: 1}); err != nil {
		h.Log.WarnContext(ctx, "emit metric", "metric", name, "error", err)
	}
}

// Rules decide which objects are datasets.
type Rules struct {
	Bucket         string
	Prefix         string
	MaxObjectBytes int64
}

// Rejection explains why an event starts nothing. Malformed events are not
// S3 "Object Created" events at all; the others are valid events for objects
// that are not datasets.
type Rejection struct {
	Malformed bool
	// Reason is a short, metric-friendly class ("wrong-prefix").
	Reason string
	// Detail is for humans.
	Detail string
}

// Error says why the event was dropped.
func (r *Rejection) Error() string { return r.Reason + ": " + r.Detail }

func malformed(reason, format string, args ...any) error {
	return &Rejection{Malformed: true, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func rejected(reason, format string, args ...any) error {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// objectCreatedEvent is EventBridge's S3 "Object Created" event.
type objectCreatedEvent struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     *struct {
		Version string `json:"version"`
		Bucket  struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      *int64 `json:"size"`
			ETag      string `json:"etag"`
			VersionID string `json:"version-id"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
		RequestID       string `json:"request-id"`
		Requester       string `json:"requester"`
		SourceIPAddress string `json:"source-ip-address"`
		Reason          string `json:"reason"`
	} `json:"detail"`
}

// Decode parses an EventBridge S3 "Object Created" event and applies rules.
// It returns the dataset the event announces, or a *Rejection saying why the
// event starts nothing.
func Decode(raw []byte, rules Rules) (pipeline.Dataset, error) {
	var ev objectCreatedEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return pipeline.Dataset{}, malformed("not-json", "event is not an EventBridge JSON object: %v", err)
	}
	if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
		return pipeline.Dataset{}, malformed("wrong-event", "source %q detail-type %q, want aws.s3 Object Created", ev.Source, ev.DetailType)
	}
	d := ev.Detail
	if d == nil || d.Bucket.Name == "" || d.Object.Key == "" || d.Object.Size == nil {
		return pipeline.Dataset{}, malformed("missing-field", "detail.bucket.name, detail.object.key and detail.object.size are required")
	}
	at, err := time.Parse(time.RFC3339, ev.Time)
	if err != nil {
		return pipeline.Dataset{}, malformed("bad-time", "time %q is not RFC 3339", ev.Time)
	}
	key, err := url.QueryUnescape(d.Object.Key)
	if err != nil {
		return pipeline.Dataset{}, rejected("bad-key-encoding", "key %q is not URL-encoded correctly: %v", d.Object.Key, err)
	}
	size := *d.Object.Size
	switch {
	case d.Bucket.Name != rules.Bucket:
		return pipeline.Dataset{}, rejected("wrong-bucket", "bucket %q is not the raw bucket %q", d.Bucket.Name, rules.Bucket)
	case !strings.HasPrefix(key, rules.Prefix):
		return pipeline.Dataset{}, rejected("wrong-prefix", "key %q is outside prefix %q", key, rules.Prefix)
	case !strings.HasSuffix(strings.ToLower(key), ".csv"):
		return pipeline.Dataset{}, rejected("not-csv", "key %q does not end in .csv", key)
	case size <= 0:
		return pipeline.Dataset{}, rejected("empty-object", "object %q has size %d", key, size)
	case size > rules.MaxObjectBytes:
		return pipeline.Dataset{}, rejected("too-large", "object %q has %d bytes, more than %d", key, size, rules.MaxObjectBytes)
	}
	ds := pipeline.Dataset{
		Bucket:       d.Bucket.Name,
		Key:          key,
		VersionID:    d.Object.VersionID,
		Sequencer:    d.Object.Sequencer,
		ETag:         d.Object.ETag,
		Size:         size,
		LastModified: at.UTC(),
	}
	if err := ds.Validate(); err != nil {
		return pipeline.Dataset{}, rejected("not-an-object", "%v", err)
	}
	return ds, nil
}
