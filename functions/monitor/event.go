package main

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/gomlops/mlops/shared/faults"
)

// The EventBridge envelope of the schedule that runs the monitor.
const (
	ScheduleSource     = "aws.events"
	ScheduleDetailType = "Scheduled Event"
)

// maxEventBytes is EventBridge's limit on an event (256 KiB).
const maxEventBytes = 256 << 10

// Trigger says what started a run.
type Trigger struct {
	// Scheduled is set for the schedule's events; on-demand runs ({}) leave
	// it unset.
	Scheduled bool
	// ID and Time identify the scheduled event, for the logs.
	ID   string
	Time time.Time
}

// scheduledEvent is EventBridge's "Scheduled Event". Fields it does not
// list are ignored, as EventBridge may add some (a replay adds
// "replay-name").
type scheduledEvent struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Time       string `json:"time"`
}

// DecodeEvent checks the invocation's payload: an EventBridge scheduled
// event, or an empty object (or nothing) for an on-demand run. Anything else
// is a permanent Invalid error: the same bytes can never succeed. The
// monitor takes no parameters, so an on-demand payload with fields is
// refused rather than silently ignored.
func DecodeEvent(data []byte) (Trigger, error) {
	if len(data) > maxEventBytes {
		return Trigger{}, faults.Invalidf("monitor event: %d bytes, more than EventBridge's %d", len(data), maxEventBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return Trigger{}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return Trigger{}, faults.Invalidf("monitor event: want a scheduled event or {}: %v", err)
	}
	if len(fields) == 0 {
		return Trigger{}, nil
	}
	var ev scheduledEvent
	if err := json.Unmarshal(trimmed, &ev); err != nil {
		return Trigger{}, faults.Invalidf("monitor event: %v", err)
	}
	switch {
	case ev.Source != ScheduleSource:
		return Trigger{}, faults.Invalidf("monitor event: source %q, want %q (an on-demand run takes {})", ev.Source, ScheduleSource)
	case ev.DetailType != ScheduleDetailType:
		return Trigger{}, faults.Invalidf("monitor event: detail-type %q, want %q", ev.DetailType, ScheduleDetailType)
	}
	at, err := time.Parse(time.RFC3339, ev.Time)
	if err != nil {
		return Trigger{}, faults.Invalidf("monitor event %s: time %q is not RFC 3339", ev.ID, ev.Time)
	}
	return Trigger{Scheduled: true, ID: ev.ID, Time: at.UTC()}, nil
}
