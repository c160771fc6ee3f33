package sqlstore

import "sync"

// notifier hands out per-queue channels that are closed on the next event
// for the queue (in-process wakeups for long polls).
type notifier struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: map[string]chan struct{}{}} }

// wait returns the channel closed by the next fire(queue).
func (n *notifier) wait(queue string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.ch[queue]
	if !ok {
		c = make(chan struct{})
		n.ch[queue] = c
	}
	return c
}

// fire wakes every waiter of queue.
func (n *notifier) fire(queue string) {
	n.mu.Lock()
	c, ok := n.ch[queue]
	delete(n.ch, queue)
	n.mu.Unlock()
	if ok {
		close(c)
	}
}

// closeAll wakes every waiter of every queue (after a missed-notification
// window, or on close).
func (n *notifier) closeAll() {
	n.mu.Lock()
	old := n.ch
	n.ch = map[string]chan struct{}{}
	n.mu.Unlock()
	for _, c := range old {
		close(c)
	}
}
