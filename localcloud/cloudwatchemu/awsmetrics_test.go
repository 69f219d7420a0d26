package cloudwatchemu

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/sagemakeremu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

// The emulators publish AWS-owned metrics to an awsmetrics.Sink; the local
// cloud's stack adapts this service to it
// (localcloud/stack/metrics_adapter.go). These tests use the same
// conversion, so the datapoints the emulators publish meet the template's
// alarms exactly as they would in the running local cloud.

// emulatorSink adapts cw to the sink the emulators publish to, converting
// each datum as the stack's adapter does.
func emulatorSink(cw *Service) awsmetrics.SinkFunc {
	return func(data []awsmetrics.Datum) error {
		out := make([]Datum, len(data))
		for i, d := range data {
			out[i] = Datum{Namespace: d.Namespace, MetricName: d.MetricName, Timestamp: d.Timestamp, Unit: d.Unit, Values: []float64{d.Value},
				Dimensions: make([]Dimension, len(d.Dimensions))}
			for j, dim := range d.Dimensions {
				out[i].Dimensions[j] = Dimension(dim)
			}
		}
		return cw.PutMetricData(out)
	}
}

// loadTemplate loads the project's template as `localcloud up` does.
func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml", samtemplate.Options{StackName: "mlops-dev"})
	require.NoError(t, err)
	return tpl
}

// templateAlarms returns the template's alarms of these logical ids.
func templateAlarms(t *testing.T, tpl *samtemplate.Template, ids ...string) []Alarm {
	t.Helper()
	var out []Alarm
	for _, id := range ids {
		r, ok := tpl.Resources[id]
		require.True(t, ok, "template has no %s", id)
		a, err := AlarmFromTemplate(tpl.PhysicalName(id), r.Properties)
		require.NoError(t, err)
		out = append(out, a)
	}
	return out
}

func viewAlarm(t *testing.T, cw *Service, name string) AlarmView {
	t.Helper()
	views := cw.DescribeAlarms([]string{name}, "", "")
	require.Len(t, views, 1, "alarm %s", name)
	return views[0]
}

// sageMakerCall is what sagemakeremu publishes for one InvokeEndpoint call
// (see its publishInvocation): Invocations, Invocation4XXErrors and
// Invocation5XXErrors (0 or 1), and latencies when the model answered.
func sageMakerCall(endpoint, variant string, at time.Time, status int, modelLatency time.Duration) []awsmetrics.Datum {
	dims := []awsmetrics.Dimension{{Name: "EndpointName", Value: endpoint}, {Name: "VariantName", Value: variant}}
	d := func(name, unit string, v float64) awsmetrics.Datum {
		return awsmetrics.Datum{Namespace: sagemakeremu.MetricsNamespace, MetricName: name, Dimensions: dims, Timestamp: at, Unit: unit, Value: v}
	}
	var e4, e5 float64
	switch {
	case status >= 500:
		e5 = 1
	case status >= 400:
		e4 = 1
	}
	return []awsmetrics.Datum{
		d("Invocations", "None", 1), d("Invocation4XXErrors", "None", e4), d("Invocation5XXErrors", "None", e5),
		d("ModelLatency", "Microseconds", float64(modelLatency.Microseconds())), d("OverheadLatency", "Microseconds", 300),
	}
}

