// Command monitor measures input drift on the live endpoint.
//
// On a schedule (hourly, from the template) or on demand, it reads the live
// model's baseline statistics through the registry record, streams the
// endpoint's data capture files written since its last run, and emits per
// feature the population stability index and the share of missing values,
// plus an overall drift score, as EMF metrics with the endpoint as dimension.
// A checkpoint in S3 (monitor/<endpoint>/checkpoint.json) makes every capture
// file count exactly once; see docs/monitoring.md for the design.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/drift"
	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
	"github.com/gomlops/mlops/shared/registry"
)

// S3API is what the monitor needs from S3.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Config is the monitor's configuration.
type Config struct {
	EndpointName    string
	ArtifactsBucket string
	// PageSize bounds each S3 listing page, so memory stays flat however
	// many capture files there are.
	PageSize int32
	// Lateness is how long an hour partition stays open for capture files
	// that land late.
	Lateness time.Duration
	// FirstLookback bounds how far back the first run (no checkpoint) reads.
	FirstLookback time.Duration
	// MaxObjectsPerRun bounds one run's work; the rest waits for the next run
	// (the checkpoint keeps the unfinished hour open). The invocation's
	// deadline bounds it too (see commitReserve).
	MaxObjectsPerRun int
	// MinRows is the fewest rows a drift score is computed from: PSI over a
	// handful of rows is noise, and would page someone for nothing.
	MinRows int64
}

// The defaults of the settings the template does not set.
const (
	DefaultPageSize         = 100
	DefaultLateness         = 2 * time.Hour
	DefaultFirstLookback    = 24 * time.Hour
	DefaultMaxObjectsPerRun = 2000
	DefaultMinRows          = 50
)

// LoadConfig reads the configuration; problems are collected in env.
func LoadConfig(env *config.Reader) Config {
	return Config{
		EndpointName:     env.String("ENDPOINT_NAME"),
		ArtifactsBucket:  env.String("ARTIFACTS_BUCKET"),
		PageSize:         DefaultPageSize,
		Lateness:         DefaultLateness,
		FirstLookback:    DefaultFirstLookback,
		MaxObjectsPerRun: DefaultMaxObjectsPerRun,
		MinRows:          DefaultMinRows,
	}
}

// Handler runs one monitoring pass per invocation.
type Handler struct {
	S3      S3API
	Config  Config
	Log     *slog.Logger
	Metrics *metrics.Emitter
	Now     func() time.Time
}

// Metric names; the alarms in template.yaml refer to them.
const (
	MetricDriftScore     = "DriftScore"
	MetricNoData         = "NoData"
	MetricRows           = "CapturedRows"
	MetricObjects        = "CaptureObjects"
	MetricLines          = "CaptureLines"
	MetricMalformedLines = "MalformedCaptureLines"
	MetricMalformedRows  = "MalformedCaptureRows"
	MetricFeaturePSI     = "FeaturePSI"
	MetricMissingShare   = "FeatureMissingShare"
	// MetricFailures counts runs dropped for a permanent error.
	MetricFailures    = "MonitoringFailures"
	DimensionEndpoint = "EndpointName"
	DimensionFeature  = "Feature"
	DimensionKind     = "Kind"
)

// Result says what one run found. It is the Lambda's response, for on-demand
// invocations.
type Result struct {
	EndpointName string `json:"endpointName"`
	// NoData is set when nothing could be scored; Reason says why.
	NoData bool   `json:"noData"`
	Reason string `json:"reason,omitempty"`
	// Objects is the number of capture files counted.
	Objects int           `json:"objects"`
	Report  *drift.Report `json:"report,omitempty"`
	// Complete is false when the run's budget ran out; the next run goes on.
	Complete bool `json:"complete"`
	// Discarded is set when an overlapping run committed first: this run's
	// figures were dropped so that no file counts twice.
	Discarded bool `json:"discarded,omitempty"`
	// Failed is set when the run was dropped for a permanent error (a
	// malformed event, an unreadable registry record or baseline); Reason
	// says what failed.
	Failed bool `json:"failed,omitempty"`
}

