package sqsemu

import (
	"context"
	"sort"
	"time"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
)

// MetricsNamespace is the CloudWatch namespace of SQS's metrics.
const MetricsNamespace = "AWS/SQS"

// MetricsPeriod is how often RunMetrics samples the queues: SQS reports
// its queue-depth metrics at one-minute intervals.
const MetricsPeriod = time.Minute

// MetricDatum is one datapoint SQS publishes to CloudWatch. It is an
// alias of awsmetrics.Datum, kept because localcloud/stack names it.
type MetricDatum = awsmetrics.Datum

func queueMetric(name, queueName string, at time.Time, v float64) awsmetrics.Datum {
	return awsmetrics.Datum{Namespace: MetricsNamespace, MetricName: name, Dimensions: []awsmetrics.Dimension{{Name: "QueueName", Value: queueName}},
		Timestamp: at, Unit: "Count", Value: v}
}

func (s *Service) publish(data []awsmetrics.Datum) {
	if err := s.opts.Metrics.PutMetricData(data); err != nil && s.opts.Logger != nil {
		s.opts.Logger.Warn("publish SQS metrics", "metric", data[0].MetricName, "error", err)
	}
}

// publishSentLocked publishes NumberOfMessagesSent (1, Count) for a
// message just stored on queueName, at the clock's time. Every send
// counts: the API's, and the Go API's that other emulators use for
// dead-letter queues and destinations (they are SendMessage calls in AWS
// too). Callers hold s.mu, so datapoints follow the order of the sends.
func (s *Service) publishSentLocked(queueName string, at time.Time) {
	if s.opts.Metrics == nil {
		return
	}
	s.publish([]awsmetrics.Datum{queueMetric("NumberOfMessagesSent", queueName, at, 1)})
}

// SampleMetrics publishes ApproximateNumberOfMessagesVisible (the
// messages available for retrieval now, Count) for every queue, at the
// clock's time. RunMetrics calls it every minute.
func (s *Service) SampleMetrics() {
	if s.opts.Metrics == nil {
		return
	}
	s.mu.Lock()
	now := s.opts.Clock.Now()
	names := make([]string, 0, len(s.queues))
	for name := range s.queues {
		names = append(names, name)
	}
	sort.Strings(names)
	data := make([]awsmetrics.Datum, 0, len(names))
	for _, name := range names {
		visible := 0
		for _, m := range s.queues[name].Messages {
			if !m.VisibleAt.After(now) {
				visible++
			}
		}
		data = append(data, queueMetric("ApproximateNumberOfMessagesVisible", name, now, float64(visible)))
	}
	s.mu.Unlock()
	if len(data) > 0 {
		s.publish(data)
	}
}

// RunMetrics samples the queues now and then every MetricsPeriod on the
// clock until ctx ends (as SQS reports queue depth to CloudWatch once a
// minute). Without Options.Metrics it returns at once.
func (s *Service) RunMetrics(ctx context.Context) {
	if s.opts.Metrics == nil {
		return
	}
	for {
		s.SampleMetrics()
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(MetricsPeriod):
		}
	}
}
