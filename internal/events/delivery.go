package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// Delivery tuning.
const (
	// visibility is how long a received task stays hidden while it is
	// delivered; a task whose worker died (SIGKILL) is redelivered after it.
	visibility = 5 * time.Minute
	// pollInterval bounds how long a shard waits before looking for tasks
	// that became visible by time (retry back-off) rather than by a send.
	pollInterval = time.Second
	// backoffBase and backoffCap shape the exponential back-off between
	// retries; with equal jitter 185 retries take about 11 hours.
	backoffBase = time.Second
	backoffCap  = 5 * time.Minute
	sendChunk   = 256
	// receiveBatch is the most tasks a shard receives at once; the SQS
	// deliveries among them are sent with one write per queue.
	receiveBatch = 64
	// maxHeld is the most received tasks a shard holds (two batches, so
	// that one is received while the other is delivered). How many target
	// calls run at once is Deps.ShardConcurrency.
	maxHeld = 2 * receiveBatch
	// ackBatch is the most finished tasks one DeleteBatch removes.
	ackBatch = 128
)

// inEvent is an event entering a bus.
type inEvent struct {
	raw      []byte
	id       string
	ingested time.Time
	// readOnly marks a read-only CloudTrail management event: only rules in
	// state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS see it.
	readOnly bool
	// hops counts the account boundaries the event has crossed.
	hops int
	// replay limits a replayed event to some rules; nil: a live event.
	replay *replayScope
}

// replayScope is the rule filter of a replay.
type replayScope struct {
	name  string
	rules map[string]bool // rule ARNs; empty: every rule of the bus
}

// task is one pending delivery of an event to one rule target (or to an
// archive), stored as a shard-queue message: the event, as is, in the
// message's Attributes and the rest as JSON in its Body (so that neither
// storing nor reading a task parses the event). Tasks stored with the
// event inside the JSON ("e") are read too. Retries replace the message
// with a delayed copy carrying the attempt count and last error.
type task struct {
	Account  string          `json:"a"`
	Region   string          `json:"r"`
	Bus      string          `json:"b"`
	Rule     string          `json:"n"`
	RuleARN  string          `json:"ra"`
	Target   *Target         `json:"t,omitempty"`
	Archive  string          `json:"ar,omitempty"`
	Event    json.RawMessage `json:"e,omitempty"`
	EventID  string          `json:"id"`
	Ingested time.Time       `json:"in"`
	Hops     int             `json:"h,omitempty"`
	Attempt  int             `json:"at,omitempty"`
	LastCode string          `json:"lc,omitempty"`
	LastMsg  string          `json:"lm,omitempty"`
}

// ingest matches events against a bus's rules and durably enqueues one task
// per matched target. It returns once the tasks are stored.
func (s *Service) ingest(ctx context.Context, ref busRef, evs []inEvent) error {
	if storage.FairnessKey(ctx) == "" {
		// Trail, schedules, replays: the bus owner's writes.
		ctx = storage.WithFairnessKey(ctx, ref.Account)
	}
	c, err := s.cache(ctx, ref.Account, ref.Region, ref.Name)
	if err != nil {
		return err
	}
	busArn := busARN(ref.Account, ref.Region, ref.Name)
	var tasks []task
	var names []string
	for _, ev := range evs {
		// Every event reaching a bus is an envelope Fogbank built around
		// validated JSON (PutEvents checks detail, the trail and Lambda
		// build theirs), so the matcher may skip what no rule reads.
		names = c.matcher.MatchValidInto(names[:0], ev.raw)
		matched := false
		for _, r := range c.get(names) {
			if !r.enabled() || (ev.readOnly && r.State != stateEnabledAll) {
				continue
			}
			if ev.replay != nil && (r.Archive != "" || (len(ev.replay.rules) > 0 && !ev.replay.rules[r.ARN()])) {
				continue
			}
			matched = true
			ruleArn := r.ARN()
			s.m.triggeredRules.WithLabelValues(ruleArn).Inc()
			base := task{Account: r.Account, Region: r.Region, Bus: r.Bus, Rule: r.Name, RuleARN: ruleArn, Event: ev.raw, EventID: ev.id, Ingested: ev.ingested, Hops: ev.hops}
			if r.Archive != "" {
				base.Archive = r.Archive
				tasks = append(tasks, base)
				continue
			}
			for i := range r.Targets {
				t := base
				tgt := r.Targets[i]
				t.Target = &tgt
				tasks = append(tasks, t)
			}
		}
		if matched {
			s.m.matchedEvents.WithLabelValues(busArn).Inc()
		}
	}
	return s.enqueue(ctx, ref.Account, tasks)
}

