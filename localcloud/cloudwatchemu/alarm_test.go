package cloudwatchemu

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventbridge"
)

// t0 is on an hour boundary.
var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// fakeEvents records the events put on the bus.
type fakeEvents struct {
	mu     sync.Mutex
	events []eventbridge.Event
}

func (f *fakeEvents) Emit(_ context.Context, ev eventbridge.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeEvents) all() []eventbridge.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]eventbridge.Event(nil), f.events...)
}

func newService(t *testing.T, dir string, clk clock.Clock, alarms ...Alarm) (*Service, *fakeEvents) {
	t.Helper()
	ev := &fakeEvents{}
	svc, err := New(Options{StateDir: dir, Clock: clk, Events: ev, Alarms: alarms})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	return svc, ev
}

func driftAlarm(treat string, n, m int32) Alarm {
	return Alarm{
		AlarmName: "mlops-dev-drift", AlarmDescription: "drift", Namespace: "MLOps/dev", MetricName: "DriftScore",
		Dimensions: []Dimension{{Name: "EndpointName", Value: "churn-dev"}}, Statistic: StatMaximum, Period: 3600,
		EvaluationPeriods: n, DatapointsToAlarm: m, Threshold: 0.25, ComparisonOperator: "GreaterThanThreshold", TreatMissingData: treat,
	}
}

func driftPoint(svc *Service, at time.Time, v float64) error {
	return svc.PutMetricData([]Datum{{Namespace: "MLOps/dev", MetricName: "DriftScore", Dimensions: []Dimension{{Name: "EndpointName", Value: "churn-dev"}}, Timestamp: at, Values: []float64{v}}})
}

func state(t *testing.T, svc *Service, name string) AlarmView {
	t.Helper()
	got := svc.DescribeAlarms([]string{name}, "", "")
	require.Len(t, got, 1)
	return got[0]
}

func TestAlarmEvaluation(t *testing.T) {
	const missing = -1.0 // no datapoint in that hour
	tests := []struct {
		name  string
		treat string
		n, m  int32
		start string // state before the evaluation
		// hours holds one value per evaluated period, oldest first.
		hours []float64
		want  string
	}{
		{name: "2 of 3 breaching alarms", treat: MissingNotBreaching, n: 3, m: 2, hours: []float64{0.1, 0.4, 0.3}, want: StateAlarm},
		{name: "1 of 3 breaching stays OK with M=2", treat: MissingNotBreaching, n: 3, m: 2, hours: []float64{0.1, 0.4, 0.2}, want: StateOK},
		{name: "equal to the threshold is not greater", treat: MissingMissing, n: 1, m: 1, hours: []float64{0.25}, want: StateOK},
		{name: "missing: all missing is INSUFFICIENT_DATA", treat: MissingMissing, n: 3, m: 2, start: StateAlarm, hours: []float64{missing, missing, missing}, want: StateInsufficientData},
		{name: "missing: present points decide", treat: MissingMissing, n: 3, m: 2, hours: []float64{0.5, missing, 0.6}, want: StateAlarm},
		{name: "ignore: all missing keeps ALARM", treat: MissingIgnore, n: 3, m: 2, start: StateAlarm, hours: []float64{missing, missing, missing}, want: StateAlarm},
		{name: "ignore: all missing keeps OK", treat: MissingIgnore, n: 3, m: 2, start: StateOK, hours: []float64{missing, missing, missing}, want: StateOK},
		{name: "ignore: present points decide", treat: MissingIgnore, n: 3, m: 1, start: StateOK, hours: []float64{missing, 0.9, missing}, want: StateAlarm},
		{name: "breaching: missing points breach", treat: MissingBreaching, n: 3, m: 2, hours: []float64{missing, 0.1, missing}, want: StateAlarm},
		{name: "breaching: one missing is not enough", treat: MissingBreaching, n: 3, m: 2, hours: []float64{0.1, 0.1, missing}, want: StateOK},
		{name: "notBreaching: missing points are fine", treat: MissingNotBreaching, n: 3, m: 2, start: StateAlarm, hours: []float64{missing, 0.9, missing}, want: StateOK},
		{name: "notBreaching: all missing is OK", treat: MissingNotBreaching, n: 3, m: 2, hours: []float64{missing, missing, missing}, want: StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			svc, _ := newService(t, t.TempDir(), clk, driftAlarm(tt.treat, tt.n, tt.m))
			if tt.start != "" && tt.start != StateInsufficientData {
				require.NoError(t, svc.SetAlarmState(context.Background(), "mlops-dev-drift", tt.start, "test setup", ""))
			}
			for i, v := range tt.hours {
				if v != missing {
					// Mid-hour, and a smaller value in the same hour: Maximum wins.
					at := t0.Add(time.Duration(i)*time.Hour + 20*time.Minute)
					require.NoError(t, driftPoint(svc, at, v))
					require.NoError(t, driftPoint(svc, at.Add(time.Minute), v/2))
				}
			}
			// A point in the current, incomplete hour is not evaluated.
			require.NoError(t, driftPoint(svc, t0.Add(time.Duration(len(tt.hours))*time.Hour+time.Minute), 99))
			clk.Advance(time.Duration(len(tt.hours))*time.Hour + 5*time.Minute)
			require.NoError(t, svc.EvaluateNow(context.Background()))
			assert.Equal(t, tt.want, state(t, svc, "mlops-dev-drift").StateValue)
		})
	}
}

