// Package clock is the local cloud's notion of time.
//
// Every emulated service that waits (Step Functions Wait states and polling
// loops, EventBridge schedules, CloudWatch alarm periods, Glue and SageMaker
// job durations) asks a Clock instead of the time package, so a test or a
// demo can fast-forward hours of cloud time in milliseconds.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and wakes sleepers.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the clock's time once d has
	// passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Manual is a clock that moves only when told to (Advance, Set) or, with
// AutoAdvance, by itself whenever every sleeper would otherwise block. It is
// safe for concurrent use.
type Manual struct {
	mu       sync.Mutex
	now      time.Time
	sleepers []sleeper
}

type sleeper struct {
	at time.Time
	ch chan time.Time
}

// NewManual returns a Manual clock set to start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// After returns a channel that fires when the clock reaches Now()+d.
func (m *Manual) After(d time.Duration) <-chan time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan time.Time, 1)
	at := m.now.Add(d)
	if d <= 0 {
		ch <- m.now
		return ch
	}
	m.sleepers = append(m.sleepers, sleeper{at: at, ch: ch})
	return ch
}

// Advance moves the clock forward by d, waking every sleeper due by then.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.set(m.now.Add(d))
	m.mu.Unlock()
}

// AdvanceToNext moves the clock to the earliest pending wake-up, if any, and
// reports whether there was one. Fast-forwarding loops call it when the
// system is otherwise idle.
func (m *Manual) AdvanceToNext() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sleepers) == 0 {
		return false
	}
	next := m.sleepers[0].at
	for _, s := range m.sleepers[1:] {
		if s.at.Before(next) {
			next = s.at
		}
	}
	if next.After(m.now) {
		m.set(next)
	} else {
		m.set(m.now)
	}
	return true
}

// Pending returns how many sleepers are waiting.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sleepers)
}

// set must be called with mu held.
func (m *Manual) set(t time.Time) {
	if t.After(m.now) {
		m.now = t
	}
	sort.SliceStable(m.sleepers, func(i, j int) bool { return m.sleepers[i].at.Before(m.sleepers[j].at) })
	keep := m.sleepers[:0]
	for _, s := range m.sleepers {
		if !s.at.After(m.now) {
			s.ch <- m.now
			continue
		}
		keep = append(keep, s)
	}
	m.sleepers = keep
}

// Scaled is a clock that runs Factor times faster than the wall clock from
// the moment it is made: with Factor 60, a one-minute Wait state takes one
// second. It is what `localcloud up --speed 60` uses.
type Scaled struct {
	Factor float64
	start  time.Time
	origin time.Time
}

// NewScaled returns a clock that starts at the current wall time and runs
// factor times faster (factor <= 0 means 1).
func NewScaled(factor float64) *Scaled {
	if factor <= 0 {
		factor = 1
	}
	now := time.Now()
	return &Scaled{Factor: factor, start: now, origin: now}
}

// Now returns the scaled time.
func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.start)
	return s.origin.Add(time.Duration(float64(elapsed) * s.Factor))
}

// After waits d of scaled time.
func (s *Scaled) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	real := time.Duration(float64(d) / s.Factor)
	time.AfterFunc(real, func() { ch <- s.Now() })
	return ch
}
