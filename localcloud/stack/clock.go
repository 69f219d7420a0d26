package stack

import (
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
)

// Warp is the clock of `localcloud demo` and the end-to-end test. Every
// wait (After) passes Factor times faster than the wall clock, while Now
// stays on the wall clock plus the jumps made with Advance.
//
// Why not clock.Scaled: the functions run on the machine's real clock (their
// EMF timestamps, the registry's deployedAt, the monitor's notion of "this
// hour"). A clock that ran ahead of it would put data capture partitions in
// hours the monitor thinks are in the future. With Warp, a one-minute Wait
// state or polling interval is short, and timestamps written by the
// emulators and by the functions agree; an hour-long alarm period is
// crossed with one Advance. Warp satisfies clock.Clock and is safe for
// concurrent use.
type Warp struct {
	factor float64

	mu     sync.Mutex
	offset time.Duration
	jumped chan struct{} // closed (and replaced) by every Advance
}

// NewWarp returns a clock whose waits run factor times faster than the wall
// clock (factor <= 0 means 1).
func NewWarp(factor float64) *Warp {
	if factor <= 0 {
		factor = 1
	}
	return &Warp{factor: factor, jumped: make(chan struct{})}
}

// Factor is how many times faster than the wall clock waits pass.
func (w *Warp) Factor() float64 { return w.factor }

// Now returns the wall-clock time plus every Advance so far.
func (w *Warp) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Now().Add(w.offset)
}

// Offset is the sum of every Advance so far.
func (w *Warp) Offset() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.offset
}

// Advance moves the clock forward by d at once; sleepers whose wake-up time
// is reached wake.
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

// After returns a channel that receives, after d/Factor of real time (or
// sooner, when an Advance reaches it), the clock's time d from now: the
// time the sleeper asked to be woken at, so schedulers that compare it with
// their due times find them due.
func (w *Warp) After(d time.Duration) <-chan time.Time { return w.after(d, false) }

// Jumping returns a view of the clock whose waits, when they end early,
// move the clock forward to their wake-up time, so that code waiting until a
// moment ("bake until the deadline, checking alarms every 10 s") reaches it.
// The stack gives it to SageMaker, whose deployments wait that way. Every
// jump moves the one shared clock, as Advance does.
func (w *Warp) Jumping() clock.Clock { return jumping{w} }

type jumping struct{ w *Warp }

func (j jumping) Now() time.Time                         { return j.w.Now() }
func (j jumping) After(d time.Duration) <-chan time.Time { return j.w.after(d, true) }

// advanceTo moves the clock forward to t if it is behind.
func (w *Warp) advanceTo(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gap := t.Sub(time.Now().Add(w.offset)); gap > 0 {
		w.offset += gap
		close(w.jumped)
		w.jumped = make(chan struct{})
	}
}

func (w *Warp) after(d time.Duration, jump bool) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	deadline := time.Now().Add(w.offset + d)
	jumped := w.jumped
	w.mu.Unlock()
	realWait := time.Duration(float64(d) / w.factor)
	go func() {
		t := time.NewTimer(realWait)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if jump {
					w.advanceTo(deadline)
				}
				ch <- laterOf(deadline, w.Now())
				return
			case <-jumped:
				w.mu.Lock()
				now := time.Now().Add(w.offset)
				jumped = w.jumped
				w.mu.Unlock()
				if !now.Before(deadline) {
					ch <- now
					return
				}
			}
		}
	}()
	return ch
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
