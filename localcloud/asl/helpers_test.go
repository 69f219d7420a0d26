package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/require"
)

var testStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// fakeLambda answers Invoke with a per-function handler and records calls
// with the clock time they arrived.
type fakeLambda struct {
	mu      sync.Mutex
	clk     clock.Clock
	calls   []lambdaCall
	handler func(fn string, payload any) (any, error)
}

type lambdaCall struct {
	fn      string
	payload any
	at      time.Time
}

func (f *fakeLambda) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	v, err := DecodeJSON(payload)
	if err != nil {
		return nil, fmt.Errorf("fake lambda got invalid JSON %q: %w", payload, err)
	}
	f.mu.Lock()
	at := time.Time{}
	if f.clk != nil {
		at = f.clk.Now()
	}
	f.calls = append(f.calls, lambdaCall{fn: fn, payload: v, at: at})
	f.mu.Unlock()
	out, err := f.handler(fn, v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func (f *fakeLambda) Calls() []lambdaCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lambdaCall(nil), f.calls...)
}

// fnError is a Lambda function error as lambdaemu reports it.
type fnError struct{ typ, msg string }

func (e *fnError) Error() string        { return e.typ + ": " + e.msg }
func (e *fnError) ErrorType() string    { return e.typ }
func (e *fnError) ErrorMessage() string { return e.msg }

// apiError is an AWS service error with a code.
type apiError struct{ code, msg string }

func (e *apiError) Error() string     { return e.code + ": " + e.msg }
func (e *apiError) ErrorCode() string { return e.code }

type fakeSDK struct {
	handler func(service, action string, params any) (any, error)
}

func (f *fakeSDK) CallAWS(_ context.Context, service, action string, params []byte) ([]byte, error) {
	v, err := DecodeJSON(params)
	if err != nil {
		return nil, err
	}
	out, err := f.handler(service, action, v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

type published struct{ topic, subject, message string }

type fakeSNS struct {
	mu   sync.Mutex
	msgs []published
	err  error
}

func (f *fakeSNS) Publish(_ context.Context, topic, subject, message string) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, published{topic, subject, message})
	return fmt.Sprintf("msg-%d", len(f.msgs)), nil
}

func (f *fakeSNS) Messages() []published {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]published(nil), f.msgs...)
}

func mustParse(t testing.TB, def string) *StateMachine {
	t.Helper()
	sm, err := Parse([]byte(def))
	require.NoError(t, err)
	return sm
}

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	require.NoError(t, err)
	return v
}

// runManual runs a definition on a manual clock, fast-forwarding whenever
// the execution waits, and returns the result and history.
func runManual(t testing.TB, cfg Config, def, input string) (Result, *History) {
	t.Helper()
	m, ok := cfg.Clock.(*clock.Manual)
	if !ok || m == nil {
		m = clock.NewManual(testStart)
		cfg.Clock = m
	}
	if cfg.NewUUID == nil {
		n := 0
		var mu sync.Mutex
		cfg.NewUUID = func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		}
	}
	if cfg.Random == nil {
		cfg.Random = func() float64 { return 0.5 }
	}
	e := New(cfg)
	sm := mustParse(t, def)
	h := NewHistory(nil)
	info := ExecutionInfo{
		ARN: "arn:aws:states:us-east-1:123456789012:execution:sm:ex", Name: "ex",
		StateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", StateMachineName: "sm",
		StartTime: m.Now(), Input: mustDecode(t, input),
	}
	done := make(chan Result, 1)
	go func() { done <- e.Run(context.Background(), sm, info, h) }()
	return fastForward(t, m, h, done)
}

// fastForward advances the manual clock to the next wake-up whenever the
// execution is quiescent (no new events and the same sleepers for a
// moment), so timers fire only when nothing else can happen first.
func fastForward(t testing.TB, m *clock.Manual, h *History, done <-chan Result) (Result, *History) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	lastLen, lastPending, stable := -1, -1, 0
	for {
		select {
		case res := <-done:
			return res, h
		case <-deadline:
			t.Fatalf("execution did not finish; history: %v", eventTypes(h))
		case <-time.After(300 * time.Microsecond):
		}
		l, p := h.Len(), m.Pending()
		if l == lastLen && p == lastPending && p > 0 {
			stable++
		} else {
			stable = 0
		}
		lastLen, lastPending = l, p
		if stable >= 3 {
			m.AdvanceToNext()
			stable = 0
		}
	}
}

func eventTypes(h *History) []string {
	var out []string
	for _, e := range h.Events() {
		out = append(out, e.Type)
	}
	return out
}
