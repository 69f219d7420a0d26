package sfnemu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
)

// fakeMetrics is a hand-written awsmetrics.Sink that records every datum.
type fakeMetrics struct {
	mu   sync.Mutex
	data []awsmetrics.Datum
	err  error
}

func (f *fakeMetrics) PutMetricData(data []awsmetrics.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, data...)
	return f.err
}

func (f *fakeMetrics) take() []awsmetrics.Datum {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.data
	f.data = nil
	return out
}

func countDatum(smARN, name string, at time.Time) awsmetrics.Datum {
	return awsmetrics.Datum{Namespace: "AWS/States", MetricName: name, Dimensions: []awsmetrics.Dimension{{Name: "StateMachineArn", Value: smARN}},
		Timestamp: at, Unit: "Count", Value: 1}
}

func timeDatum(smARN string, at time.Time, d time.Duration) awsmetrics.Datum {
	return awsmetrics.Datum{Namespace: "AWS/States", MetricName: "ExecutionTime", Dimensions: []awsmetrics.Dimension{{Name: "StateMachineArn", Value: smARN}},
		Timestamp: at, Unit: "Milliseconds", Value: float64(d.Milliseconds())}
}

func TestExecutionMetrics(t *testing.T) {
	const (
		failDef    = `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"broken"}}}`
		timeoutDef = `{"TimeoutSeconds":30,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`
	)
	tests := []struct {
		name       string
		definition string
		stopAfter  time.Duration // > 0: StopExecution after this much clock time
		wantStatus string
		wantMetric string
		wantTime   time.Duration
	}{
		{name: "succeeded", definition: waitDef, wantStatus: "SUCCEEDED", wantMetric: "ExecutionsSucceeded", wantTime: time.Minute},
		{name: "failed", definition: failDef, wantStatus: "FAILED", wantMetric: "ExecutionsFailed"},
		{name: "timed out", definition: timeoutDef, wantStatus: "TIMED_OUT", wantMetric: "ExecutionsTimedOut", wantTime: 30 * time.Second},
		{name: "aborted", definition: waitDef, stopAfter: 10 * time.Second, wantStatus: "ABORTED", wantMetric: "ExecutionsAborted", wantTime: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := clock.NewManual(t0)
			sink := &fakeMetrics{}
			svc, client := newService(t, Options{Clock: m, Metrics: sink})
			ctx := context.Background()
			created, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pipeline"), Definition: aws.String(tt.definition), RoleArn: aws.String(role)})
			require.NoError(t, err)
			smARN := aws.ToString(created.StateMachineArn)
			started, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{}`)})
			require.NoError(t, err)
			arn := aws.ToString(started.ExecutionArn)
			var want []awsmetrics.Datum
			if tt.wantTime > 0 { // still waiting on the clock
				assert.Equal(t, []awsmetrics.Datum{countDatum(smARN, "ExecutionsStarted", t0)}, sink.take(), "started is published when the execution starts")
			} else {
				want = append(want, countDatum(smARN, "ExecutionsStarted", t0))
			}

			if tt.stopAfter > 0 {
				m.Advance(tt.stopAfter)
				_, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String("Operator")})
				require.NoError(t, err)
			}
			var oc asl.ExecutionOutcome
			if tt.stopAfter == 0 && tt.wantTime > 0 {
				oc = advanceUntilDone(t, svc, m, arn)
			} else {
				oc = await(t, svc, arn)
			}
			require.Equal(t, tt.wantStatus, oc.Status)
			stop := t0.Add(tt.wantTime)
			want = append(want, countDatum(smARN, tt.wantMetric, stop), timeDatum(smARN, stop, tt.wantTime))
			assert.Equal(t, want, sink.take(),
				"the terminal count and ExecutionTime are published before the execution is seen as ended")
		})
	}
}

func TestExecutionMetricsStartedOncePerExecution(t *testing.T) {
	sink := &fakeMetrics{}
	svc, _ := newService(t, Options{Metrics: sink})
	smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "slow", Definition: waitDef, RoleARN: role})
	require.NoError(t, err)
	arn, _, err := svc.StartExecution(context.Background(), smARN, "same", `{"a":1}`)
	require.NoError(t, err)
	again, _, err := svc.StartExecution(context.Background(), smARN, "same", `{"a": 1}`)
	require.NoError(t, err)
	require.Equal(t, arn, again, "AWS returns the running execution")
	_, _, err = svc.StartExecution(context.Background(), smARN, "same", `{"a":2}`)
	require.ErrorContains(t, err, "ExecutionAlreadyExists")
	_, _, err = svc.StartExecution(context.Background(), smARN+"-missing", "x", `{}`)
	require.ErrorContains(t, err, "StateMachineDoesNotExist")
	assert.Equal(t, []awsmetrics.Datum{countDatum(smARN, "ExecutionsStarted", t0)}, sink.take())
}

func TestExecutionMetricsInterruptedByRestart(t *testing.T) {
	dir := t.TempDir()
	m := clock.NewManual(t0)
	sink := &fakeMetrics{}
	svc, err := New(Options{StateDir: dir, Clock: m, Metrics: sink})
	require.NoError(t, err)
	smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "slow", Definition: waitDef, RoleARN: role})
	require.NoError(t, err)
	_, _, err = svc.StartExecution(context.Background(), smARN, "running", `{}`)
	require.NoError(t, err)
	require.NoError(t, svc.Close())
	assert.Equal(t, []awsmetrics.Datum{countDatum(smARN, "ExecutionsStarted", t0)}, sink.take(), "closing the service publishes no end: the execution is not over")

	m.Advance(5 * time.Minute)
	again, err := New(Options{StateDir: dir, Clock: m, Metrics: sink})
	require.NoError(t, err)
	defer again.Close()
	restart := t0.Add(5 * time.Minute)
	assert.Equal(t, []awsmetrics.Datum{countDatum(smARN, "ExecutionsAborted", restart), timeDatum(smARN, restart, 5*time.Minute)}, sink.take(),
		"an execution the restart aborted counts as aborted")
}

func TestExecutionMetricsSinkFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	sink := &fakeMetrics{err: errors.New("disk full")}
	svc, _ := newService(t, Options{Metrics: sink, Logger: logger})
	smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "hello", Definition: passDef, RoleARN: role})
	require.NoError(t, err)
	arn, _, err := svc.StartExecution(context.Background(), smARN, "x", `{"who":"metrics"}`)
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", await(t, svc, arn).Status, "the execution does not depend on its metrics")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "publish execution metrics")
	assert.Contains(t, logs.String(), "ExecutionsSucceeded")
	assert.Contains(t, logs.String(), "disk full")
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