// enqueue stores tasks on the account's least-loaded shard.
func (s *Service) enqueue(ctx context.Context, account string, tasks []task) error {
	if len(tasks) == 0 {
		return nil
	}
	sh := s.shardFor(account)
	return sh.submit(ctx, tasks)
}

// shardFor picks between the account's two shards (shuffle sharding) the
// one with the shorter backlog, so that a flood in one account occupies at
// most two shards and other accounts find a lightly loaded one.
func (s *Service) shardFor(account string) *shard {
	n := len(s.shards)
	if n == 1 {
		return s.shards[0]
	}
	h := fnv.New64a()
	h.Write([]byte(account))
	v := h.Sum64()
	a := int(v % uint64(n))
	b := int((v / uint64(n)) % uint64(n-1))
	if b >= a {
		b++
	}
	sa, sb := s.shards[a], s.shards[b]
	if sb.backlog.Load() < sa.backlog.Load() {
		return sb
	}
	return sa
}

// shard is one durable delivery queue and its workers.
type shard struct {
	s       *Service
	queue   string
	backlog atomic.Int64 // tasks sent and not yet finished (this node)
	// acks carries receipts of finished tasks to the shard's acker, which
	// deletes whatever has gathered with one DeleteBatch: one durable
	// write for many deliveries, and one writer per shard (not every
	// delivery) so that a flooded shard does not crowd the storage other
	// accounts' shards use.
	acks chan string
	// calls holds a token per target call in progress (a batched SQS send
	// is one call): at most Deps.ShardConcurrency.
	calls chan struct{}
	// held holds a token per task the shard holds (received or handed
	// over, not yet settled): at most maxHeld.
	held chan struct{}
	// direct carries tasks stored already received (storage Hold) by
	// submit to the shard's worker, skipping a Receive. Every batch in it
	// holds its tokens, so a send to it never blocks.
	direct chan []storage.Message
}

func newShard(s *Service, i int) *shard {
	return &shard{s: s, queue: fmt.Sprintf("events/shard/%02d", i), acks: make(chan string, 4*ackBatch),
		calls: make(chan struct{}, s.deps.ShardConcurrency), held: make(chan struct{}, maxHeld),
		direct: make(chan []storage.Message, maxHeld)}
}

// release gives back one held-task token.
func (sh *shard) release() { <-sh.held }

// tryHold takes n held-task tokens if all are free at once.
func (sh *shard) tryHold(n int) bool {
	for i := range n {
		select {
		case sh.held <- struct{}{}:
		default:
			for range i {
				sh.release()
			}
			return false
		}
	}
	return true
}

// submit stores new tasks. When the shard has room to deliver them at
// once, they are stored as already received by this node (in flight for
// the visibility timeout, as a Receive would leave them) and handed to the
// shard's worker directly, which saves a durable write and a wake-up per
// batch; if this node dies before finishing them, they become visible
// again when the timeout ends, like any task it had received. Otherwise
// they are queued for the workers to receive.
func (sh *shard) submit(ctx context.Context, tasks []task) error {
	if len(tasks) > receiveBatch || sh.s.ctx.Err() != nil || !sh.tryHold(len(tasks)) {
		return sh.send(ctx, tasks, 0)
	}
	reqs := make([]storage.SendRequest, len(tasks))
	for i := range tasks {
		b, ev, err := encodeTask(&tasks[i])
		if err != nil {
			for range tasks {
				sh.release()
			}
			return err
		}
		reqs[i] = storage.SendRequest{Body: b, Attributes: ev, Hold: visibility}
	}
	res, err := sh.s.deps.Queues.Send(ctx, sh.queue, sh.s.now(), reqs)
	if err != nil {
		for range tasks {
			sh.release()
		}
		return fmt.Errorf("events: enqueue deliveries: %w", err)
	}
	sh.backlog.Add(int64(len(reqs)))
	msgs := make([]storage.Message, len(reqs))
	for i, r := range res {
		msgs[i] = storage.Message{ID: r.ID, Seq: r.Seq, Body: reqs[i].Body, Attributes: reqs[i].Attributes, ReceiveCount: 1, Receipt: r.Receipt}
	}
	sh.direct <- msgs
	return nil
}

// call runs f holding a call token, unless ctx ends first.
func (sh *shard) call(ctx context.Context, f func()) {
	select {
	case sh.calls <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-sh.calls }()
	f()
}