// TestEndpointErrorsAlarmSeesSageMakerMetrics feeds three minutes of
// endpoint traffic, as sagemakeremu publishes it, into the template's
// EndpointErrorsAlarm (Sum of Invocation5XXErrors per minute >=
// EndpointErrorsThreshold (5) in 2 of 3 minutes, by EndpointName and
// VariantName AllTraffic, the variant functions/deploy creates).
func TestEndpointErrorsAlarmSeesSageMakerMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	endpoint := tpl.Parameters["EndpointName"]
	require.NotEmpty(t, endpoint)
	const allTraffic = "AllTraffic" // functions/deploy.VariantName
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	type minute struct{ ok, e4, e5 int }
	tests := []struct {
		name    string
		variant string
		minutes []minute
		want    string
	}{
		{name: "three minutes of 5XX errors", minutes: []minute{{2, 0, 6}, {2, 0, 6}, {2, 0, 6}}, want: StateAlarm},
		{name: "two breaching minutes out of three", minutes: []minute{{2, 0, 6}, {8, 0, 0}, {0, 0, 5}}, want: StateAlarm},
		{name: "one minute of 5XX errors then recovery", minutes: []minute{{2, 0, 6}, {8, 0, 0}, {8, 0, 0}}, want: StateOK},
		{name: "5XX errors below the threshold", minutes: []minute{{4, 0, 4}, {4, 0, 4}, {4, 0, 4}}, want: StateOK},
		{name: "4XX errors are the caller's", minutes: []minute{{0, 9, 0}, {0, 9, 0}, {0, 9, 0}}, want: StateOK},
		{name: "5XX errors of another variant", variant: "Canary", minutes: []minute{{0, 0, 9}, {0, 0, 9}, {0, 0, 9}}, want: StateOK},
		{name: "no traffic", minutes: []minute{{}, {}, {}}, want: StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			alarms := templateAlarms(t, tpl, "EndpointErrorsAlarm")
			require.Equal(t, []Dimension{{Name: "EndpointName", Value: endpoint}, {Name: "VariantName", Value: allTraffic}}, alarms[0].Dimensions,
				"the alarm names the dimensions sagemakeremu publishes")
			cw, err := New(Options{StateDir: t.TempDir(), Clock: clk, Alarms: alarms})
			require.NoError(t, err)
			t.Cleanup(cw.Close)
			sink := emulatorSink(cw)
			variant := allTraffic
			if tt.variant != "" {
				variant = tt.variant
			}
			for i, m := range tt.minutes {
				at := t0.Add(time.Duration(i) * time.Minute)
				calls := 0
				for status, n := range map[int]int{200: m.ok, 400: m.e4, 500: m.e5} {
					for range n {
						calls++
						require.NoError(t, sink.PutMetricData(sageMakerCall(endpoint, variant, at.Add(time.Duration(calls)*time.Second), status, 2500*time.Microsecond)))
					}
				}
			}
			clk.Advance(time.Duration(len(tt.minutes)) * time.Minute)
			require.NoError(t, cw.EvaluateNow(context.Background()))
			got := viewAlarm(t, cw, "mlops-dev-endpoint-errors")
			assert.Equal(t, tt.want, got.StateValue, got.StateReason)
		})
	}
}

// TestEndpointLatencyAlarmSeesSageMakerMetrics feeds ModelLatency as
// sagemakeremu publishes it (microseconds, one value per call) into the
// template's EndpointLatencyAlarm (p99 above
// ModelLatencyThresholdMicroseconds, 500000, in 2 of 3 minutes).
func TestEndpointLatencyAlarmSeesSageMakerMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	endpoint := tpl.Parameters["EndpointName"]
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		slow int // calls per minute that take 0.8 s (of 100)
		want string
	}{
		{name: "a slow model", slow: 50, want: StateAlarm},
		{name: "a few slow calls stay under the p99", slow: 1, want: StateOK},
		{name: "a fast model", want: StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			cw, err := New(Options{StateDir: t.TempDir(), Clock: clk, Alarms: templateAlarms(t, tpl, "EndpointLatencyAlarm")})
			require.NoError(t, err)
			t.Cleanup(cw.Close)
			sink := emulatorSink(cw)
			for m := range 3 {
				for i := range 100 {
					latency := 3 * time.Millisecond
					if i < tt.slow {
						latency = 800 * time.Millisecond
					}
					at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*500*time.Millisecond)
					require.NoError(t, sink.PutMetricData(sageMakerCall(endpoint, "AllTraffic", at, 200, latency)))
				}
			}
			clk.Advance(3 * time.Minute)
			require.NoError(t, cw.EvaluateNow(context.Background()))
			got := viewAlarm(t, cw, "mlops-dev-endpoint-latency")
			assert.Equal(t, tt.want, got.StateValue, got.StateReason)
		})
	}
}

