// Package awsmetrics holds what the local cloud's emulators publish as AWS's
// own metrics (AWS/Lambda, AWS/States, AWS/SQS, AWS/SageMaker): the
// datapoint, its dimensions and the sink that receives them.
//
// The emulators only produce datapoints; the local cloud's stack adapts the
// CloudWatch emulator to a Sink. Keeping the types here, rather than one copy
// per emulator, lets a single adapter serve them all.
package awsmetrics

import "time"

// Dimension is one dimension of a published metric.
type Dimension struct {
	Name  string
	Value string
}

// Datum is one datapoint an AWS service publishes to CloudWatch.
type Datum struct {
	Namespace  string
	MetricName string
	Dimensions []Dimension
	Timestamp  time.Time
	// Unit is a CloudWatch unit ("Count", "None", "Milliseconds",
	// "Microseconds").
	Unit  string
	Value float64
}

// Sink receives the metrics an emulator publishes: the local CloudWatch's
// PutMetricData behind a small adapter. It must not call back into the
// emulator that publishes.
type Sink interface {
	PutMetricData(data []Datum) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(data []Datum) error

// PutMetricData calls f.
func (f SinkFunc) PutMetricData(data []Datum) error { return f(data) }
