package cloudwatchemu

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/shared/metrics"
)

// TestMonitoringFailuresAlarm: a monitoring run the monitor drops as a
// permanent failure (it emits MonitoringFailures with its EndpointName and
// Kind dimensions, through shared/metrics) puts the template's
// MonitoringFailuresAlarm in ALARM; a transient kind, which is retried and
// dead-lettered instead, does not.
func TestMonitoringFailuresAlarm(t *testing.T) {
	tpl := loadTemplate(t)
	endpoint := tpl.Parameters["EndpointName"]
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		kind string
		want string
	}{
		{"invalid", StateAlarm},
		{"not-found", StateAlarm},
		{"denied", StateAlarm},
		{"throttled", StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			clk := clock.NewManual(t0)
			alarms := templateAlarms(t, tpl, "MonitoringFailuresAlarm")
			cw, err := New(Options{StateDir: t.TempDir(), Clock: clk, Alarms: alarms})
			require.NoError(t, err)
			t.Cleanup(cw.Close)

			var line bytes.Buffer
			emf := metrics.New(&line, alarms[0].Metrics[0].MetricStat.Metric.Namespace, func() time.Time { return t0.Add(time.Minute) })
			require.NoError(t, emf.Emit([]metrics.Dimension{{Name: "EndpointName", Value: endpoint}, {Name: "Kind", Value: tt.kind}}, nil,
				metrics.Metric{Name: "MonitoringFailures", Unit: metrics.Count, Value: 1}))
			cw.IngestLog(bytes.TrimSpace(line.Bytes()))

			clk.Advance(time.Hour)
			require.NoError(t, cw.EvaluateNow(context.Background()))
			assert.Equal(t, tt.want, state(t, cw, alarms[0].AlarmName).StateValue)
		})
	}
}
