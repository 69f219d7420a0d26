package cloudwatchemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// EMF limits of CloudWatch's Embedded Metric Format specification.
const (
	maxEMFDimensions = 30
	maxEMFMetrics    = 100
	maxEMFValues     = 100
	// CloudWatch Logs accepts events up to 14 days old and 2 hours ahead.
	maxEMFAge    = 14 * 24 * time.Hour
	maxEMFFuture = 2 * time.Hour
)

// units are CloudWatch's metric units.
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true, "Megabytes": true,
	"Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true,
	"Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true, "Kilobytes/Second": true,
	"Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true,
	"Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true, "Terabits/Second": true,
	"Count/Second": true, "None": true,
}

// IngestLog extracts metrics from one log line of a function, as
// CloudWatch Logs does for Embedded Metric Format records. Lines that are
// not EMF records are ignored; invalid EMF records are logged and
// dropped, as CloudWatch drops them.
func (s *Service) IngestLog(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' || !bytes.Contains(line, []byte(`"_aws"`)) {
		return
	}
	data, err := ParseEMF(line, s.opts.Clock.Now())
	if err != nil {
		s.logger.Warn("invalid EMF record dropped", "error", err)
		return
	}
	if err := s.store(data); err != nil {
		s.logger.Error("store EMF metrics", "error", err)
	}
}

type emfDirective struct {
	Namespace  *string           `json:"Namespace"`
	Dimensions [][]string        `json:"Dimensions"`
	Metrics    []emfMetricDefine `json:"Metrics"`
}

type emfMetricDefine struct {
	Name              string `json:"Name"`
	Unit              string `json:"Unit"`
	StorageResolution *int   `json:"StorageResolution"`
}

// ParseEMF returns the datapoints an EMF record defines: one per metric
// and dimension set, with every value of a metric given as an array. now
// bounds the record's timestamp as CloudWatch Logs does.
func ParseEMF(line []byte, now time.Time) ([]Datum, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, fmt.Errorf("EMF record is not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *json.Number    `json:"Timestamp"`
		CloudWatchMetrics *[]emfDirective `json:"CloudWatchMetrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(root["_aws"]))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("_aws is not a metadata object: %w", err)
	}
	if meta.Timestamp == nil {
		return nil, errors.New("_aws.Timestamp is required")
	}
	ms, err := meta.Timestamp.Int64()
	if err != nil || ms < 0 {
		return nil, fmt.Errorf("_aws.Timestamp %q is not a non-negative integer of milliseconds", meta.Timestamp.String())
	}
	ts := time.UnixMilli(ms).UTC()
	if ts.Before(now.Add(-maxEMFAge)) || ts.After(now.Add(maxEMFFuture)) {
		return nil, fmt.Errorf("_aws.Timestamp %s is more than 14 days before or 2 hours after now", ts.Format(time.RFC3339))
	}
	if meta.CloudWatchMetrics == nil {
		return nil, errors.New("_aws.CloudWatchMetrics is required")
	}
	var out []Datum
	for i, d := range *meta.CloudWatchMetrics {
		data, err := directiveData(root, d, ts)
		if err != nil {
			return nil, fmt.Errorf("CloudWatchMetrics[%d]: %w", i, err)
		}
		out = append(out, data...)
	}
	return out, nil
}

func directiveData(root map[string]json.RawMessage, d emfDirective, ts time.Time) ([]Datum, error) {
	if d.Namespace == nil || *d.Namespace == "" || len(*d.Namespace) > 1024 {
		return nil, errors.New("Namespace must be a string of 1 to 1024 characters")
	}
	if d.Dimensions == nil {
		return nil, errors.New("Dimensions is required (an array of dimension sets)")
	}
	if len(d.Metrics) > maxEMFMetrics {
		return nil, fmt.Errorf("%d metrics, more than %d", len(d.Metrics), maxEMFMetrics)
	}
	sets := d.Dimensions
	if len(sets) == 0 {
		sets = [][]string{{}}
	}
	var dimSets [][]Dimension
	for _, set := range sets {
		if len(set) > maxEMFDimensions {
			return nil, fmt.Errorf("a dimension set has %d dimensions, more than %d", len(set), maxEMFDimensions)
		}
		var dims []Dimension
		for _, name := range set {
			raw, ok := root[name]
			if !ok {
				return nil, fmt.Errorf("dimension %q has no member in the record", name)
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("dimension %q: its member is not a string", name)
			}
			dims = append(dims, Dimension{Name: name, Value: v})
		}
		dimSets = append(dimSets, sortDims(dims))
	}
	var out []Datum
	for _, m := range d.Metrics {
		if m.Name == "" || len(m.Name) > 1024 {
			return nil, errors.New("a metric Name must be 1 to 1024 characters")
		}
		unit := m.Unit
		if unit == "" {
			unit = "None"
		}
		if !units[unit] {
			return nil, fmt.Errorf("metric %q: unit %q is not a CloudWatch unit", m.Name, m.Unit)
		}
		if r := m.StorageResolution; r != nil && *r != 1 && *r != 60 {
			return nil, fmt.Errorf("metric %q: StorageResolution %d is not 1 or 60", m.Name, *r)
		}
		raw, ok := root[m.Name]
		if !ok {
			// CloudWatch skips a metric whose member is absent.
			continue
		}
		values, err := emfValues(raw)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		for _, dims := range dimSets {
			out = append(out, Datum{Namespace: *d.Namespace, MetricName: m.Name, Dimensions: dims, Timestamp: ts, Unit: unit, Values: values})
		}
	}
	return out, nil
}

// emfValues reads a metric member: a number or an array of numbers.
func emfValues(raw json.RawMessage) ([]float64, error) {
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("its member is not a number or an array of numbers")
	}
	if len(many) == 0 || len(many) > maxEMFValues {
		return nil, fmt.Errorf("%d values, want 1 to %d", len(many), maxEMFValues)
	}
	return many, nil
}