func TestStateChangeEventShape(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, events := newService(t, t.TempDir(), clk, driftAlarm(MissingNotBreaching, 3, 2))
	require.NoError(t, driftPoint(svc, t0.Add(10*time.Minute), 0.31))
	require.NoError(t, driftPoint(svc, t0.Add(70*time.Minute), 0.42))
	clk.Advance(3*time.Hour + 5*time.Minute + 985*time.Millisecond)
	require.NoError(t, svc.EvaluateNow(context.Background()))

	got := events.all()
	require.Len(t, got, 1)
	ev := got[0]
	assert.Equal(t, "aws.cloudwatch", ev.Source)
	assert.Equal(t, "CloudWatch Alarm State Change", ev.DetailType)
	assert.Equal(t, []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops-dev-drift"}, ev.Resources)
	assert.Equal(t, "2026-11-25T12:05:00Z", ev.Time)

	var detail map[string]any
	require.NoError(t, json.Unmarshal(ev.Detail, &detail))
	assert.Equal(t, "mlops-dev-drift", detail["alarmName"])
	st := detail["state"].(map[string]any)
	assert.Equal(t, "ALARM", st["value"])
	assert.Equal(t, "2026-11-25T12:05:00.985+0000", st["timestamp"])
	assert.Equal(t, "Threshold Crossed: 2 out of the last 3 datapoints [0.42 (25/11/26 10:00:00), 0.31 (25/11/26 09:00:00)] were greater than the threshold (0.25) (minimum 2 datapoints for OK -> ALARM transition).", st["reason"])
	var rd map[string]any
	require.NoError(t, json.Unmarshal([]byte(st["reasonData"].(string)), &rd))
	assert.Equal(t, "Maximum", rd["statistic"])
	assert.Equal(t, 3600.0, rd["period"])
	assert.Equal(t, []any{0.31, 0.42}, rd["recentDatapoints"])
	assert.Len(t, rd["evaluatedDatapoints"], 3)

	prev := detail["previousState"].(map[string]any)
	assert.Equal(t, "INSUFFICIENT_DATA", prev["value"])
	assert.Equal(t, "Unchecked: Initial alarm creation", prev["reason"])
	assert.Equal(t, "2026-11-25T09:00:00.000+0000", prev["timestamp"])

	cfg := detail["configuration"].(map[string]any)
	assert.Equal(t, "drift", cfg["description"])
	metrics := cfg["metrics"].([]any)
	require.Len(t, metrics, 1)
	m := metrics[0].(map[string]any)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, m["id"])
	assert.Equal(t, true, m["returnData"])
	assert.Equal(t, map[string]any{
		"metric": map[string]any{"namespace": "MLOps/dev", "name": "DriftScore", "dimensions": map[string]any{"EndpointName": "churn-dev"}},
		"period": 3600.0, "stat": "Maximum",
	}, m["metricStat"])

	// The remediate function's fixture has the same shape: same keys at
	// every level the handler reads.
	fixture, err := os.ReadFile("../../events/remediate-drift-alarm.json")
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, json.Unmarshal(fixture, &want))
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	var have map[string]any
	require.NoError(t, json.Unmarshal(raw, &have))
	assert.ElementsMatch(t, keys(want), keys(have))
	assert.ElementsMatch(t, keys(want["detail"].(map[string]any)), keys(have["detail"].(map[string]any)))
	assert.ElementsMatch(t, keys(want["detail"].(map[string]any)["state"].(map[string]any)), keys(st))

	// The same state again: no new event.
	clk.Advance(time.Minute)
	require.NoError(t, svc.EvaluateNow(context.Background()))
	assert.Len(t, events.all(), 1)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSetAlarmStateLastsUntilTheNextEvaluation(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, events := newService(t, t.TempDir(), clk, driftAlarm(MissingNotBreaching, 1, 1))
	ctx := context.Background()
	require.NoError(t, svc.EvaluateNow(ctx))
	require.Equal(t, StateOK, state(t, svc, "mlops-dev-drift").StateValue)

	require.NoError(t, svc.SetAlarmState(ctx, "mlops-dev-drift", StateAlarm, "testing remediation", `{"by":"test"}`))
	v := state(t, svc, "mlops-dev-drift")
	assert.Equal(t, StateAlarm, v.StateValue)
	assert.Equal(t, "testing remediation", v.StateReason)
	assert.Equal(t, `{"by":"test"}`, v.StateReasonData)

	clk.Advance(time.Minute)
	require.NoError(t, svc.EvaluateNow(ctx))
	assert.Equal(t, StateOK, state(t, svc, "mlops-dev-drift").StateValue, "the next evaluation sets the computed state again")

	var seq []string
	for _, ev := range events.all() {
		var d alarmDetail
		require.NoError(t, json.Unmarshal(ev.Detail, &d))
		seq = append(seq, d.PreviousState.Value+"->"+d.State.Value)
	}
	assert.Equal(t, []string{"INSUFFICIENT_DATA->OK", "OK->ALARM", "ALARM->OK"}, seq)

	tests := []struct {
		name, alarm, value, reason, data, code string
	}{
		{"unknown alarm", "nope", StateOK, "r", "", "ResourceNotFound"},
		{"bad state", "mlops-dev-drift", "BROKEN", "r", "", "InvalidParameterValue"},
		{"reason data not JSON", "mlops-dev-drift", StateOK, "r", "{", "InvalidFormat"},
		{"missing reason", "mlops-dev-drift", StateOK, "", "", "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.SetAlarmState(ctx, tt.alarm, tt.value, tt.reason, tt.data)
			require.Error(t, err)
			assert.Equal(t, tt.code, errorCode(err))
		})
	}
}

