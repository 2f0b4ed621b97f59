package runs

import (
	"sync"
	"time"
)

// clock measures a run's training time: it is paused around evaluations and checkpoints, and
// starts from a resumed run's earlier seconds. Safe for concurrent use (the progress bar reads
// it from another goroutine).
type clock struct {
	mu      sync.Mutex
	trained time.Duration
	since   time.Time // zero while paused
}

func newClock(seconds float64) *clock {
	return &clock{trained: time.Duration(seconds * float64(time.Second))}
}

// Seconds returns the training time so far.
func (c *clock) Seconds() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.since.IsZero() {
		return c.trained.Seconds()
	}
	return (c.trained + time.Since(c.since)).Seconds()
}

// Pause stops the clock (no-op if stopped).
func (c *clock) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.since.IsZero() {
		c.trained += time.Since(c.since)
		c.since = time.Time{}
	}
}

// Start (re)starts the clock.
func (c *clock) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = time.Now()
}
