// Package metrics writes CloudWatch Embedded Metric Format (EMF) records.
//
// A function prints one JSON line per record to stdout; Lambda ships it to
// CloudWatch Logs and CloudWatch extracts the metrics, with no API call on the
// invocation's path. See
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units the platform uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
	None         Unit = "None"
	Percent      Unit = "Percent"
)

// Metric is one named value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Dimension is one name/value pair that identifies a metric's series.
type Dimension struct {
	Name  string
	Value string
}

// Emitter writes EMF records to w in one namespace. It is safe for
// concurrent use; each record is written with a single Write call.
type Emitter struct {
	w         io.Writer
	namespace string
	now       func() time.Time
	mu        sync.Mutex
}

// New returns an Emitter. now is injected so tests are deterministic.
func New(w io.Writer, namespace string, now func() time.Time) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: now}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Emit writes one record holding every metric, under one dimension set.
// Properties are extra, non-metric fields (such as a request id) that make
// the log line searchable; they must not reuse a metric or dimension name.
func (e *Emitter) Emit(dims []Dimension, props map[string]string, ms ...Metric) error {
	if len(ms) == 0 {
		return nil
	}
	rec := make(map[string]any, 1+len(dims)+len(props)+len(ms))
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.Name
		rec[d.Name] = d.Value
	}
	for k, v := range props {
		rec[k] = v
	}
	defs := make([]emfMetric, len(ms))
	for i, m := range ms {
		if _, taken := rec[m.Name]; taken {
			return fmt.Errorf("emit metric %q: name already used by a dimension or property", m.Name)
		}
		defs[i] = emfMetric{Name: m.Name, Unit: m.Unit}
		rec[m.Name] = m.Value
	}
	rec["_aws"] = emfMeta{
		Timestamp:         e.now().UnixMilli(),
		CloudWatchMetrics: []emfDirective{{Namespace: e.namespace, Dimensions: [][]string{names}, Metrics: defs}},
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode EMF record: %w", err)
	}
	line = append(line, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(line); err != nil {
		return fmt.Errorf("write EMF record: %w", err)
	}
	return nil
}
