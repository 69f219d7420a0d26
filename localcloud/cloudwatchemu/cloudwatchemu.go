// Package cloudwatchemu is the local cloud's Amazon CloudWatch: metrics and
// metric alarms, as far as this application uses them.
//
// Metrics come from the functions' Embedded Metric Format log lines
// (IngestLog, called by the Lambda emulator for every stdout line, parsed
// as CloudWatch parses _aws.CloudWatchMetrics directives) and from
// PutMetricData. Alarms come from the template (Options.Alarms, the fields
// of AWS::CloudWatch::Alarm, metric math included) or PutMetricAlarm; they
// are evaluated on the injected clock with CloudWatch's semantics (period
// buckets, statistic, threshold and comparison, M out of N datapoints,
// TreatMissingData, INSUFFICIENT_DATA start state), and every state change
// is put on EventBridge as a "CloudWatch Alarm State Change" event in AWS's
// shape, and the alarm's SNS actions get CloudWatch's notification
// message. SetAlarmState changes the state until the next evaluation.
//
// The API is served in every protocol the clients speak: Smithy RPC v2
// CBOR (the Go SDK v2 and boto3: POST
// /service/GraniteServiceVersion20100801/operation/<Op>), AWS JSON 1.0
// (the AWS CLI v1: X-Amz-Target GraniteServiceVersion20100801.<Op>) and
// the query protocol (Action=...&..., XML answers) of older clients, for
// PutMetricData, GetMetricData, ListMetrics, PutMetricAlarm,
// DescribeAlarms, SetAlarmState and DeleteAlarms. Errors carry CloudWatch's
// query error codes (X-Amzn-Query-Error), as the awsQueryCompatible
// service does.
//
// Alarms and their states live in StateDir/cloudwatch/alarms.json,
// datapoints in StateDir/cloudwatch/metrics.jsonl; both survive a restart.
package cloudwatchemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventbridge"
)

// EventEmitter puts events on the local EventBridge bus (its Emit).
type EventEmitter interface {
	Emit(ctx context.Context, ev eventbridge.Event) error
}

// TopicPublisher publishes a message to an SNS topic ARN (the local SNS's
// Deliver).
type TopicPublisher interface {
	Deliver(ctx context.Context, topicARN string, message []byte) error
}

// Retention is how long datapoints are kept (CloudWatch keeps 1-hour
// datapoints for 15 months; two weeks cover every alarm of the template).
const Retention = 15 * 24 * time.Hour

// Options configure a Service.
type Options struct {
	// StateDir holds alarms and datapoints (StateDir/cloudwatch).
	StateDir string
	// Clock drives evaluation, timestamps and the evaluation loop.
	Clock clock.Clock
	// Region and AccountID (defaults us-east-1, 123456789012).
	Region, AccountID string
	// Alarms are registered at start (from the template), replacing the
	// configuration of stored alarms of the same name and keeping their
	// state.
	Alarms []Alarm
	// Events receives alarm state changes; nil drops them.
	Events EventEmitter
	// Actions delivers alarm notifications to the SNS topics of
	// AlarmActions, OKActions and InsufficientDataActions; nil drops them.
	Actions TopicPublisher
	// Logger receives rejected EMF records and event failures (default:
	// discard).
	Logger *slog.Logger
}

// Dimension is a metric dimension.
type Dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// StatisticSet is a pre-aggregated set of samples.
type StatisticSet struct {
	SampleCount float64 `json:"SampleCount"`
	Sum         float64 `json:"Sum"`
	Minimum     float64 `json:"Minimum"`
	Maximum     float64 `json:"Maximum"`
}

// Datum is one stored datapoint: raw values (with counts) or a statistic
// set.
type Datum struct {
	Namespace  string        `json:"ns"`
	MetricName string        `json:"name"`
	Dimensions []Dimension   `json:"dims,omitempty"`
	Timestamp  time.Time     `json:"t"`
	Unit       string        `json:"unit,omitempty"`
	Values     []float64     `json:"values,omitempty"`
	Counts     []float64     `json:"counts,omitempty"`
	Stats      *StatisticSet `json:"stats,omitempty"`
}

// Metric identifies a series.
type Metric struct {
	Namespace  string      `json:"Namespace"`
	MetricName string      `json:"MetricName"`
	Dimensions []Dimension `json:"Dimensions,omitempty" xml:"Dimensions>member"`
}

type series struct {
	metric Metric
	points []Datum
}

// Service is the CloudWatch emulator. It is safe for concurrent use.
type Service struct {
	opts   Options
	logger *slog.Logger
	dir    string

	mu     sync.Mutex
	series map[string]*series
	alarms map[string]*alarmState
	mfile  *os.File

	evalMu sync.Mutex // one evaluation at a time
}

// New loads the stored alarms and datapoints, registers opts.Alarms and
// returns the service. Call Run to evaluate alarms on the clock.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("cloudwatchemu: StateDir is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, logger: logger, dir: filepath.Join(opts.StateDir, "cloudwatch"), series: map[string]*series{}, alarms: map[string]*alarmState{}}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cloudwatchemu: %w", err)
	}
	if err := s.loadMetrics(); err != nil {
		return nil, err
	}
	if err := s.loadAlarms(); err != nil {
		return nil, err
	}
	for _, a := range opts.Alarms {
		if err := s.PutMetricAlarm(a); err != nil {
			s.Close()
			return nil, fmt.Errorf("cloudwatchemu: alarm %q: %w", a.AlarmName, err)
		}
	}
	return s, nil
}

