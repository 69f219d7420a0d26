package awsmetrics

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSinkFunc(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	data := []Datum{{Namespace: "AWS/SQS", MetricName: "NumberOfMessagesSent", Dimensions: []Dimension{{Name: "QueueName", Value: "dlq"}}, Timestamp: at, Unit: "Count", Value: 1}}
	tests := []struct {
		name string
		err  error
	}{
		{name: "data reach the function", err: nil},
		{name: "the function's error is returned", err: errors.New("CloudWatch is not running yet")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Datum
			var sink Sink = SinkFunc(func(d []Datum) error {
				got = d
				return tt.err
			})
			err := sink.PutMetricData(data)
			assert.Equal(t, tt.err, err)
			assert.Equal(t, data, got)
		})
	}
}