func TestMetricMathAlarmFromTheTemplate(t *testing.T) {
	sfn := func(name string) *MetricStat {
		return &MetricStat{Metric: Metric{Namespace: "AWS/States", MetricName: name, Dimensions: []Dimension{{Name: "StateMachineArn", Value: "arn:sm"}}}, Period: 300, Stat: StatSum}
	}
	no := false
	alarm := Alarm{
		AlarmName: "pipeline-failures", EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: MissingNotBreaching,
		Metrics: []MetricDataQuery{
			{ID: "failed", MetricStat: sfn("ExecutionsFailed"), ReturnData: &no},
			{ID: "timedout", MetricStat: sfn("ExecutionsTimedOut"), ReturnData: &no},
			{ID: "aborted", MetricStat: sfn("ExecutionsAborted"), ReturnData: &no},
			{ID: "unsuccessful", Expression: "FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)", Label: "Unsuccessful executions"},
		},
	}
	clk := clock.NewManual(t0)
	svc, events := newService(t, t.TempDir(), clk, alarm)
	ctx := context.Background()
	clk.Advance(6 * time.Minute)
	require.NoError(t, svc.EvaluateNow(ctx))
	assert.Equal(t, StateOK, state(t, svc, "pipeline-failures").StateValue, "no failures: FILL makes 0")

	// Only one of the three series has data: without FILL the sum would be missing.
	require.NoError(t, svc.PutMetricData([]Datum{{Namespace: "AWS/States", MetricName: "ExecutionsTimedOut", Dimensions: sfn("").Metric.Dimensions, Timestamp: clk.Now(), Values: []float64{1}}}))
	clk.Advance(5 * time.Minute)
	require.NoError(t, svc.EvaluateNow(ctx))
	v := state(t, svc, "pipeline-failures")
	assert.Equal(t, StateAlarm, v.StateValue)
	assert.Contains(t, v.StateReason, "1 datapoint [1.0 (25/11/26 09:05:00)] was greater than or equal to the threshold (1.0)")

	evs := events.all()
	require.Len(t, evs, 2)
	var d alarmDetail
	require.NoError(t, json.Unmarshal(evs[1].Detail, &d))
	require.Len(t, d.Configuration.Metrics, 4)
	assert.Equal(t, "unsuccessful", d.Configuration.Metrics[3].ID)
	assert.Equal(t, "FILL(failed, 0) + FILL(timedout, 0) + FILL(aborted, 0)", d.Configuration.Metrics[3].Expression)
	assert.True(t, d.Configuration.Metrics[3].ReturnData)
	assert.False(t, d.Configuration.Metrics[0].ReturnData)
	assert.Equal(t, "ExecutionsFailed", d.Configuration.Metrics[0].MetricStat.Metric.Name)
}