// Handle runs one pass for a scheduled event or an on-demand {}.
//
// The schedule invokes it asynchronously, so a returned error is retried
// and finally dead-lettered whatever its name. Only transient errors are
// returned. A permanent one (a malformed event, a registry record or
// baseline that cannot be read) fails every retry the same way: it is
// logged, counted (MonitoringFailures, dimension Kind) and dropped, and the
// Result says why; the next scheduled run tries again.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	trigger, err := DecodeEvent(raw)
	if err != nil {
		return h.drop(ctx, Result{EndpointName: h.Config.EndpointName}, err)
	}
	res, err := h.run(ctx)
	if err != nil {
		if faults.IsTransient(err) {
			h.Log.ErrorContext(ctx, "monitoring failed; returned for retry", "endpoint", h.Config.EndpointName, "error", err, "kind", faults.KindOf(err).String())
			return res, err
		}
		return h.drop(ctx, res, err)
	}
	h.Log.InfoContext(ctx, "monitoring done", "endpoint", h.Config.EndpointName, "scheduled", trigger.Scheduled, "eventId", trigger.ID,
		"objects", res.Objects, "noData", res.NoData, "reason", res.Reason, "complete", res.Complete, "discarded", res.Discarded)
	return res, nil
}

// drop ends a run whose error is permanent: logged once, counted, and
// reported in the Result instead of being returned for retries that would
// fail the same way.
func (h *Handler) drop(ctx context.Context, res Result, cause error) (Result, error) {
	kind := faults.KindOf(cause)
	h.Log.ErrorContext(ctx, "monitoring failed permanently; dropped", "endpoint", h.Config.EndpointName, "error", cause, "kind", kind.String())
	dims := append(h.endpointDims(), metrics.Dimension{Name: DimensionKind, Value: kind.String()})
	if err := h.Metrics.Emit(dims, nil, metrics.Metric{Name: MetricFailures, Unit: metrics.Count, Value: 1}); err != nil {
		h.Log.WarnContext(ctx, "emit metric", "metric", MetricFailures, "error", err)
	}
	res.Failed, res.Complete, res.Reason = true, false, cause.Error()
	return res, nil
}

func (h *Handler) run(ctx context.Context) (Result, error) {
	now := h.Now().UTC()
	res := Result{EndpointName: h.Config.EndpointName, Complete: true}
	live, err := h.liveModel(ctx)
	if err != nil {
		return res, err
	}
	if live == nil {
		res.NoData, res.Reason = true, "no live model in the registry yet"
		return res, h.emitNoData(res.Reason)
	}
	baseline, err := h.baseline(ctx, live.BaselineURI)
	if err != nil {
		return res, err
	}
	prev, err := loadCheckpoint(ctx, h.S3, h.Config.ArtifactsBucket, h.Config.EndpointName)
	if err != nil {
		return res, err
	}
	if !prev.exists {
		start := now.Add(-h.Config.FirstLookback)
		if live.DeployedAt.After(start) {
			start = live.DeployedAt
		}
		prev.Checkpoint = Checkpoint{Version: CheckpointVersion, Endpoint: h.Config.EndpointName, OpenFrom: start.UTC().Truncate(time.Hour)}
	}

	acc := drift.NewAccumulator(baseline)
	sc, err := h.scan(ctx, prev.Checkpoint, now, acc)
	if err != nil {
		return res, err
	}
	res.Objects, res.Complete = len(sc.done), sc.firstIncomplete.IsZero()
	next := nextCheckpoint(prev.Checkpoint, h.Config.EndpointName, now, h.Config.Lateness, sc.done, sc.firstIncomplete)
	if err := saveCheckpoint(ctx, h.S3, h.Config.ArtifactsBucket, prev, next); err != nil {
		if errors.Is(err, errLostRace) {
			// The other run counted what it saw and moved the checkpoint;
			// what only this run saw is not in it and will be counted next
			// time. Emitting here would count files twice.
			h.Log.WarnContext(ctx, "overlapping run committed first; discarding this run's figures", "endpoint", h.Config.EndpointName)
			res.Discarded = true
			return res, nil
		}
		return res, err
	}
	report := acc.Report()
	res.Report = &report
	switch {
	case report.Rows == 0:
		res.NoData, res.Reason = true, "no captured rows since the last run"
	case report.Rows < h.Config.MinRows:
		res.NoData, res.Reason = true, fmt.Sprintf("%d rows since the last run, fewer than the %d a drift score needs", report.Rows, h.Config.MinRows)
	}
	return res, h.emit(res, report)
}

