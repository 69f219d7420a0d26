package sqsemu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
)

// fakeMetrics is a hand-written awsmetrics.Sink that records every call.
type fakeMetrics struct {
	mu    sync.Mutex
	calls [][]awsmetrics.Datum
	err   error
}

func (f *fakeMetrics) PutMetricData(data []awsmetrics.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]awsmetrics.Datum(nil), data...))
	return f.err
}

func (f *fakeMetrics) take() [][]awsmetrics.Datum {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// waitCalls waits until the sink has n calls and takes them.
func (f *fakeMetrics) waitCalls(t *testing.T, n int) [][]awsmetrics.Datum {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		got := len(f.calls)
		f.mu.Unlock()
		if got >= n {
			return f.take()
		}
		require.True(t, time.Now().Before(deadline), "%d sink calls, want %d", got, n)
		time.Sleep(time.Millisecond)
	}
}

// waitSleeper waits until RunMetrics sleeps on the clock, so advancing it
// wakes the sampler.
func waitSleeper(t *testing.T, clk *clock.Manual) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for clk.Pending() == 0 {
		require.True(t, time.Now().Before(deadline), "RunMetrics never slept on the clock")
		time.Sleep(time.Millisecond)
	}
}

func queueDatum(name, queue string, at time.Time, v float64) awsmetrics.Datum {
	return awsmetrics.Datum{Namespace: "AWS/SQS", MetricName: name, Dimensions: []awsmetrics.Dimension{{Name: "QueueName", Value: queue}}, Timestamp: at, Unit: "Count", Value: v}
}

func TestNumberOfMessagesSent(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	sink := &fakeMetrics{}
	svc, err := New(Options{StateDir: t.TempDir(), Clock: clk, Queues: []string{"mlops-dev-IngestDLQ"}, Metrics: sink})
	require.NoError(t, err)
	c := newClient(t, svc)
	ctx := context.Background()
	url := svc.QueueURL("mlops-dev-IngestDLQ")

	tests := []struct {
		name string
		send func() error
		want bool
	}{
		{name: "SendMessage through the SDK", want: true, send: func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("one")})
			return err
		}},
		{name: "a delayed message is sent too", want: true, send: func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 60})
			return err
		}},
		{name: "a destination delivery from another emulator", want: true, send: func() error {
			return svc.Deliver(ctx, svc.QueueARN("mlops-dev-IngestDLQ"), []byte(`{"failed":true}`))
		}},
		{name: "an unknown queue sends nothing", send: func() error {
			_, err := svc.SendMessage(ctx, "nope", "x", nil)
			return err
		}},
		{name: "an empty body sends nothing", send: func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("")})
			return err
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(time.Duration(i+1) * time.Second)
			err := tt.send()
			if !tt.want {
				require.Error(t, err)
				assert.Empty(t, sink.take())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, [][]awsmetrics.Datum{{queueDatum("NumberOfMessagesSent", "mlops-dev-IngestDLQ", clk.Now(), 1)}}, sink.take())
		})
	}
}

func TestApproximateNumberOfMessagesVisible(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	sink := &fakeMetrics{}
	svc, err := New(Options{StateDir: t.TempDir(), Clock: clk, Queues: []string{"b-dlq", "a-dlq", "empty"}, Metrics: sink})
	require.NoError(t, err)
	ctx := context.Background()
	for _, body := range []string{"1", "2", "3"} {
		_, err := svc.SendMessage(ctx, "a-dlq", body, nil)
		require.NoError(t, err)
	}
	_, err = svc.send(ctx, "a-dlq", "delayed", nil, 120)
	require.NoError(t, err)
	_, err = svc.SendMessage(ctx, "b-dlq", "x", nil)
	require.NoError(t, err)
	got, err := svc.Receive(ctx, "a-dlq", 1, 30*time.Second, 0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	sink.take() // the sends

	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		svc.RunMetrics(runCtx)
	}()
	visible := func(at time.Time, a, b float64) []awsmetrics.Datum {
		return []awsmetrics.Datum{
			queueDatum("ApproximateNumberOfMessagesVisible", "a-dlq", at, a),
			queueDatum("ApproximateNumberOfMessagesVisible", "b-dlq", at, b),
			queueDatum("ApproximateNumberOfMessagesVisible", "empty", at, 0),
		}
	}
	assert.Equal(t, [][]awsmetrics.Datum{visible(t0, 2, 1)}, sink.waitCalls(t, 1),
		"sampled at start: in-flight and delayed messages are not visible")

	waitSleeper(t, clk)
	clk.Advance(MetricsPeriod)
	assert.Equal(t, [][]awsmetrics.Datum{visible(t0.Add(time.Minute), 3, 1)}, sink.waitCalls(t, 1),
		"a minute later the received message is visible again")

	waitSleeper(t, clk)
	clk.Advance(MetricsPeriod)
	assert.Equal(t, [][]awsmetrics.Datum{visible(t0.Add(2*time.Minute), 4, 1)}, sink.waitCalls(t, 1),
		"and so is the delayed one")

	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("RunMetrics did not stop with its context")
	}
}

func TestQueueMetricsSinkFailures(t *testing.T) {
	var logs bytes.Buffer
	sink := &fakeMetrics{err: errors.New("disk full")}
	svc, err := New(Options{StateDir: t.TempDir(), Clock: clock.NewManual(time.Now()), Queues: []string{"q"}, Metrics: sink,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	_, err = svc.SendMessage(context.Background(), "q", "kept", nil)
	require.NoError(t, err, "a send does not fail because its metric could not be published")
	svc.SampleMetrics()
	assert.Len(t, sink.take(), 2)
	msgs, err := svc.Messages("q")
	require.NoError(t, err)
	assert.Len(t, msgs, 1)
	assert.Contains(t, logs.String(), "NumberOfMessagesSent")
	assert.Contains(t, logs.String(), "ApproximateNumberOfMessagesVisible")
	assert.Contains(t, logs.String(), "disk full")
}

func TestQueueMetricsDisabled(t *testing.T) {
	svc, err := New(Options{StateDir: t.TempDir(), Clock: clock.NewManual(time.Now()), Queues: []string{"q"}})
	require.NoError(t, err)
	_, err = svc.SendMessage(context.Background(), "q", "x", nil)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunMetrics(context.Background()) // never cancelled: must return by itself
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunMetrics without a sink did not return")
	}
}