// TestPipelineFailuresAlarmSeesStepFunctionsMetrics runs executions of the
// template's pipeline state machine (by its name, so by its ARN) in the
// real Step Functions emulator publishing into CloudWatch, and evaluates
// the template's PipelineFailuresAlarm (metric math over
// ExecutionsFailed, ExecutionsTimedOut and ExecutionsAborted by
// StateMachineArn, 5-minute periods).
func TestPipelineFailuresAlarmSeesStepFunctionsMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	machines, err := tpl.StateMachines()
	require.NoError(t, err)
	var pipelineName string
	for _, sm := range machines {
		if sm.LogicalID == "PipelineStateMachine" {
			pipelineName = sm.Name
		}
	}
	require.NotEmpty(t, pipelineName)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		definition string
		stop       bool
		wantStatus string
		want       string
	}{
		{name: "a failed execution", definition: `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"TrainingFailed"}}}`, wantStatus: "FAILED", want: StateAlarm},
		{name: "an aborted execution", definition: `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`, stop: true, wantStatus: "ABORTED", want: StateAlarm},
		{name: "a timed out execution", definition: `{"TimeoutSeconds":1,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`, wantStatus: "TIMED_OUT", want: StateAlarm},
		{name: "a succeeded execution", definition: `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, wantStatus: "SUCCEEDED", want: StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			cw, err := New(Options{StateDir: t.TempDir(), Clock: clk, Alarms: templateAlarms(t, tpl, "PipelineFailuresAlarm")})
			require.NoError(t, err)
			t.Cleanup(cw.Close)
			sfn, err := sfnemu.New(sfnemu.Options{Clock: clk, Region: tpl.Region, AccountID: tpl.AccountID, Metrics: emulatorSink(cw)})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, sfn.Close()) })
			smARN, _, err := sfn.CreateStateMachine(sfnemu.CreateStateMachineInput{Name: pipelineName, Definition: tt.definition, RoleARN: "arn:aws:iam::123456789012:role/sfn"})
			require.NoError(t, err)
			require.Equal(t, tpl.ARN("PipelineStateMachine"), smARN, "the alarm's StateMachineArn is the ARN sfnemu publishes under")
			arn, _, err := sfn.StartExecution(context.Background(), smARN, "run-1", `{}`)
			require.NoError(t, err)
			if tt.stop {
				_, err := sfn.StopExecution(arn, "Operator", "stopped by test")
				require.NoError(t, err)
			}
			var status string
			for i := 0; status == ""; i++ {
				require.Less(t, i, 100, "execution did not end")
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				oc, err := sfn.AwaitExecution(ctx, arn)
				cancel()
				if err == nil {
					status = oc.Status
					break
				}
				if clk.Pending() > 0 { // the execution sleeps on the clock
					clk.Advance(time.Second)
				}
			}
			require.Equal(t, tt.wantStatus, status)

			clk.Advance(t0.Add(5 * time.Minute).Sub(clk.Now()))
			require.NoError(t, cw.EvaluateNow(context.Background()))
			got := viewAlarm(t, cw, "mlops-dev-pipeline-failures")
			assert.Equal(t, tt.want, got.StateValue, got.StateReason)
		})
	}
}

// TestDLQAlarmsSeeSQSMetrics runs the template's queues in the real SQS
// emulator publishing into CloudWatch: a message in the ingest DLQ sets
// IngestDLQAlarm (Maximum of ApproximateNumberOfMessagesVisible by
// QueueName >= 1 over 5 minutes) and leaves MonitoringDLQAlarm OK; once
// redriven, the next period is OK again.
func TestDLQAlarmsSeeSQSMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	queues, err := tpl.Queues()
	require.NoError(t, err)
	var names []string
	for _, q := range queues {
		names = append(names, q.Name)
	}
	ingestDLQ := tpl.PhysicalName("IngestDLQ")
	require.Contains(t, names, ingestDLQ)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	alarms := templateAlarms(t, tpl, "IngestDLQAlarm", "MonitoringDLQAlarm")
	cw, err := New(Options{StateDir: t.TempDir(), Clock: clk, Alarms: alarms})
	require.NoError(t, err)
	t.Cleanup(cw.Close)
	sqs, err := sqsemu.New(sqsemu.Options{StateDir: t.TempDir(), Clock: clk, Region: tpl.Region, AccountID: tpl.AccountID, Queues: names, Metrics: emulatorSink(cw)})
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, sqs.Deliver(ctx, tpl.ARN("IngestDLQ"), []byte(`{"failed":"upload"}`)))
	for range 5 {
		sqs.SampleMetrics()
		clk.Advance(time.Minute)
	}
	require.NoError(t, cw.EvaluateNow(ctx))
	ingest := viewAlarm(t, cw, alarms[0].AlarmName)
	assert.Equal(t, StateAlarm, ingest.StateValue, ingest.StateReason)
	monitoring := viewAlarm(t, cw, alarms[1].AlarmName)
	assert.Equal(t, StateOK, monitoring.StateValue, monitoring.StateReason)

	msgs, err := sqs.Receive(ctx, ingestDLQ, 10, time.Minute, 0)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, sqs.DeleteMessage(ingestDLQ, msgs[0].ReceiptHandle))
	for range 5 {
		sqs.SampleMetrics()
		clk.Advance(time.Minute)
	}
	require.NoError(t, cw.EvaluateNow(ctx))
	ingest = viewAlarm(t, cw, alarms[0].AlarmName)
	assert.Equal(t, StateOK, ingest.StateValue, "redriven: %s", ingest.StateReason)
}
