package asl

import (
	"sync"
	"time"
)

// Event is one execution history event in AWS's shape: the sfnemu service
// renders it as {"id", "previousEventId", "timestamp", "type",
// "<DetailsKey>": Details}.
type Event struct {
	ID              int64          `json:"id"`
	PreviousEventID int64          `json:"previousEventId"`
	Timestamp       time.Time      `json:"timestamp"`
	Type            string         `json:"type"`
	DetailsKey      string         `json:"detailsKey,omitempty"`
	Details         map[string]any `json:"details,omitempty"`
}

// History is an execution's append-only event log, safe for concurrent use
// by the branches of Parallel and Map states.
type History struct {
	mu      sync.Mutex
	events  []Event
	onEvent func(Event)
}

// NewHistory returns an empty history that calls onEvent (if not nil) after
// each event is appended, for persistence or streaming.
func NewHistory(onEvent func(Event)) *History { return &History{onEvent: onEvent} }

// RestoreHistory returns a history holding events loaded from storage.
func RestoreHistory(events []Event) *History {
	return &History{events: append([]Event(nil), events...)}
}

// Events returns a copy of the events so far.
func (h *History) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

// Len returns the number of events so far.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

func (h *History) add(prev int64, at time.Time, typ, key string, details map[string]any) int64 {
	h.mu.Lock()
	ev := Event{ID: int64(len(h.events) + 1), PreviousEventID: prev, Timestamp: at, Type: typ, DetailsKey: key, Details: details}
	h.events = append(h.events, ev)
	cb := h.onEvent
	h.mu.Unlock()
	if cb != nil {
		cb(ev)
	}
	return ev.ID
}

// payloadDetails is the {"truncated": false} object AWS attaches to inputs
// and outputs in history events.
func payloadDetails() map[string]any { return map[string]any{"truncated": false} }
