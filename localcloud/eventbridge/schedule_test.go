package eventbridge

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseScheduleRejects(t *testing.T) {
	for _, expr := range []string{
		"rate(1 minutes)", "rate(5 minute)", "rate(0 hours)", "rate(2 weeks)", "rate(5)",
		"cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(60 12 * * ? *)", "cron(0 12 * * ?)",
		"cron(0 12 15W * ? *)", "cron(0 12 ? * 6#3 *)", "every day", "cron(0 25 * * ? *)",
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := parseSchedule(expr)
			assert.Error(t, err)
		})
	}
}

func TestCronNext(t *testing.T) {
	from := time.Date(2026, 5, 6, 7, 8, 30, 0, time.UTC) // a Wednesday
	tests := []struct {
		expr string
		want time.Time
	}{
		{"cron(0 10 * * ? *)", time.Date(2026, 5, 6, 10, 0, 0, 0, time.UTC)},
		{"cron(0/15 * * * ? *)", time.Date(2026, 5, 6, 7, 15, 0, 0, time.UTC)},
		{"cron(0 18 ? * MON-FRI *)", time.Date(2026, 5, 6, 18, 0, 0, 0, time.UTC)},
		{"cron(0 8 1 * ? *)", time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)},
		{"cron(0 0 ? * SUN *)", time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)},
		{"cron(30 2 L * ? *)", time.Date(2026, 5, 31, 2, 30, 0, 0, time.UTC)},
		{"cron(0 9 1 JAN,JUL ? 2027)", time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			sc, err := parseSchedule(tt.expr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, sc.next(from, from))
		})
	}
}

func TestRateNext(t *testing.T) {
	sc, err := parseSchedule("rate(5 minutes)")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(5*time.Minute), sc.next(t0, t0))
	assert.Equal(t, t0.Add(10*time.Minute), sc.next(t0.Add(5*time.Minute), t0))
	assert.Equal(t, t0.Add(10*time.Minute), sc.next(t0.Add(7*time.Minute), t0))
}

func TestScheduledRuleFiresOnClock(t *testing.T) {
	f := newFixture(t, t.TempDir())
	require.NoError(t, f.svc.RegisterRule(Rule{Name: "hourly", ScheduleExpression: "rate(1 hour)", Targets: []Target{
		{ID: "monitor", Arn: "arn:aws:lambda:us-east-1:123456789012:function:monitor"},
	}}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(f.lambda.Calls()) < n {
			require.True(t, time.Now().Before(deadline), "scheduled invocation %d did not arrive", n)
			if f.clk.Pending() > 0 {
				f.clk.AdvanceToNext()
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(2)
	f.svc.Wait()
	calls := f.lambda.Calls()
	var ev Event
	require.NoError(t, json.Unmarshal([]byte(calls[0].payload), &ev))
	assert.Equal(t, "Scheduled Event", ev.DetailType)
	assert.Equal(t, "aws.events", ev.Source)
	assert.Equal(t, []string{"arn:aws:events:us-east-1:123456789012:rule/hourly"}, ev.Resources)
	assert.Equal(t, t0.Add(time.Hour).Format(time.RFC3339), ev.Time)
	assert.JSONEq(t, `{}`, string(ev.Detail))
	require.NoError(t, json.Unmarshal([]byte(calls[1].payload), &ev))
	assert.Equal(t, t0.Add(2*time.Hour).Format(time.RFC3339), ev.Time)
}
