package main

import (
	"encoding/json"
	"strings"

	"github.com/gomlops/mlops/shared/faults"
)

// The EventBridge envelope of CloudWatch alarm state changes.
const (
	AlarmSource     = "aws.cloudwatch"
	AlarmDetailType = "CloudWatch Alarm State Change"
)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// AlarmEvent is an EventBridge "CloudWatch Alarm State Change" event.
// Only the fields remediation reads are decoded.
type AlarmEvent struct {
	Version    string      `json:"version"`
	ID         string      `json:"id"`
	DetailType string      `json:"detail-type"`
	Source     string      `json:"source"`
	Account    string      `json:"account"`
	Time       string      `json:"time"`
	Region     string      `json:"region"`
	Resources  []string    `json:"resources"`
	Detail     AlarmDetail `json:"detail"`
}

// AlarmDetail is the event's detail.
type AlarmDetail struct {
	AlarmName     string     `json:"alarmName"`
	State         AlarmState `json:"state"`
	PreviousState AlarmState `json:"previousState"`
}

// AlarmState is one side of the transition. Timestamp is kept as CloudWatch
// wrote it ("2026-11-25T10:05:40.985+0000"): it identifies the transition.
type AlarmState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp"`
}

// maxEventBytes is EventBridge's limit on an event (256 KiB).
const maxEventBytes = 256 << 10

// DecodeAlarmEvent decodes and checks an alarm state change event. Every
// problem is a permanent Invalid error: the same bytes can never succeed.
func DecodeAlarmEvent(data []byte) (AlarmEvent, error) {
	var ev AlarmEvent
	if len(data) > maxEventBytes {
		return ev, faults.Invalidf("alarm event: %d bytes, more than EventBridge's %d", len(data), maxEventBytes)
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, faults.Invalidf("alarm event: %v", err)
	}
	switch {
	case ev.Source != AlarmSource:
		return ev, faults.Invalidf("alarm event: source %q, want %q", ev.Source, AlarmSource)
	case ev.DetailType != AlarmDetailType:
		return ev, faults.Invalidf("alarm event: detail-type %q, want %q", ev.DetailType, AlarmDetailType)
	case strings.TrimSpace(ev.Detail.AlarmName) == "":
		return ev, faults.Invalidf("alarm event %s: no detail.alarmName", ev.ID)
	case !validState(ev.Detail.State.Value):
		return ev, faults.Invalidf("alarm event %s: state %q is not OK, ALARM or INSUFFICIENT_DATA", ev.ID, ev.Detail.State.Value)
	case ev.Detail.PreviousState.Value != "" && !validState(ev.Detail.PreviousState.Value):
		return ev, faults.Invalidf("alarm event %s: previous state %q is not OK, ALARM or INSUFFICIENT_DATA", ev.ID, ev.Detail.PreviousState.Value)
	case ev.Detail.State.Timestamp == "" && ev.ID == "":
		return ev, faults.Invalidf("alarm event: neither an id nor a state timestamp identifies it")
	}
	return ev, nil
}

func validState(s string) bool {
	return s == StateOK || s == StateAlarm || s == StateInsufficientData
}

// TransitionID identifies the state change the event reports: the alarm
// and the time it entered its state. EventBridge may deliver one change
// twice (same id), and both copies share this identity.
func (ev AlarmEvent) TransitionID() string {
	ts := ev.Detail.State.Timestamp
	if ts == "" {
		ts = "event:" + ev.ID
	}
	return ev.Detail.AlarmName + "\x00" + ts
}

// IntoAlarm reports whether the event is a transition into ALARM.
func (ev AlarmEvent) IntoAlarm() bool {
	return ev.Detail.State.Value == StateAlarm && ev.Detail.PreviousState.Value != StateAlarm
}
