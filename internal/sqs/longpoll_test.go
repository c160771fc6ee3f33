package sqs

import (
	"sync"
	"testing"
	"time"
)

// fakeNotify is a broadcast notifier like the storage back ends': each
// channel handed out is closed by the next fire.
type fakeNotify struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func (f *fakeNotify) wait(q string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = map[string]chan struct{}{}
	}
	c, ok := f.ch[q]
	if !ok {
		c = make(chan struct{})
		f.ch[q] = c
	}
	return c
}

func (f *fakeNotify) fire(q string) {
	f.mu.Lock()
	c, ok := f.ch[q]
	delete(f.ch, q)
	f.mu.Unlock()
	if ok {
		close(c)
	}
}

// woken reports which waiters hold a wake, waiting briefly for the watch
// goroutine to deliver want of them.
func woken(t *testing.T, ws []*pollWaiter, want int) []bool {
	t.Helper()
	got := make([]bool, len(ws))
	n := 0
	for deadline := time.Now().Add(2 * time.Second); n < want && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for i, w := range ws {
			if got[i] {
				continue
			}
			select {
			case <-w.wake:
				got[i] = true
				n++
			default:
			}
		}
	}
	time.Sleep(20 * time.Millisecond) // any extra wake would show now
	for i, w := range ws {
		select {
		case <-w.wake:
			if got[i] {
				t.Fatalf("waiter %d woken twice", i)
			}
			got[i] = true
			n++
		default:
		}
	}
	if n != want {
		t.Fatalf("%d waiters woken, want %d (%v)", n, want, got)
	}
	return got
}

func TestPollSetWakesOnePerNotification(t *testing.T) {
	tests := []struct {
		name    string
		waiters int
		fires   int
		want    int
	}{
		{"one waiter one send", 1, 1, 1},
		{"many waiters one send", 5, 1, 1},
		{"many waiters three sends", 5, 3, 3},
		{"more sends than waiters", 2, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeNotify
			p := newPollSet(f.wait)
			ws := make([]*pollWaiter, tt.waiters)
			for i := range ws {
				ws[i] = p.join("q")
			}
			other := p.join("other")
			for range tt.fires {
				f.fire("q")
				// Each notification is relayed once the watch goroutine
				// subscribed again.
				for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
					f.mu.Lock()
					_, subscribed := f.ch["q"]
					f.mu.Unlock()
					if subscribed || time.Now().After(deadline) {
						break
					}
				}
			}
			woken(t, ws, tt.want)
			woken(t, []*pollWaiter{other}, 0)
			for _, w := range append(ws, other) {
				w.leave(false)
			}
			if n := registered(p); n != 0 {
				t.Fatalf("%d queues left registered", n)
			}
		})
	}
}

func TestPollSetLeavePassesWakeOn(t *testing.T) {
	tests := []struct {
		name     string
		consume  bool // the first waiter used its wake (received nothing)
		received bool // the first waiter got messages
		want     int  // wakes among the others
	}{
		{"unused wake goes to the next", false, false, 1},
		{"received: next waiter checks for more", true, true, 1},
		{"used wake, nothing received: chain ends", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeNotify
			p := newPollSet(f.wait)
			first := p.join("q")
			rest := []*pollWaiter{p.join("q"), p.join("q")}
			f.fire("q")
			woken(t, []*pollWaiter{first}, 1)
			if !tt.consume {
				first.wake <- struct{}{} // handed back: still pending
			}
			first.leave(tt.received)
			woken(t, rest, tt.want)
			for _, w := range rest {
				w.leave(false)
			}
			if n := registered(p); n != 0 {
				t.Fatalf("%d queues left registered", n)
			}
		})
	}
}

func TestPollSetRejoinAfterIdle(t *testing.T) {
	var f fakeNotify
	p := newPollSet(f.wait)
	p.join("q").leave(false)
	w := p.join("q")
	defer w.leave(false)
	f.fire("q")
	woken(t, []*pollWaiter{w}, 1)
}

func registered(p *pollSet) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queues)
}