// liveModel reads the registry record; nil when nothing was deployed yet.
func (h *Handler) liveModel(ctx context.Context) (*pipeline.LiveModel, error) {
	live, err := registry.Read(ctx, h.S3, h.Config.ArtifactsBucket, h.Config.EndpointName)
	if err != nil || live == nil {
		return nil, err
	}
	key := pipeline.RegistryKey(h.Config.EndpointName)
	if live.BaselineURI == "" {
		return nil, faults.Invalidf("registry record s3://%s/%s has no baselineUri", h.Config.ArtifactsBucket, key)
	}
	return live, nil
}

// maxBaselineBytes bounds the baseline document (a few KiB in practice).
const maxBaselineBytes = 16 << 20

func (h *Handler) baseline(ctx context.Context, uri string) (*drift.Baseline, error) {
	bucket, key, err := pipeline.ParseS3URI(uri)
	switch {
	case err != nil:
		return nil, faults.Invalidf("live model baseline: %v", err)
	case key == "" || strings.HasSuffix(key, "/"):
		return nil, faults.Invalidf("live model baseline: %q does not name an object", uri)
	}
	out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get baseline %s: %w", uri, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxBaselineBytes))
	if err != nil {
		return nil, fmt.Errorf("read baseline %s: %w", uri, err)
	}
	b, err := drift.ReadBaseline(bytes.NewReader(data))
	if err != nil {
		return nil, faults.Invalidf("baseline %s: %v", uri, err)
	}
	return b, nil
}

// scanResult is what a scan counted.
type scanResult struct {
	done            []string
	firstIncomplete time.Time
}

// scan counts every uncounted capture file in the open hour partitions of
// every variant, oldest hour first, within the run's budget.
func (h *Handler) scan(ctx context.Context, cp Checkpoint, now time.Time, acc *drift.Accumulator) (scanResult, error) {
	var res scanResult
	counted := make(map[string]bool, len(cp.Processed))
	for _, k := range cp.Processed {
		counted[k] = true
	}
	variants, err := h.variants(ctx)
	if err != nil {
		return res, err
	}
	last := now.Truncate(time.Hour)
	for hour := cp.OpenFrom; !hour.After(last); hour = hour.Add(time.Hour) {
		for _, v := range variants {
			full, err := h.scanPartition(ctx, hourPrefix(v, hour), counted, acc, &res)
			if err != nil {
				return res, err
			}
			if !full {
				res.firstIncomplete = hour
				return res, nil
			}
		}
	}
	return res, nil
}

// variants lists the endpoint's production variants under capture/.
func (h *Handler) variants(ctx context.Context) ([]string, error) {
	prefix := "capture/" + h.Config.EndpointName + "/"
	p := s3.NewListObjectsV2Paginator(h.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(h.Config.ArtifactsBucket), Prefix: aws.String(prefix),
		Delimiter: aws.String("/"), MaxKeys: aws.Int32(h.Config.PageSize),
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list variants under s3://%s/%s: %w", h.Config.ArtifactsBucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
	}
	return out, nil
}

// scanPartition counts the new files of one hour partition, page by page.
// It reports false when the budget ran out before the partition's end.
func (h *Handler) scanPartition(ctx context.Context, prefix string, counted map[string]bool, acc *drift.Accumulator, res *scanResult) (bool, error) {
	p := s3.NewListObjectsV2Paginator(h.S3, &s3.ListObjectsV2Input{
		Bucket: aws.String(h.Config.ArtifactsBucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(h.Config.PageSize),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list capture files under s3://%s/%s: %w", h.Config.ArtifactsBucket, prefix, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if counted[key] {
				continue
			}
			if len(res.done) >= h.Config.MaxObjectsPerRun || h.outOfTime(ctx) {
				return false, nil
			}
			if err := h.count(ctx, key, acc); err != nil {
				return false, err
			}
			counted[key] = true
			res.done = append(res.done, key)
		}
	}
	return true, nil
}

