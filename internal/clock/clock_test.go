package clock

import (
	"context"
	"testing"
	"time"
)

func TestManualClockAdvanceFiresDueWaits(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewManual(start)
	ctx := context.Background()
	short := c.After(ctx, time.Minute)
	long := c.After(ctx, time.Hour)
	if got := c.Waiters(); got != 2 {
		t.Fatalf("waiters = %d, want 2", got)
	}
	c.Advance(30 * time.Second)
	select {
	case <-short:
		t.Fatal("fired before its deadline")
	default:
	}
	c.Advance(30 * time.Second)
	select {
	case at := <-short:
		if !at.Equal(start.Add(time.Minute)) {
			t.Errorf("fired at %v", at)
		}
	default:
		t.Fatal("did not fire at its deadline")
	}
	select {
	case <-long:
		t.Fatal("long wait fired early")
	default:
	}
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("Now = %v", got)
	}
}

func TestAfterZeroFiresAtOnce(t *testing.T) {
	c := NewManual(time.Unix(0, 0))
	select {
	case <-c.After(context.Background(), 0):
	default:
		t.Fatal("After(0) must fire immediately")
	}
}

func TestCancelledWaitIsReleased(t *testing.T) {
	c := NewManual(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	c.After(ctx, time.Hour)
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for c.Waiters() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("cancelled wait still registered")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	c := NewManual(time.Unix(0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("Sleep returned nil although the context ended first")
	}
}

func TestScaledClockRunsFaster(t *testing.T) {
	c := NewScaled(1000)
	t0 := c.Now()
	start := time.Now()
	<-c.After(context.Background(), 10*time.Second) // 10 ms of wall time
	if wall := time.Since(start); wall > 2*time.Second {
		t.Errorf("10 s at speed 1000 took %v of wall time", wall)
	}
	if d := c.Now().Sub(t0); d < 10*time.Second {
		t.Errorf("clock moved %v, want >= 10s", d)
	}
}

func TestAdvanceWakesScaledTimer(t *testing.T) {
	c := NewScaled(1)
	ch := c.After(context.Background(), time.Hour)
	c.Advance(time.Hour)
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("Advance did not wake a real-speed timer")
	}
}

func TestUntilFiresAtAbsoluteTime(t *testing.T) {
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c := NewManual(start)
	ch := c.Until(context.Background(), start.Add(time.Minute))
	// The clock moving before anyone looks does not push the deadline out.
	c.Advance(59 * time.Second)
	select {
	case <-ch:
		t.Fatal("fired before its time")
	default:
	}
	c.Advance(time.Second)
	select {
	case got := <-ch:
		if !got.Equal(start.Add(time.Minute)) {
			t.Fatalf("fired at %v", got)
		}
	default:
		t.Fatal("did not fire at its time")
	}
	// A time already passed fires at once.
	select {
	case <-c.Until(context.Background(), start):
	default:
		t.Fatal("a past deadline did not fire at once")
	}
}
