package sfnemu

import (
	"time"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/awsmetrics"
)

// MetricsNamespace is the CloudWatch namespace of Step Functions' metrics.
const MetricsNamespace = "AWS/States"

// MetricDatum is one datapoint Step Functions publishes to CloudWatch. It is an
// alias of awsmetrics.Datum, kept because localcloud/stack names it.
type MetricDatum = awsmetrics.Datum

// terminalMetrics names the metric counting executions that ended in each
// status.
var terminalMetrics = map[string]string{
	asl.StatusSucceeded: "ExecutionsSucceeded",
	asl.StatusFailed:    "ExecutionsFailed",
	asl.StatusTimedOut:  "ExecutionsTimedOut",
	asl.StatusAborted:   "ExecutionsAborted",
}

func (s *Service) publish(stateMachineARN, what string, data []awsmetrics.Datum) {
	for i := range data {
		data[i].Namespace = MetricsNamespace
		data[i].Dimensions = []awsmetrics.Dimension{{Name: "StateMachineArn", Value: stateMachineARN}}
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
	s.publish(stateMachineARN, "ExecutionsStarted", []awsmetrics.Datum{{MetricName: "ExecutionsStarted", Timestamp: start, Unit: "Count", Value: 1}})
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
	s.publish(stateMachineARN, name, []awsmetrics.Datum{
		{MetricName: name, Timestamp: stop, Unit: "Count", Value: 1},
		{MetricName: "ExecutionTime", Timestamp: stop, Unit: "Milliseconds", Value: float64(stop.Sub(start).Microseconds()) / 1000},
	})
}