// acker deletes finished tasks, in batches of what has gathered, until ctx
// ends. Receipts still queued at shutdown are lost; their tasks are
// delivered again after a restart (at least once).
func (sh *shard) acker(ctx context.Context) {
	defer sh.s.wg.Done()
	batch := make([]string, 0, ackBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-sh.acks:
			batch = append(batch[:0], r)
		}
	gather:
		for len(batch) < ackBatch {
			select {
			case r := <-sh.acks:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		res, err := sh.s.deps.Queues.DeleteBatch(ctx, sh.queue, batch)
		if err != nil {
			if ctx.Err() == nil {
				sh.s.log.Error("events: delete delivered tasks", "queue", sh.queue, "tasks", len(batch), "err", err)
			}
		} else {
			for _, e := range res {
				if e != nil {
					sh.s.log.Error("events: delete delivered task", "queue", sh.queue, "err", e)
				}
			}
		}
		sh.backlog.Add(-int64(len(batch)))
	}
}

func (sh *shard) send(ctx context.Context, tasks []task, delay time.Duration) error {
	now := sh.s.now()
	for start := 0; start < len(tasks); start += sendChunk {
		end := min(start+sendChunk, len(tasks))
		reqs := make([]storage.SendRequest, 0, end-start)
		for i := start; i < end; i++ {
			b, ev, err := encodeTask(&tasks[i])
			if err != nil {
				return err
			}
			reqs = append(reqs, storage.SendRequest{Body: b, Attributes: ev, Delay: delay})
		}
		if _, err := sh.s.deps.Queues.Send(ctx, sh.queue, now, reqs); err != nil {
			return fmt.Errorf("events: enqueue deliveries: %w", err)
		}
		sh.backlog.Add(int64(len(reqs)))
	}
	return nil
}

// encodeTask returns a task's stored form: the JSON body without the event,
// and the event.
func encodeTask(t *task) (body, event []byte, err error) {
	c := *t
	c.Event = nil
	body, err = json.Marshal(&c)
	if err != nil {
		return nil, nil, fmt.Errorf("events: encode task: %w", err)
	}
	return body, t.Event, nil
}

// decodeTask reads a task stored by encodeTask (or, with the event in the
// JSON, by earlier versions).
func decodeTask(m storage.Message, t *task) error {
	if err := json.Unmarshal(m.Body, t); err != nil {
		return fmt.Errorf("events: decode task: %w", err)
	}
	if len(m.Attributes) > 0 {
		t.Event = m.Attributes
	}
	if len(t.Event) == 0 {
		return errors.New("events: decode task: no event")
	}
	return nil
}

// run receives tasks in batches and delivers them, together with the
// tasks submit hands over, holding at most maxHeld tasks at once, until
// ctx ends.
func (sh *shard) run(ctx context.Context) {
	s := sh.s
	defer s.wg.Done()
	// The shard's own writes (receives, deletes, batched SQS sends of
	// several accounts' tasks) share the embedded store's commits fairly
	// with other shards' and accounts' (see storage.WithFairnessKey).
	ctx = storage.WithFairnessKey(ctx, sh.queue)
	s.wg.Add(1)
	go sh.acker(ctx)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	defer sh.returnDirect()
	deliver := func(msgs []storage.Message) {
		// Deliver every batch handed over meanwhile together.
	more:
		for len(msgs) < receiveBatch {
			select {
			case m := <-sh.direct:
				msgs = append(msgs, m...)
			default:
				break more
			}
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			sh.processBatch(ctx, msgs, sh.release)
		}()
	}
	for ctx.Err() == nil {
		select {
		case msgs := <-sh.direct:
			deliver(msgs)
			continue
		default:
		}
		notify := s.deps.Queues.Notify(sh.queue)
		free := cap(sh.held) - len(sh.held)
		if free == 0 {
			select {
			case sh.held <- struct{}{}:
				sh.release()
			case msgs := <-sh.direct:
				deliver(msgs)
			case <-ctx.Done():
				return
			}
			continue
		}
		msgs, err := s.deps.Queues.Receive(ctx, sh.queue, s.now(), storage.ReceiveOptions{Max: min(free, receiveBatch), Visibility: visibility})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("events: receive deliveries", "queue", sh.queue, "err", err)
				s.deps.Clock.Sleep(ctx, pollInterval)
			}
			continue
		}
		if len(msgs) == 0 {
			select {
			case <-notify:
			case msgs := <-sh.direct:
				deliver(msgs)
			case <-s.deps.Clock.After(ctx, pollInterval):
			case <-ctx.Done():
			}
			continue
		}
		// Take a token per task; submit may have taken some of those
		// counted free, so keep delivering what it hands over meanwhile.
		for taken := 0; taken < len(msgs); {
			select {
			case sh.held <- struct{}{}:
				taken++
			case m := <-sh.direct:
				deliver(m)
			case <-ctx.Done():
				return // the received tasks are delivered after a restart
			}
		}
		deliver(msgs)
	}
}

