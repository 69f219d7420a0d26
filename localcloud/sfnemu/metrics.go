package sfnemu

import (
	"time"

	"github.com/gomlops/mlops/localcloud/asl"
)

// MetricsNamespace is the CloudWatch namespace of Step Functions' metrics.
const MetricsNamespace = "AWS/States"

// MetricDimension is one dimension of a published metric.
type MetricDimension struct {
	Name  string
	Value string
}

// MetricDatum is one datapoint Step Functions publishes to CloudWatch.
type MetricDatum struct {
	Namespace  string
	MetricName string
	Dimensions []MetricDimension
	Timestamp  time.Time
	// Unit is a CloudWatch unit ("Count", "Milliseconds").
	Unit  string
	Value float64
}

// MetricsSink receives the metrics Step Functions publishes: the local
// CloudWatch's PutMetricData behind a small adapter. It must not call
// back into the Service.
type MetricsSink interface {
	PutMetricData(data []MetricDatum) error
}

// MetricsSinkFunc adapts a function to MetricsSink.
type MetricsSinkFunc func(data []MetricDatum) error

// PutMetricData calls f.
func (f MetricsSinkFunc) PutMetricData(data []MetricDatum) error { return f(data) }

// terminalMetrics names the metric counting executions that ended in each
// status.
var terminalMetrics = map[string]string{
	asl.StatusSucceeded: "ExecutionsSucceeded",
	asl.StatusFailed:    "ExecutionsFailed",
	asl.StatusTimedOut:  "ExecutionsTimedOut",
	asl.StatusAborted:   "ExecutionsAborted",
}

func (s *Service) publish(stateMachineARN, what string, data []MetricDatum) {
	for i := range data {
		data[i].Namespace = MetricsNamespace
		data[i].Dimensions = []MetricDimension{{Name: "StateMachineArn", Value: stateMachineARN}}
	}
	if err := s.opts.Metrics.PutMetricData(data); err != nil {
		s.log.Warn("publish execution metrics", "stateMachine", stateMachineARN, "metrics", what, "err", err)
	}
}

// publishStarted publishes ExecutionsStarted (1, Count) for an execution
// that started at start (not for a StartExecution answered with an
// execution already running).
func (s *Service) publishStarted(stateMachineARN string, start time.Time) {
	if s.opts.Metrics == nil {
		return
	}
	s.publish(stateMachineARN, "ExecutionsStarted", []MetricDatum{{MetricName: "ExecutionsStarted", Timestamp: start, Unit: "Count", Value: 1}})
}

// publishClosed publishes, at the execution's stop time, the count of its
// terminal status (ExecutionsSucceeded, ExecutionsFailed,
// ExecutionsTimedOut or ExecutionsAborted: 1, Count) and ExecutionTime,
// start to close on the emulator's clock, in milliseconds.
func (s *Service) publishClosed(stateMachineARN, status string, start, stop time.Time) {
	name, ok := terminalMetrics[status]
	if s.opts.Metrics == nil || !ok {
		return
	}
	s.publish(stateMachineARN, name, []MetricDatum{
		{MetricName: name, Timestamp: stop, Unit: "Count", Value: 1},
		{MetricName: "ExecutionTime", Timestamp: stop, Unit: "Milliseconds", Value: float64(stop.Sub(start).Microseconds()) / 1000},
	})
}
