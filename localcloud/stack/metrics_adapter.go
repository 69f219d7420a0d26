package stack

import (
	"errors"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/sagemakeremu"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

// maxPendingMetrics bounds the datapoints kept while CloudWatch is not
// running yet (the services start before it; nothing runs that early).
const maxPendingMetrics = 10000

// metricsSink is where every emulator publishes its AWS/* metrics (Lambda,
// Step Functions, SQS, SageMaker): the CloudWatch emulator's PutMetricData,
// once it runs. CloudWatch starts after them (it sends alarm state changes
// to EventBridge, which calls them), so datapoints published earlier wait.
type metricsSink struct {
	mu      sync.Mutex
	cw      *cloudwatchemu.Service
	pending []cloudwatchemu.Datum
}

// set connects CloudWatch and hands it what was published so far.
func (m *metricsSink) set(cw *cloudwatchemu.Service) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cw = cw
	pending := m.pending
	m.pending = nil
	if len(pending) == 0 {
		return nil
	}
	return cw.PutMetricData(pending)
}

func (m *metricsSink) put(data []cloudwatchemu.Datum) error {
	m.mu.Lock()
	cw := m.cw
	if cw == nil {
		defer m.mu.Unlock()
		if len(m.pending)+len(data) > maxPendingMetrics {
			return errors.New("CloudWatch is not running yet")
		}
		m.pending = append(m.pending, data...)
		return nil
	}
	m.mu.Unlock()
	return cw.PutMetricData(data)
}

// datum converts one emulator datapoint; every emulator's MetricDatum has
// the same fields.
func datum[D ~struct{ Name, Value string }](namespace, name string, dims []D, at time.Time, unit string, v float64) cloudwatchemu.Datum {
	out := cloudwatchemu.Datum{Namespace: namespace, MetricName: name, Timestamp: at, Unit: unit, Values: []float64{v}, Dimensions: make([]cloudwatchemu.Dimension, len(dims))}
	for i, d := range dims {
		out.Dimensions[i] = cloudwatchemu.Dimension(d)
	}
	return out
}

// lambdaMetrics is the sink for lambdaemu.
type lambdaMetrics struct{ *metricsSink }

func (m lambdaMetrics) PutMetricData(data []lambdaemu.MetricDatum) error {
	out := make([]cloudwatchemu.Datum, len(data))
	for i, d := range data {
		out[i] = datum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
	}
	return m.put(out)
}

// stepFunctionsMetrics is the sink for sfnemu.
type stepFunctionsMetrics struct{ *metricsSink }

func (m stepFunctionsMetrics) PutMetricData(data []sfnemu.MetricDatum) error {
	out := make([]cloudwatchemu.Datum, len(data))
	for i, d := range data {
		out[i] = datum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
	}
	return m.put(out)
}

// sqsMetrics is the sink for sqsemu.
type sqsMetrics struct{ *metricsSink }

func (m sqsMetrics) PutMetricData(data []sqsemu.MetricDatum) error {
	out := make([]cloudwatchemu.Datum, len(data))
	for i, d := range data {
		out[i] = datum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
	}
	return m.put(out)
}

// sageMakerMetrics is the sink for sagemakeremu.
type sageMakerMetrics struct{ *metricsSink }

func (m sageMakerMetrics) PutMetricData(data []sagemakeremu.MetricDatum) error {
	out := make([]cloudwatchemu.Datum, len(data))
	for i, d := range data {
		out[i] = datum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
	}
	return m.put(out)
}
