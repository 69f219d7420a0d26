package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func fired(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestManualWakesSleepersInOrder(t *testing.T) {
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	m := NewManual(start)
	a := m.After(10 * time.Second)
	b := m.After(time.Hour)
	now := m.After(0)
	assert.True(t, fired(now), "a zero wait fires at once")
	assert.Equal(t, 2, m.Pending())

	m.Advance(5 * time.Second)
	assert.False(t, fired(a))

	assert.True(t, m.AdvanceToNext())
	assert.Equal(t, start.Add(10*time.Second), m.Now())
	assert.True(t, fired(a))
	assert.False(t, fired(b))

	assert.True(t, m.AdvanceToNext())
	assert.Equal(t, start.Add(time.Hour), m.Now())
	assert.True(t, fired(b))
	assert.False(t, m.AdvanceToNext(), "nothing left to wake")
}

func TestScaledRunsFaster(t *testing.T) {
	s := NewScaled(1000)
	t0 := s.Now()
	select {
	case <-s.After(10 * time.Second): // 10 ms of wall time
	case <-time.After(5 * time.Second):
		t.Fatal("a scaled 10s wait took more than 5s of wall time")
	}
	assert.GreaterOrEqual(t, s.Now().Sub(t0), 10*time.Second)
}