func TestPutMetricAlarmValidation(t *testing.T) {
	base := driftAlarm(MissingMissing, 3, 2)
	tests := []struct {
		name   string
		mutate func(*Alarm)
		code   string
	}{
		{"no name", func(a *Alarm) { a.AlarmName = "" }, "MissingParameter"},
		{"M greater than N", func(a *Alarm) { a.DatapointsToAlarm = 4 }, "InvalidParameterValue"},
		{"bad period", func(a *Alarm) { a.Period = 90 }, "InvalidParameterValue"},
		{"both statistics", func(a *Alarm) { a.ExtendedStatistic = "p99" }, "InvalidParameterCombination"},
		{"unknown statistic", func(a *Alarm) { a.Statistic = "Median" }, "InvalidParameterValue"},
		{"anomaly comparison", func(a *Alarm) { a.ComparisonOperator = "LessThanLowerOrGreaterThanUpperThreshold" }, "InvalidParameterValue"},
		{"bad missing-data treatment", func(a *Alarm) { a.TreatMissingData = "zero" }, "InvalidParameterValue"},
		{"metrics and metric name", func(a *Alarm) {
			a.Metrics = []MetricDataQuery{{ID: "e", Expression: "1"}}
		}, "InvalidParameterCombination"},
		{"expression with unknown id", func(a *Alarm) {
			*a = Alarm{AlarmName: "x", EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "GreaterThanThreshold", Metrics: []MetricDataQuery{
				{ID: "m", MetricStat: &MetricStat{Metric: Metric{Namespace: "n", MetricName: "m"}, Period: 60, Stat: StatSum}, ReturnData: new(bool)},
				{ID: "e", Expression: "m + other"},
			}}
		}, "InvalidParameterValue"},
		{"unsupported function", func(a *Alarm) {
			*a = Alarm{AlarmName: "x", EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "GreaterThanThreshold", Metrics: []MetricDataQuery{
				{ID: "m", MetricStat: &MetricStat{Metric: Metric{Namespace: "n", MetricName: "m"}, Period: 60, Stat: StatSum}, ReturnData: new(bool)},
				{ID: "e", Expression: "ANOMALY_DETECTION_BAND(m)"},
			}}
		}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t, t.TempDir(), clock.NewManual(t0))
			a := base
			tt.mutate(&a)
			err := svc.PutMetricAlarm(a)
			require.Error(t, err)
			assert.Equal(t, tt.code, errorCode(err), err.Error())
		})
	}
}

func TestPercentileAndStatistics(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, _ := newService(t, t.TempDir(), clk)
	m := Metric{Namespace: "AWS/SageMaker", MetricName: "ModelLatency"}
	var values []float64
	for i := 1; i <= 100; i++ {
		values = append(values, float64(i))
	}
	require.NoError(t, svc.PutMetricData([]Datum{
		{Namespace: m.Namespace, MetricName: m.MetricName, Timestamp: t0, Values: values},
		{Namespace: m.Namespace, MetricName: m.MetricName, Timestamp: t0.Add(time.Second), Values: []float64{1000}, Counts: []float64{2}},
		{Namespace: m.Namespace, MetricName: m.MetricName, Timestamp: t0.Add(2 * time.Second), Stats: &StatisticSet{SampleCount: 8, Sum: 8, Minimum: 0.5, Maximum: 1.5}},
	}))
	tests := []struct {
		stat string
		want float64
	}{
		{StatSampleCount, 110},
		{StatSum, 5050 + 2000 + 8},
		{StatMinimum, 0.5},
		{StatMaximum, 1000},
		{StatAverage, 7058.0 / 110},
		{"p50", 51},   // 102 raw samples: the 51st
		{"p99", 1000}, // the 101st of 102
		{"p100", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.stat, func(t *testing.T) {
			pts := svc.statSeries(m, tt.stat, "", time.Minute, []time.Time{t0, t0.Add(time.Minute)})
			require.True(t, pts[0].ok)
			assert.InDelta(t, tt.want, pts[0].value, 1e-9)
			assert.False(t, pts[1].ok, "an empty period is missing")
		})
	}
}

func TestAlarmsAndMetricsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(t0)
	svc, _ := newService(t, dir, clk, driftAlarm(MissingNotBreaching, 1, 1))
	require.NoError(t, driftPoint(svc, t0.Add(time.Minute), 0.9))
	clk.Advance(time.Hour)
	require.NoError(t, svc.EvaluateNow(context.Background()))
	require.Equal(t, StateAlarm, state(t, svc, "mlops-dev-drift").StateValue)
	svc.Close()

	// The template alarm is registered again: its state is kept.
	again, events := newService(t, dir, clk, driftAlarm(MissingNotBreaching, 1, 1))
	assert.Equal(t, StateAlarm, state(t, again, "mlops-dev-drift").StateValue)
	require.NoError(t, again.EvaluateNow(context.Background()))
	assert.Empty(t, events.all(), "the stored datapoint still breaches: no transition")
	assert.Len(t, again.ListMetrics("MLOps/dev", "", nil), 1)
}

func errorCode(err error) string { return awsproto.AsError(err).Code }

// fakeTopics records alarm notifications.
type fakeTopics struct {
	mu   sync.Mutex
	msgs map[string][]string
}

func (f *fakeTopics) Deliver(_ context.Context, topic string, msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msgs == nil {
		f.msgs = map[string][]string{}
	}
	f.msgs[topic] = append(f.msgs[topic], string(msg))
	return nil
}

func TestAlarmActionsNotifySNS(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:mlops-dev-Topic"
	disabled := false
	withActions := func(name string, enabled *bool) Alarm {
		a := driftAlarm(MissingNotBreaching, 1, 1)
		a.AlarmName, a.ActionsEnabled = name, enabled
		a.AlarmActions = []string{topic, "arn:aws:lambda:us-east-1:123456789012:function:f"}
		a.OKActions = []string{topic}
		return a
	}
	clk := clock.NewManual(t0)
	topics := &fakeTopics{}
	svc, err := New(Options{StateDir: t.TempDir(), Clock: clk, Actions: topics, Alarms: []Alarm{withActions("on", nil), withActions("off", &disabled)}})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	ctx := context.Background()

	require.NoError(t, driftPoint(svc, t0.Add(time.Minute), 0.9))
	clk.Advance(time.Hour)
	require.NoError(t, svc.EvaluateNow(ctx))
	require.NoError(t, svc.SetAlarmState(ctx, "on", StateOK, "operator reset", ""))

	require.Len(t, topics.msgs[topic], 2, "ALARM then OK, only for the alarm with actions enabled; the Lambda action is not emulated")
	var msg struct {
		AlarmName, NewStateValue, OldStateValue, NewStateReason, Region, AlarmArn, StateChangeTime string
		Trigger                                                                                    struct {
			MetricName, Namespace, StatisticType, Statistic string
			Period                                          int
			Threshold                                       float64
			Dimensions                                      []map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(topics.msgs[topic][0]), &msg))
	assert.Equal(t, "on", msg.AlarmName)
	assert.Equal(t, "ALARM", msg.NewStateValue)
	assert.Equal(t, "INSUFFICIENT_DATA", msg.OldStateValue)
	assert.Equal(t, "US East (N. Virginia)", msg.Region)
	assert.Equal(t, "2026-11-25T10:00:00.000+0000", msg.StateChangeTime)
	assert.Equal(t, "MAXIMUM", msg.Trigger.Statistic)
	assert.Equal(t, "Statistic", msg.Trigger.StatisticType)
	assert.Equal(t, 3600, msg.Trigger.Period)
	assert.Equal(t, []map[string]string{{"name": "EndpointName", "value": "churn-dev"}}, msg.Trigger.Dimensions)
	require.NoError(t, json.Unmarshal([]byte(topics.msgs[topic][1]), &msg))
	assert.Equal(t, "OK", msg.NewStateValue)
	assert.Equal(t, "operator reset", msg.NewStateReason)
}

func TestOldDatapointsAreForgotten(t *testing.T) {
	clk := clock.NewManual(t0)
	svc, _ := newService(t, t.TempDir(), clk)
	require.NoError(t, driftPoint(svc, t0, 0.5))
	clk.Advance(Retention - time.Hour)
	require.NoError(t, svc.EvaluateNow(context.Background()))
	assert.Len(t, svc.ListMetrics("", "", nil), 1)
	clk.Advance(2 * time.Hour)
	require.NoError(t, svc.EvaluateNow(context.Background()))
	assert.Empty(t, svc.ListMetrics("", "", nil))
}
