package sagemakeremu

import (
	"time"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
)

// MetricsNamespace is the CloudWatch namespace of SageMaker's endpoint
// invocation metrics.
const MetricsNamespace = "AWS/SageMaker"

// MetricDatum is one datapoint SageMaker publishes to CloudWatch. It is an
// alias of awsmetrics.Datum, kept because localcloud/stack names it.
type MetricDatum = awsmetrics.Datum

// invocationMeter follows one InvokeEndpoint call for its metrics. A nil
// meter records nothing.
type invocationMeter struct {
	received time.Time // wall clock, for OverheadLatency
	at       time.Time // the emulator's clock: the datapoints' timestamp
	endpoint string
	variant  string // "" until the request is routed to a variant
	answered bool   // the model server sent a complete response
	status   int
	model    time.Duration
}

// routed records the endpoint and variant serving the call.
func (m *invocationMeter) routed(endpoint, variant string, at time.Time) {
	if m != nil {
		m.endpoint, m.variant, m.at = endpoint, variant, at
	}
}

// answer records the model's status and how long it took to answer.
func (m *invocationMeter) answer(status int, took time.Duration) {
	if m != nil {
		m.answered, m.status, m.model = true, status, took
	}
}

// publishInvocation publishes SageMaker's endpoint invocation metrics for
// one call, with dimensions EndpointName and VariantName, as SageMaker
// does for every request routed to a production variant: Invocations (1),
// Invocation4XXErrors and Invocation5XXErrors (1 when the model answered
// with such a status, else 0; a model server that is down or does not
// answer counts as a 5XX), and, when the model answered, ModelLatency (the
// model's answer as seen from SageMaker) and OverheadLatency (the rest of
// the call), both in microseconds. Calls refused before routing (unknown
// endpoint or variant, oversized payload) publish nothing: they belong to
// no variant.
func (s *Service) publishInvocation(m *invocationMeter) {
	if s.opts.Metrics == nil || m == nil || m.variant == "" {
		return
	}
	total := time.Since(m.received)
	var e4, e5 float64
	switch {
	case !m.answered || m.status >= 500:
		e5 = 1
	case m.status >= 400:
		e4 = 1
	}
	dims := []awsmetrics.Dimension{{Name: "EndpointName", Value: m.endpoint}, {Name: "VariantName", Value: m.variant}}
	datum := func(name, unit string, v float64) awsmetrics.Datum {
		return awsmetrics.Datum{Namespace: MetricsNamespace, MetricName: name, Dimensions: dims, Timestamp: m.at, Unit: unit, Value: v}
	}
	data := []awsmetrics.Datum{
		datum("Invocations", "None", 1),
		datum("Invocation4XXErrors", "None", e4),
		datum("Invocation5XXErrors", "None", e5),
	}
	if m.answered {
		overhead := max(total-m.model, 0)
		data = append(data,
			datum("ModelLatency", "Microseconds", float64(m.model.Microseconds())),
			datum("OverheadLatency", "Microseconds", float64(overhead.Microseconds())))
	}
	if err := s.opts.Metrics.PutMetricData(data); err != nil {
		s.log.Warn("publish endpoint invocation metrics", "endpoint", m.endpoint, "variant", m.variant, "error", err)
	}
}
