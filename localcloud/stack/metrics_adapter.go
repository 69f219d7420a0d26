package stack

import (
	"fmt"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
	"github.com/gomlops/mlops/localcloud/lambdaemu"
	"github.com/gomlops/mlops/localcloud/sagemakeremu"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

// This file adapts the local CloudWatch to the metrics sinks of the
// emulators that publish AWS-owned metrics (AWS/SageMaker, AWS/States,
// AWS/SQS, AWS/Lambda), as the services do in AWS. Each emulator defines
// its own small sink (no emulator imports cloudwatchemu).

// metricsPutter is the local CloudWatch's Go PutMetricData
// (*cloudwatchemu.Service), which accepts the reserved AWS/ namespaces.
type metricsPutter interface {
	PutMetricData(data []cloudwatchemu.Datum) error
}

// maxEarlyMetrics bounds what cloudWatchMetrics holds before bind.
const maxEarlyMetrics = 100000

// cloudWatchMetrics is the local CloudWatch as the emulators' metrics
// sink. The publishers start before CloudWatch (which needs EventBridge,
// which needs them), so datapoints published before bind (executions a
// restart aborted, sends during start-up) are held and stored at bind.
type cloudWatchMetrics struct {
	mu    sync.Mutex
	cw    metricsPutter
	early []cloudwatchemu.Datum
}

// put stores data in CloudWatch, or holds it until bind.
func (m *cloudWatchMetrics) put(data []cloudwatchemu.Datum) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cw != nil {
		return m.cw.PutMetricData(data)
	}
	if len(m.early)+len(data) > maxEarlyMetrics {
		return fmt.Errorf("CloudWatch is not started and %d datapoints are already waiting for it", len(m.early))
	}
	m.early = append(m.early, data...)
	return nil
}

// bind sends every later datapoint to cw and stores the held ones there.
func (m *cloudWatchMetrics) bind(cw metricsPutter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cw = cw
	early := m.early
	m.early = nil
	if len(early) == 0 {
		return nil
	}
	if err := cw.PutMetricData(early); err != nil {
		return fmt.Errorf("store the %d datapoints published before CloudWatch started: %w", len(early), err)
	}
	return nil
}

// cwDatum is a CloudWatch datapoint of one value.
func cwDatum[D ~struct{ Name, Value string }](namespace, name string, dims []D, at time.Time, unit string, v float64) cloudwatchemu.Datum {
	out := cloudwatchemu.Datum{Namespace: namespace, MetricName: name, Timestamp: at, Unit: unit, Values: []float64{v},
		Dimensions: make([]cloudwatchemu.Dimension, len(dims))}
	for i, d := range dims {
		out.Dimensions[i] = cloudwatchemu.Dimension(d)
	}
	return out
}

// sageMaker is the sink of sagemakeremu.Options.Metrics.
func (m *cloudWatchMetrics) sageMaker() sagemakeremu.MetricsSinkFunc {
	return func(data []sagemakeremu.MetricDatum) error {
		out := make([]cloudwatchemu.Datum, len(data))
		for i, d := range data {
			out[i] = cwDatum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
		}
		return m.put(out)
	}
}

// stepFunctions is the sink of sfnemu.Options.Metrics.
func (m *cloudWatchMetrics) stepFunctions() sfnemu.MetricsSinkFunc {
	return func(data []sfnemu.MetricDatum) error {
		out := make([]cloudwatchemu.Datum, len(data))
		for i, d := range data {
			out[i] = cwDatum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
		}
		return m.put(out)
	}
}

// sqs is the sink of sqsemu.Options.Metrics.
func (m *cloudWatchMetrics) sqs() sqsemu.MetricsSinkFunc {
	return func(data []sqsemu.MetricDatum) error {
		out := make([]cloudwatchemu.Datum, len(data))
		for i, d := range data {
			out[i] = cwDatum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
		}
		return m.put(out)
	}
}

// lambda is the sink of lambdaemu.Options.Metrics.
func (m *cloudWatchMetrics) lambda() lambdaemu.MetricsSinkFunc {
	return func(data []lambdaemu.MetricDatum) error {
		out := make([]cloudwatchemu.Datum, len(data))
		for i, d := range data {
			out[i] = cwDatum(d.Namespace, d.MetricName, d.Dimensions, d.Timestamp, d.Unit, d.Value)
		}
		return m.put(out)
	}
}
