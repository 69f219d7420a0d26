package cloudwatchemu

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// TestTemplateAlarms registers every alarm of template.yaml and drives
// the drift alarm with EMF lines, as the local cloud runs them.
func TestTemplateAlarms(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", samtemplate.Options{StackName: "mlops-dev"})
	require.NoError(t, err)
	var alarms []Alarm
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		a, err := AlarmFromTemplate(tpl.PhysicalName(id), r.Properties)
		require.NoError(t, err, id)
		alarms = append(alarms, a)
	}
	require.GreaterOrEqual(t, len(alarms), 6)

	clk := clock.NewManual(t0)
	svc, events := newService(t, t.TempDir(), clk, alarms...)
	byName := map[string]AlarmView{}
	for _, v := range svc.DescribeAlarms(nil, "", "") {
		byName[v.AlarmName] = v
		assert.Equal(t, StateInsufficientData, v.StateValue, v.AlarmName)
	}
	drift, ok := byName["mlops-dev-drift"]
	require.True(t, ok, "alarms: %v", byName)
	assert.Equal(t, int32(3600), drift.Period)
	assert.Positive(t, drift.EvaluationPeriods, "a parameter given as a string becomes a number")
	assert.Len(t, byName["mlops-dev-pipeline-failures"].Metrics, 4)
	assert.Equal(t, "p99", byName["mlops-dev-endpoint-latency"].ExtendedStatistic)

	// Breaching drift scores in every hour, written as the monitor writes them.
	for h := 0; h < int(drift.EvaluationPeriods); h++ {
		line := []byte(`{"EndpointName":"` + drift.Dimensions[0].Value + `","DriftScore":` + "9" +
			`,"_aws":{"Timestamp":` + itoa(t0.Add(time.Duration(h)*time.Hour+time.Minute).UnixMilli()) +
			`,"CloudWatchMetrics":[{"Namespace":"` + drift.Namespace + `","Dimensions":[["EndpointName"]],"Metrics":[{"Name":"DriftScore","Unit":"None"}]}]}}`)
		svc.IngestLog(line)
	}
	clk.Advance(time.Duration(drift.EvaluationPeriods) * time.Hour)
	require.NoError(t, svc.EvaluateNow(context.Background()))
	assert.Equal(t, StateAlarm, state(t, svc, "mlops-dev-drift").StateValue)
	var driftEvents int
	for _, ev := range events.all() {
		if ev.Resources[0] == svc.AlarmARN("mlops-dev-drift") {
			driftEvents++
		}
	}
	assert.Equal(t, 1, driftEvents, "one transition: INSUFFICIENT_DATA -> ALARM")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
