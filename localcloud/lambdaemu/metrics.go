package lambdaemu

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
)

// MetricsNamespace is the CloudWatch namespace of Lambda's metrics.
const MetricsNamespace = "AWS/Lambda"

// MetricDatum is one datapoint Lambda publishes to CloudWatch. It is an
// alias of awsmetrics.Datum, kept because localcloud/stack names it.
type MetricDatum = awsmetrics.Datum

func (s *Service) publish(fn *function, data []awsmetrics.Datum) {
	at := s.clock.Now()
	for i := range data {
		data[i].Namespace, data[i].Timestamp = MetricsNamespace, at
		data[i].Dimensions = []awsmetrics.Dimension{{Name: "FunctionName", Value: fn.cfg.Name}}
	}
	if err := s.opts.Metrics.PutMetricData(data); err != nil {
		fn.logs.writeLine(nil, fmt.Sprintf("local cloud: publish %s metrics: %v", MetricsNamespace, err))
	}
}

// publishInvocation publishes, at the clock's time, the metrics of an
// invocation that ran (sync or one attempt of an async one): Invocations
// (1), Errors (1 for a function error, including timeouts and crashes,
// else 0), both Count, and Duration in milliseconds. An invocation that
// could not run (err, or no output) publishes nothing, as in Lambda.
func (s *Service) publishInvocation(fn *function, out *InvokeOutput, err error) {
	if s.opts.Metrics == nil || err != nil || out == nil {
		return
	}
	errs := 0.0
	if out.FunctionError != nil {
		errs = 1
	}
	s.publish(fn, []awsmetrics.Datum{
		{MetricName: "Invocations", Unit: "Count", Value: 1},
		{MetricName: "Errors", Unit: "Count", Value: errs},
		{MetricName: "Duration", Unit: "Milliseconds", Value: ms(out.Duration)},
	})
}

// publishThrottle publishes Throttles (1, Count) when err is a throttle
// (TooManyRequestsException): the invocation did not run and counts in
// neither Invocations nor Errors.
func (s *Service) publishThrottle(fn *function, err error) {
	var apiErr *APIError
	if s.opts.Metrics == nil || !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
		return
	}
	s.publish(fn, []awsmetrics.Datum{{MetricName: "Throttles", Unit: "Count", Value: 1}})
}