// returnDirect makes tasks handed over but not started visible again, so
// that a graceful restart delivers them at once rather than after their
// visibility timeout.
func (sh *shard) returnDirect() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		select {
		case msgs := <-sh.direct:
			for _, m := range msgs {
				sh.s.deps.Queues.ChangeVisibility(ctx, sh.queue, m.Receipt, sh.s.now(), 0)
				sh.release()
			}
		default:
			return
		}
	}
}

func (sh *shard) finish(ctx context.Context, m storage.Message) {
	select {
	case sh.acks <- m.Receipt:
	case <-ctx.Done():
	}
}

// process makes one delivery attempt for a task.
func (sh *shard) process(ctx context.Context, m storage.Message, t *task) {
	s := sh.s
	ctx = storage.WithFairnessKey(ctx, t.Account)
	if t.Archive != "" {
		if err := s.archiveEvent(ctx, t); err != nil {
			if ctx.Err() == nil {
				s.log.Error("events: archive event", "archive", t.Archive, "err", err)
				// Leave the task; it becomes visible again and is retried.
				s.deps.Queues.ChangeVisibility(ctx, sh.queue, m.Receipt, s.now(), backoffBase)
			}
			return
		}
		sh.finish(ctx, m)
		return
	}
	attempt := sh.begin(t)
	derr := s.deliver(ctx, t)
	sh.settle(ctx, m, t, attempt, derr)
}

// begin counts the start of a delivery attempt and returns its number.
func (sh *shard) begin(t *task) int {
	s := sh.s
	attempt := t.Attempt + 1
	if attempt == 1 {
		s.m.ingestionLatency.WithLabelValues(busARN(t.Account, t.Region, t.Bus)).Observe(s.now().Sub(t.Ingested).Seconds())
	} else {
		s.m.retryAttempts.WithLabelValues(t.RuleARN).Inc()
	}
	s.m.attempts.WithLabelValues(t.RuleARN).Inc()
	return attempt
}

// settle acts on the outcome of a delivery attempt: success finishes the
// task; a throttled or retryable failure puts a delayed copy back (alone:
// each task retries on its own schedule); a final failure goes to the
// dead-letter queue, if any.
func (sh *shard) settle(ctx context.Context, m storage.Message, t *task, attempt int, derr *deliveryError) {
	s := sh.s
	if ctx.Err() != nil {
		return // shutting down: the task is redelivered after a restart
	}
	if derr == nil {
		s.m.invocations.WithLabelValues(t.RuleARN).Inc()
		s.m.successful.WithLabelValues(t.RuleARN).Inc()
		sh.finish(ctx, m)
		return
	}
	if derr.throttled {
		if err := sh.send(ctx, []task{*t}, derr.retryAfter); err != nil {
			s.log.Error("events: requeue throttled delivery", "rule", t.RuleARN, "err", err)
			return
		}
		sh.finish(ctx, m)
		return
	}
	retries, maxAge := t.Target.RetryPolicy.limits()
	exhausted := ""
	if derr.retryable {
		delay := derr.retryAfter
		if delay <= 0 {
			delay = backoff(attempt)
		}
		switch {
		case attempt-1 >= retries:
			exhausted = "MaximumRetryAttempts"
		case s.now().Add(delay).Sub(t.Ingested) > maxAge:
			exhausted = "MaximumEventAgeInSeconds"
		default:
			next := *t
			next.Attempt = attempt
			next.LastCode, next.LastMsg = derr.code, derr.message
			if err := sh.send(ctx, []task{next}, delay); err != nil {
				s.log.Error("events: schedule retry", "rule", t.RuleARN, "err", err)
				return // the original task is redelivered after its visibility timeout
			}
			sh.finish(ctx, m)
			return
		}
	}
	s.m.invocations.WithLabelValues(t.RuleARN).Inc()
	s.m.failed.WithLabelValues(t.RuleARN).Inc()
	s.log.Debug("events: delivery failed", "rule", t.RuleARN, "target", t.Target.Arn, "code", derr.code, "message", derr.message, "attempts", attempt)
	if t.Target.DeadLetterConfig != nil && t.Target.DeadLetterConfig.Arn != "" {
		if err := s.sendToDLQ(ctx, t, derr, exhausted, attempt-1); err != nil {
			s.m.failedToDLQ.WithLabelValues(t.RuleARN).Inc()
			s.log.Warn("events: dead-letter queue", "rule", t.RuleARN, "dlq", t.Target.DeadLetterConfig.Arn, "err", err)
		} else {
			s.m.sentToDLQ.WithLabelValues(t.RuleARN).Inc()
		}
	}
	sh.finish(ctx, m)
}

// backoff is exponential with equal jitter: half the step fixed, half random.
func backoff(attempt int) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffCap; i++ {
		d *= 2
	}
	d = min(d, backoffCap)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
