package stack

import (
	"sync"
	"time"
)

// Warp is a clock that runs Factor times faster than the wall clock and can
// also jump forward (Advance). `localcloud demo` and the end-to-end test use
// it: the pipeline's Wait states and polling pass at the fast pace, while an
// hour-long CloudWatch alarm period or a monitoring schedule is crossed with
// one Advance instead of being waited for. It satisfies clock.Clock and is
// safe for concurrent use.
type Warp struct {
	factor     float64
	realStart  time.Time
	cloudStart time.Time

	mu     sync.Mutex
	offset time.Duration
	jumped chan struct{} // closed (and replaced) by every Advance
}

// NewWarp returns a clock that starts at start and runs factor times faster
// than the wall clock (factor <= 0 means 1).
func NewWarp(start time.Time, factor float64) *Warp {
	if factor <= 0 {
		factor = 1
	}
	return &Warp{factor: factor, realStart: time.Now(), cloudStart: start, jumped: make(chan struct{})}
}

// Factor is how many times faster than the wall clock the clock runs.
func (w *Warp) Factor() float64 { return w.factor }

// Now returns the clock's time.
func (w *Warp) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nowLocked()
}

func (w *Warp) nowLocked() time.Time {
	elapsed := time.Duration(float64(time.Since(w.realStart)) * w.factor)
	return w.cloudStart.Add(elapsed + w.offset)
}

// Advance moves the clock forward by d at once, waking every sleeper due by
// then.
func (w *Warp) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	w.offset += d
	close(w.jumped)
	w.jumped = make(chan struct{})
	w.mu.Unlock()
}

// After returns a channel that receives the clock's time once d has passed
// on this clock.
func (w *Warp) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	deadline := w.nowLocked().Add(d)
	w.mu.Unlock()
	go func() {
		for {
			w.mu.Lock()
			now, jumped := w.nowLocked(), w.jumped
			w.mu.Unlock()
			if !now.Before(deadline) {
				ch <- now
				return
			}
			wait := time.Duration(float64(deadline.Sub(now)) / w.factor)
			if wait < time.Millisecond {
				wait = time.Millisecond
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-jumped:
				t.Stop()
			}
		}
	}()
	return ch
}
