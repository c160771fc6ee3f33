// Package clock provides the one injected time source for everything in
// Fogbank that waits: visibility timeouts, retries, schedules, function
// timeouts. The server clock can run faster than real time and be advanced
// by hand, so that day-long AWS delivery policies can be exercised in
// seconds; tests use a manual clock that only moves when told.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current time on this clock.
	Now() time.Time
	// After returns a channel that receives the clock time once d has
	// passed on this clock. Unlike time.After it is released when ctx ends.
	After(ctx context.Context, d time.Duration) <-chan time.Time
	// Until returns a channel that receives the clock time once the clock
	// reaches t. Prefer it to After(t.Sub(Now())) when waiting for a due
	// time: it cannot overshoot when the clock moves between reading Now
	// and starting the wait.
	Until(ctx context.Context, t time.Time) <-chan time.Time
	// Sleep waits for d on this clock or until ctx ends (returning ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After waits d of wall time.
func (Real) After(ctx context.Context, d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	t := time.NewTimer(d)
	go func() {
		defer t.Stop()
		select {
		case now := <-t.C:
			ch <- now
		case <-ctx.Done():
		}
	}()
	return ch
}

// Until waits until the wall clock reaches t.
func (r Real) Until(ctx context.Context, t time.Time) <-chan time.Time {
	return r.After(ctx, time.Until(t))
}

// Sleep waits d of wall time or until ctx ends.
func (r Real) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, r, d) }

func sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	select {
	case <-c.After(sctx, d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled is a clock that runs Speed times faster than the wall clock from
// its creation, plus any offset added by Advance. With Speed 0 it is a
// manual clock: time moves only through Advance (and Set). The zero value is
// not usable; use NewScaled or NewManual.
type Scaled struct {
	mu      sync.Mutex
	speed   float64
	realT0  time.Time // wall time at creation
	clockT0 time.Time // clock time at creation
	offset  time.Duration
	waiters map[*waiter]struct{}
}

type waiter struct {
	deadline time.Time
	ch       chan time.Time
	fired    chan struct{} // closed when the wait ends (fired or cancelled)
	timer    *time.Timer   // nil for manual clocks
}

// NewScaled returns a clock that starts at the current wall time and runs
// speed times faster than it (speed 1 behaves as the wall clock, but can
// still be advanced).
func NewScaled(speed float64) *Scaled {
	now := time.Now()
	return &Scaled{speed: speed, realT0: now, clockT0: now, waiters: map[*waiter]struct{}{}}
}

// NewManual returns a clock stopped at start that moves only by Advance.
func NewManual(start time.Time) *Scaled {
	return &Scaled{speed: 0, realT0: time.Now(), clockT0: start, waiters: map[*waiter]struct{}{}}
}

// Speed returns the clock's rate relative to wall time (0: manual).
func (c *Scaled) Speed() float64 { return c.speed }

// Now returns the current clock time.
func (c *Scaled) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Scaled) nowLocked() time.Time {
	t := c.clockT0.Add(c.offset)
	if c.speed > 0 {
		t = t.Add(time.Duration(float64(time.Since(c.realT0)) * c.speed))
	}
	return t
}

// Advance moves the clock forward by d (d <= 0 does nothing) and fires every
// wait whose deadline has now passed.
func (c *Scaled) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	now := c.nowLocked()
	for w := range c.waiters {
		c.armLocked(w, now)
	}
}

// Waiters reports how many waits are pending (tests use it to know that a
// goroutine has started waiting before they advance the clock).
func (c *Scaled) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// armLocked fires w if due, or (re)starts its wall timer for the rest.
func (c *Scaled) armLocked(w *waiter, now time.Time) {
	rest := w.deadline.Sub(now)
	if rest <= 0 {
		if w.timer != nil {
			w.timer.Stop()
		}
		delete(c.waiters, w)
		w.ch <- now
		close(w.fired)
		return
	}
	if c.speed <= 0 {
		return
	}
	realRest := time.Duration(float64(rest) / c.speed)
	if w.timer == nil {
		w.timer = time.AfterFunc(realRest, func() { c.fire(w) })
	} else {
		w.timer.Reset(realRest)
	}
}

func (c *Scaled) fire(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.waiters[w]; !ok {
		return
	}
	c.armLocked(w, c.nowLocked())
}

// After returns a channel that receives once d has passed on this clock.
func (c *Scaled) After(ctx context.Context, d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitLocked(ctx, c.nowLocked().Add(d))
}

// Until returns a channel that receives once the clock reaches t.
func (c *Scaled) Until(ctx context.Context, t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitLocked(ctx, t)
}

func (c *Scaled) waitLocked(ctx context.Context, deadline time.Time) <-chan time.Time {
	now := c.nowLocked()
	w := &waiter{deadline: deadline, ch: make(chan time.Time, 1), fired: make(chan struct{})}
	c.waiters[w] = struct{}{}
	c.armLocked(w, now)
	if _, pending := c.waiters[w]; pending && ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				c.mu.Lock()
				if _, ok := c.waiters[w]; ok {
					if w.timer != nil {
						w.timer.Stop()
					}
					delete(c.waiters, w)
					close(w.fired)
				}
				c.mu.Unlock()
			case <-w.fired:
			}
		}()
	}
	return w.ch
}

// Sleep waits d on this clock or until ctx ends.
func (c *Scaled) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, c, d) }
