package stack

import (
	"errors"
	"sync"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
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

// PutMetricData takes what an emulator publishes (every emulator speaks
// awsmetrics.Datum) and hands it to CloudWatch.
func (m *metricsSink) PutMetricData(data []awsmetrics.Datum) error {
	out := make([]cloudwatchemu.Datum, len(data))
	for i, d := range data {
		out[i] = cloudwatchemu.Datum{Namespace: d.Namespace, MetricName: d.MetricName, Timestamp: d.Timestamp, Unit: d.Unit,
			Values: []float64{d.Value}, Dimensions: make([]cloudwatchemu.Dimension, len(d.Dimensions))}
		for j, dim := range d.Dimensions {
			out[i].Dimensions[j] = cloudwatchemu.Dimension(dim)
		}
	}
	return m.put(out)
}