// commitReserve is the time a run keeps before the invocation's deadline
// to write its checkpoint and metrics. A run that read until the deadline
// would fail without committing, and every retry would redo the same reads
// and time out again.
const commitReserve = 15 * time.Second

// outOfTime reports whether the invocation's deadline is too near to read
// another capture file and still commit what was read.
func (h *Handler) outOfTime(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && dl.Sub(h.Now()) < commitReserve
}

// count streams one capture file into acc. A file that vanished between
// listing and reading (lifecycle expiry) counts as done with nothing in it.
// A read error fails the run before anything is committed, so the retry
// counts the file again from the start and never twice.
func (h *Handler) count(ctx context.Context, key string, acc *drift.Accumulator) error {
	out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(h.Config.ArtifactsBucket), Key: aws.String(key)})
	if err != nil {
		if faults.KindOf(err) == faults.NotFound {
			return nil
		}
		return fmt.Errorf("get capture file s3://%s/%s: %w", h.Config.ArtifactsBucket, key, err)
	}
	defer out.Body.Close()
	if err := acc.ReadCapture(out.Body); err != nil {
		return fmt.Errorf("capture file s3://%s/%s: %w", h.Config.ArtifactsBucket, key, err)
	}
	return nil
}

func (h *Handler) endpointDims() []metrics.Dimension {
	return []metrics.Dimension{{Name: DimensionEndpoint, Value: h.Config.EndpointName}}
}

func (h *Handler) emitNoData(reason string) error {
	return h.Metrics.Emit(h.endpointDims(), map[string]string{"reason": reason},
		metrics.Metric{Name: MetricNoData, Unit: metrics.Count, Value: 1})
}

// emit writes the run's metrics. Without enough rows only counters and
// NoData are written: DriftScore stays missing, which the drift alarm treats
// as not breaching.
func (h *Handler) emit(res Result, r drift.Report) error {
	ms := []metrics.Metric{
		{Name: MetricObjects, Unit: metrics.Count, Value: float64(res.Objects)},
		{Name: MetricLines, Unit: metrics.Count, Value: float64(r.Lines)},
		{Name: MetricMalformedLines, Unit: metrics.Count, Value: float64(r.MalformedLines)},
		{Name: MetricRows, Unit: metrics.Count, Value: float64(r.Rows)},
		{Name: MetricMalformedRows, Unit: metrics.Count, Value: float64(r.MalformedRows)},
	}
	props := map[string]string{}
	if res.NoData {
		ms = append(ms, metrics.Metric{Name: MetricNoData, Unit: metrics.Count, Value: 1})
		props["reason"] = res.Reason
		return h.Metrics.Emit(h.endpointDims(), props, ms...)
	}
	ms = append(ms, metrics.Metric{Name: MetricNoData, Unit: metrics.Count, Value: 0})
	if r.Scored {
		ms = append(ms, metrics.Metric{Name: MetricDriftScore, Unit: metrics.None, Value: r.Score})
	}
	if err := h.Metrics.Emit(h.endpointDims(), props, ms...); err != nil {
		return err
	}
	for _, f := range r.Features {
		dims := append(h.endpointDims(), metrics.Dimension{Name: DimensionFeature, Value: f.Name})
		fm := []metrics.Metric{{Name: MetricMissingShare, Unit: metrics.None, Value: f.MissingShare}}
		if f.Scored {
			fm = append(fm, metrics.Metric{Name: MetricFeaturePSI, Unit: metrics.None, Value: f.PSI})
		}
		if err := h.Metrics.Emit(dims, nil, fm...); err != nil {
			return err
		}
	}
	return nil
}
