package stack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWarp(t *testing.T) {
	t.Run("waits pass Factor times faster and deliver the wake-up time", func(t *testing.T) {
		w := NewWarp(100)
		start := time.Now()
		asked := w.Now().Add(2 * time.Second)
		got := <-w.After(2 * time.Second)
		assert.Less(t, time.Since(start), time.Second, "2 s at 100x is 20 ms")
		assert.False(t, got.Before(asked), "the channel gives the time the sleeper asked for")
	})
	t.Run("Now stays on the wall clock", func(t *testing.T) {
		w := NewWarp(1000)
		<-w.After(time.Minute)
		assert.WithinDuration(t, time.Now(), w.Now(), time.Second)
	})
	t.Run("Advance wakes the sleepers it reaches and only those", func(t *testing.T) {
		w := NewWarp(1)
		hour, day := w.After(time.Hour), w.After(24*time.Hour)
		w.Advance(2 * time.Hour)
		select {
		case <-hour:
		case <-time.After(time.Second):
			t.Fatal("the one-hour sleeper did not wake")
		}
		select {
		case <-day:
			t.Fatal("the one-day sleeper woke")
		case <-time.After(50 * time.Millisecond):
		}
		assert.Equal(t, 2*time.Hour, w.Offset())
		assert.WithinDuration(t, time.Now().Add(2*time.Hour), w.Now(), time.Second)
	})
	t.Run("a jumping wait moves the clock to its wake-up time", func(t *testing.T) {
		w := NewWarp(1000)
		before := time.Now()
		<-w.Jumping().After(5 * time.Minute)
		assert.False(t, w.Now().Before(before.Add(5*time.Minute)), "Now reached the wake-up time")
		assert.Greater(t, w.Offset(), 4*time.Minute)
	})
	t.Run("factor below one means one", func(t *testing.T) {
		assert.Equal(t, 1.0, NewWarp(0).Factor())
	})
}
