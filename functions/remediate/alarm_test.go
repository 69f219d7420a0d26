package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/faults"
)

func TestDecodeAlarmEventFixtures(t *testing.T) {
	tests := []struct {
		fixture   string
		alarm     string
		intoAlarm bool
	}{
		{fixture: "remediate-drift-alarm.json", alarm: "mlops-dev-drift", intoAlarm: true},
		{fixture: "remediate-errors-alarm.json", alarm: "mlops-dev-endpoint-errors", intoAlarm: true},
		{fixture: "remediate-ok-transition.json", alarm: "mlops-dev-drift", intoAlarm: false},
		{fixture: "remediate-unknown-alarm.json", alarm: "mlops-dev-pipeline-failures", intoAlarm: true},
		{fixture: "remediate-drift-from-insufficient-data.json", alarm: "mlops-dev-drift", intoAlarm: true},
		{fixture: "remediate-alarm-reason-update.json", alarm: "mlops-dev-drift", intoAlarm: false},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev, err := DecodeAlarmEvent(event(t, tt.fixture))
			require.NoError(t, err)
			assert.Equal(t, tt.alarm, ev.Detail.AlarmName)
			assert.Equal(t, tt.intoAlarm, ev.IntoAlarm())
			assert.NotEmpty(t, ev.Detail.State.Timestamp)
		})
	}
}

func TestDecodeAlarmEventRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "not JSON", doc: `{`, want: "alarm event"},
		{name: "wrong source", doc: `{"source":"aws.s3","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"a","state":{"value":"ALARM","timestamp":"t"}}}`, want: "source"},
		{name: "wrong detail type", doc: `{"source":"aws.cloudwatch","detail-type":"Object Created","detail":{"alarmName":"a","state":{"value":"ALARM","timestamp":"t"}}}`, want: "detail-type"},
		{name: "no alarm name", doc: `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"state":{"value":"ALARM","timestamp":"t"}}}`, want: "alarmName"},
		{name: "unknown state", doc: `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"a","state":{"value":"PANIC","timestamp":"t"}}}`, want: "state"},
		{name: "unknown previous state", doc: `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"a","state":{"value":"ALARM","timestamp":"t"},"previousState":{"value":"MAYBE"}}}`, want: "previous state"},
		{name: "nothing identifies it", doc: `{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"a","state":{"value":"ALARM"}}}`, want: "identifies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeAlarmEvent([]byte(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, faults.Invalid, faults.KindOf(err))
		})
	}
}

func TestTransitionIDIdentifiesTheStateChange(t *testing.T) {
	a, err := DecodeAlarmEvent(event(t, "remediate-drift-alarm.json"))
	require.NoError(t, err)
	b := a
	b.ID = "another-delivery"
	assert.Equal(t, a.TransitionID(), b.TransitionID(), "a redelivery is the same transition")
	c := a
	c.Detail.State.Timestamp = "2026-11-25T11:05:40.985+0000"
	assert.NotEqual(t, a.TransitionID(), c.TransitionID(), "a later transition is another one")
}

// FuzzDecodeAlarmEvent checks that decoding never panics, that every
// rejection is a permanent Invalid error, and that an accepted event has
// what the handler relies on.
func FuzzDecodeAlarmEvent(f *testing.F) {
	files, err := filepath.Glob("../../events/remediate-*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeAlarmEvent(data)
		if err != nil {
			if faults.KindOf(err) != faults.Invalid {
				t.Fatalf("rejection %v is %v, not invalid", err, faults.KindOf(err))
			}
			return
		}
		if ev.Detail.AlarmName == "" || !validState(ev.Detail.State.Value) || ev.TransitionID() == "" {
			t.Fatalf("accepted an event without what the handler needs: %+v", ev)
		}
		if ev.IntoAlarm() && ev.Detail.State.Value != StateAlarm {
			t.Fatalf("IntoAlarm with state %q", ev.Detail.State.Value)
		}
	})
}