// Close releases the datapoint log.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mfile != nil {
		_ = s.mfile.Close()
		s.mfile = nil
	}
}

// Run evaluates every alarm once a minute on the clock (as CloudWatch
// does) until ctx ends.
func (s *Service) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(time.Minute):
			if err := s.EvaluateNow(ctx); err != nil {
				s.logger.Warn("evaluate alarms", "error", err)
			}
		}
	}
}

func seriesKey(ns, name string, dims []Dimension) string {
	var b strings.Builder
	b.WriteString(ns)
	b.WriteByte(0)
	b.WriteString(name)
	for _, d := range dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

// sortDims returns dims sorted by name (a series is identified by its set
// of dimensions, whatever their order).
func sortDims(dims []Dimension) []Dimension {
	out := append([]Dimension(nil), dims...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Service) metricsPath() string { return filepath.Join(s.dir, "metrics.jsonl") }

// loadMetrics reads the datapoint log, dropping points past Retention, and
// rewrites it compacted.
func (s *Service) loadMetrics() error {
	f, err := os.Open(s.metricsPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cloudwatchemu: open datapoints: %w", err)
	}
	cutoff := s.opts.Clock.Now().Add(-Retention)
	var kept []Datum
	if f != nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var d Datum
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				// A torn last line from a crash: skip it, keep the rest.
				continue
			}
			if d.Timestamp.Before(cutoff) {
				continue
			}
			kept = append(kept, d)
		}
		err := sc.Err()
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("cloudwatchemu: read datapoints: %w", err)
		}
	}
	tmp := s.metricsPath() + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cloudwatchemu: compact datapoints: %w", err)
	}
	w := bufio.NewWriter(out)
	for _, d := range kept {
		line, err := json.Marshal(d)
		if err != nil {
			_ = out.Close()
			return fmt.Errorf("cloudwatchemu: compact datapoints: %w", err)
		}
		_, _ = w.Write(append(line, '\n'))
		s.addLocked(d)
	}
	if err := w.Flush(); err != nil {
		_ = out.Close()
		return fmt.Errorf("cloudwatchemu: compact datapoints: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("cloudwatchemu: compact datapoints: %w", err)
	}
	if err := os.Rename(tmp, s.metricsPath()); err != nil {
		return fmt.Errorf("cloudwatchemu: compact datapoints: %w", err)
	}
	s.mfile, err = os.OpenFile(s.metricsPath(), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cloudwatchemu: open datapoints: %w", err)
	}
	return nil
}

// pruneLocked forgets datapoints older than Retention (the log on disk is
// compacted at the next start).
func (s *Service) pruneLocked(now time.Time) {
	cutoff := now.Add(-Retention)
	for k, sr := range s.series {
		kept := sr.points[:0]
		for _, p := range sr.points {
			if !p.Timestamp.Before(cutoff) {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(s.series, k)
			continue
		}
		sr.points = kept
	}
}

// addLocked stores one datum in memory.
func (s *Service) addLocked(d Datum) {
	k := seriesKey(d.Namespace, d.MetricName, d.Dimensions)
	sr := s.series[k]
	if sr == nil {
		sr = &series{metric: Metric{Namespace: d.Namespace, MetricName: d.MetricName, Dimensions: d.Dimensions}}
		s.series[k] = sr
	}
	sr.points = append(sr.points, d)
}

// store validates, records and persists data.
func (s *Service) store(data []Datum) error {
	for i := range data {
		data[i].Dimensions = sortDims(data[i].Dimensions)
		if data[i].Unit == "" {
			data[i].Unit = "None"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf []byte
	for _, d := range data {
		line, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode datapoint: %w", err)
		}
		buf = append(append(buf, line...), '\n')
		s.addLocked(d)
	}
	if s.mfile != nil && len(buf) > 0 {
		if _, err := s.mfile.Write(buf); err != nil {
			return fmt.Errorf("persist datapoints: %w", err)
		}
	}
	return nil
}

// ListMetrics returns every metric with data, sorted, filtered by
// namespace, name and dimension filters (a filter with an empty value
// matches any value of that dimension).
func (s *Service) ListMetrics(namespace, name string, filters []DimensionFilter) []Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Metric
	for _, sr := range s.series {
		m := sr.metric
		if namespace != "" && m.Namespace != namespace || name != "" && m.MetricName != name {
			continue
		}
		if !matchFilters(m.Dimensions, filters) {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		return seriesKey(out[i].Namespace, out[i].MetricName, out[i].Dimensions) < seriesKey(out[j].Namespace, out[j].MetricName, out[j].Dimensions)
	})
	return out
}

// DimensionFilter filters ListMetrics by dimension.
type DimensionFilter struct {
	Name  string `json:"Name"`
	Value string `json:"Value,omitempty"`
}

func matchFilters(dims []Dimension, filters []DimensionFilter) bool {
	for _, f := range filters {
		found := false
		for _, d := range dims {
			if d.Name == f.Name && (f.Value == "" || d.Value == f.Value) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// points returns copies of the datapoints of one series in [from, to).
func (s *Service) points(m Metric, from, to time.Time) []Datum {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[seriesKey(m.Namespace, m.MetricName, sortDims(m.Dimensions))]
	if sr == nil {
		return nil
	}
	var out []Datum
	for _, p := range sr.points {
		if !p.Timestamp.Before(from) && p.Timestamp.Before(to) {
			out = append(out, p)
		}
	}
	return out
}
