package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventbridge"
)

// alarmEvent builds a CloudWatch "Alarm State Change" event from the
// committed fixture for alarm, from state prev to state at ts.
func alarmEvent(t *testing.T, alarm, prev, state string, ts time.Time) eventbridge.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "events", "remediate-drift-alarm.json"))
	require.NoError(t, err)
	var ev eventbridge.Event
	require.NoError(t, json.Unmarshal(b, &ev))
	var detail map[string]any
	require.NoError(t, json.Unmarshal(ev.Detail, &detail))
	detail["alarmName"] = alarm
	detail["state"].(map[string]any)["value"] = state
	detail["state"].(map[string]any)["timestamp"] = ts.UTC().Format("2006-01-02T15:04:05.000+0000")
	detail["previousState"].(map[string]any)["value"] = prev
	ev.Detail, err = json.Marshal(detail)
	require.NoError(t, err)
	ev.ID = fmt.Sprintf("chaos-%s-%d", state, ts.UnixNano())
	ev.Time = ts.UTC().Format(time.RFC3339)
	ev.Resources = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + alarm}
	return ev
}

// runAlarmBurst sends a burst of duplicate and flapping drift-alarm events
// to remediate and counts the retrainings it starts.
func runAlarmBurst(t *testing.T, g Guards) Outcome {
	// The wall clock: remediate compares its own time with the executions'
	// start dates, so the cloud must not run faster than the function.
	c := startCloud(t, Options{Functions: []string{"RemediateFunction"}, Guards: g, Clock: clock.Real{}})
	fn, err := c.Function("RemediateFunction")
	require.NoError(t, err)
	machine := fn.Env["STATE_MACHINE_ARN"]
	alarm := strings.Split(fn.Env["DRIFT_ALARM_NAMES"], ",")[0]
	require.NotEmpty(t, alarm)
	putObject(t, c, bucketName(t, c, "RawBucket"), "raw/churn-new.csv", sampleCSV)

	// Flaps (3, or 5 with -chaos.full): each transition into ALARM is delivered 3 times at once
	// (EventBridge duplicates), then the alarm goes back to OK.
	flaps, copies := 3, 3
	if *full {
		flaps = 5
	}
	start := time.Now()
	for i := range flaps {
		ts := start.Add(time.Duration(i) * time.Second)
		into := alarmEvent(t, alarm, "OK", "ALARM", ts)
		var wg sync.WaitGroup
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.Events.Emit(context.Background(), into)
			}()
		}
		wg.Wait()
		require.NoError(t, c.Events.Emit(context.Background(), alarmEvent(t, alarm, "ALARM", "OK", ts.Add(500*time.Millisecond))))
		// The next flap comes once this one is handled and any retraining
		// it started has ended (the pipeline fails fast here: no prepare
		// function): the cooldown, not the running execution, must be
		// what stops the next one.
		require.True(t, waitFor(60*time.Second, func() bool {
			return reports(c, fn.Name) >= (i+1)*copies && c.StepFunctions.Running() == 0
		}), "flap %d was not handled", i)
	}
	// The rule matches transitions into ALARM only: the OK events are
	// filtered out by EventBridge.
	want := flaps * copies
	require.True(t, waitFor(90*time.Second, func() bool { return reports(c, fn.Name) >= want }),
		"remediate ran %d of %d times", reports(c, fn.Name), want)

	execs := executions(t, c, machine)
	decisions := map[string]int{}
	for _, line := range logLines(c, "["+fn.Name+"]", `"action"`) {
		var rec struct {
			Action string `json:"action"`
		}
		if i := strings.Index(line, "{"); i >= 0 && json.Unmarshal([]byte(line[i:]), &rec) == nil && rec.Action != "" {
			decisions[rec.Action]++
		}
	}
	return Outcome{
		Held:     len(execs) == 1,
		Detail:   fmt.Sprintf("%d alarm events (%d transitions into ALARM x%d copies, %d back to OK) -> %d remediate invocations, %d retraining executions; decisions: %v", flaps*(copies+1), flaps, copies, flaps, reports(c, fn.Name), len(execs), decisions),
		Evidence: fmt.Sprintf("executions: %s; remediation markers under s3://<artifacts>/monitor/<endpoint>/remediation/; SetAlarmState calls: %d; state under %s", firstN(execs, 3), countOf(c.CloudWatch.Calls(), "SetAlarmState"), c.StateDir),
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
