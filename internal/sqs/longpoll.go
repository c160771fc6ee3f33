package sqs

import "sync"

// pollSet hands the storage layer's per-queue send notifications
// (Queues.Notify, a broadcast) to the long polls waiting on this node one
// at a time: a send wakes one waiting poll rather than all of them, so that
// N polls on one queue do not each run a receive transaction per message
// (the woken one would otherwise queue behind N-1 empty receives). A woken
// poll that receives messages passes the wake on to the next waiter, so a
// send of several messages still reaches as many polls as it needs.
type pollSet struct {
	notify func(queue string) <-chan struct{}

	mu     sync.Mutex
	queues map[string]*queuePolls
}

// queuePolls is the waiters of one queue and the watch goroutine that
// relays its notifications while there are any.
type queuePolls struct {
	waiters []*pollWaiter // in arrival order
	idle    chan struct{} // closed when the last waiter leaves
}

// pollWaiter is one waiting long poll. wake holds at most one pending wake.
type pollWaiter struct {
	set   *pollSet
	queue string
	wake  chan struct{}
}

func newPollSet(notify func(string) <-chan struct{}) *pollSet {
	return &pollSet{notify: notify, queues: map[string]*queuePolls{}}
}

// join registers a long poll on queue. Any send committed after join
// returns wakes one registered waiter, so a poll must join before its first
// receive and leave once it is done.
func (p *pollSet) join(queue string) *pollWaiter {
	w := &pollWaiter{set: p, queue: queue, wake: make(chan struct{}, 1)}
	p.mu.Lock()
	defer p.mu.Unlock()
	qp, ok := p.queues[queue]
	if !ok {
		qp = &queuePolls{idle: make(chan struct{})}
		p.queues[queue] = qp
		go p.watch(queue, qp, p.notify(queue)) // subscribed before join returns
	}
	qp.waiters = append(qp.waiters, w)
	return w
}

// watch relays queue's notifications to its waiters, one wake per
// notification, until the last waiter leaves.
func (p *pollSet) watch(queue string, qp *queuePolls, sub <-chan struct{}) {
	for {
		select {
		case <-sub:
		case <-qp.idle:
			return
		}
		p.mu.Lock()
		if p.queues[queue] != qp {
			p.mu.Unlock()
			return
		}
		// Subscribe again before waking, so that a send committed after
		// the woken poll's receive started is never missed.
		sub = p.notify(queue)
		qp.wakeOne()
		p.mu.Unlock()
	}
}

// wakeOne wakes the first waiter without a pending wake (p.mu held).
func (qp *queuePolls) wakeOne() {
	for _, w := range qp.waiters {
		select {
		case w.wake <- struct{}{}:
			return
		default:
		}
	}
}

// leave unregisters w. With received set (w's poll got messages, so more
// may be waiting), and for a wake w was handed but did not use, the next
// waiter is woken, so that no send is left unnoticed.
func (w *pollWaiter) leave(received bool) {
	p := w.set
	p.mu.Lock()
	defer p.mu.Unlock()
	qp, ok := p.queues[w.queue]
	if !ok {
		return
	}
	for i, o := range qp.waiters {
		if o == w {
			qp.waiters = append(qp.waiters[:i], qp.waiters[i+1:]...)
			break
		}
	}
	if len(qp.waiters) == 0 {
		delete(p.queues, w.queue)
		close(qp.idle)
		return
	}
	select {
	case <-w.wake:
		received = true
	default:
	}
	if received {
		qp.wakeOne()
	}
}
