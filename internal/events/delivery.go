package events

import (
	"context"
	"encoding/json"
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
// archive), stored as the body of a shard-queue message. Retries replace
// the message with a delayed copy carrying the attempt count and last error.
type task struct {
	Account  string          `json:"a"`
	Region   string          `json:"r"`
	Bus      string          `json:"b"`
	Rule     string          `json:"n"`
	RuleARN  string          `json:"ra"`
	Target   *Target         `json:"t,omitempty"`
	Archive  string          `json:"ar,omitempty"`
	Event    json.RawMessage `json:"e"`
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
	c, err := s.cache(ctx, ref.Account, ref.Region, ref.Name)
	if err != nil {
		return err
	}
	busArn := busARN(ref.Account, ref.Region, ref.Name)
	var tasks []task
	var names []string
	for _, ev := range evs {
		names, err = c.matcher.MatchInto(names[:0], ev.raw)
		if err != nil {
			s.log.Warn("events: unmatchable event", "bus", busArn, "err", err)
			continue
		}
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
	return sh.send(ctx, tasks, 0)
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
	// acks carries receipts of finished tasks to the shard's acker, so
	// that one goroutine per shard (not every delivery) writes the
	// deletions: fewer concurrent writers keep a flooded shard from
	// crowding the storage other accounts' shards use.
	acks chan string
}

func newShard(s *Service, i int) *shard {
	return &shard{s: s, queue: fmt.Sprintf("events/shard/%02d", i), acks: make(chan string, 1024)}
}

// acker deletes finished tasks until ctx ends. Receipts still queued at
// shutdown are lost; their tasks are delivered again after a restart
// (at least once).
func (sh *shard) acker(ctx context.Context) {
	defer sh.s.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-sh.acks:
			if err := sh.s.deps.Queues.Delete(ctx, sh.queue, r); err != nil && ctx.Err() == nil {
				sh.s.log.Error("events: delete delivered task", "queue", sh.queue, "err", err)
			}
			sh.backlog.Add(-1)
		}
	}
}

func (sh *shard) send(ctx context.Context, tasks []task, delay time.Duration) error {
	now := sh.s.now()
	for start := 0; start < len(tasks); start += sendChunk {
		end := min(start+sendChunk, len(tasks))
		reqs := make([]storage.SendRequest, 0, end-start)
		for i := start; i < end; i++ {
			b, err := json.Marshal(&tasks[i])
			if err != nil {
				return fmt.Errorf("events: encode task: %w", err)
			}
			reqs = append(reqs, storage.SendRequest{Body: b, Delay: delay})
		}
		if _, err := sh.s.deps.Queues.Send(ctx, sh.queue, now, reqs); err != nil {
			return fmt.Errorf("events: enqueue deliveries: %w", err)
		}
		sh.backlog.Add(int64(len(reqs)))
	}
	return nil
}

// run receives tasks and delivers them, at most ShardConcurrency at once,
// until ctx ends.
func (sh *shard) run(ctx context.Context) {
	s := sh.s
	defer s.wg.Done()
	s.wg.Add(1)
	go sh.acker(ctx)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	sem := make(chan struct{}, s.deps.ShardConcurrency)
	for ctx.Err() == nil {
		notify := s.deps.Queues.Notify(sh.queue)
		free := cap(sem) - len(sem)
		if free == 0 {
			select {
			case sem <- struct{}{}:
				<-sem
			case <-ctx.Done():
				return
			}
			continue
		}
		msgs, err := s.deps.Queues.Receive(ctx, sh.queue, s.now(), storage.ReceiveOptions{Max: min(free, 10), Visibility: visibility})
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
			case <-s.deps.Clock.After(ctx, pollInterval):
			case <-ctx.Done():
			}
			continue
		}
		for _, m := range msgs {
			sem <- struct{}{}
			inflight.Add(1)
			go func(m storage.Message) {
				defer func() { <-sem; inflight.Done() }()
				sh.process(ctx, m)
			}(m)
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
func (sh *shard) process(ctx context.Context, m storage.Message) {
	s := sh.s
	var t task
	if err := json.Unmarshal(m.Body, &t); err != nil {
		s.log.Error("events: undecodable task dropped", "queue", sh.queue, "err", err)
		sh.finish(ctx, m)
		return
	}
	if t.Archive != "" {
		if err := s.archiveEvent(ctx, &t); err != nil {
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
	attempt := t.Attempt + 1
	start := s.now()
	if attempt == 1 {
		s.m.ingestionLatency.WithLabelValues(busARN(t.Account, t.Region, t.Bus)).Observe(start.Sub(t.Ingested).Seconds())
	} else {
		s.m.retryAttempts.WithLabelValues(t.RuleARN).Inc()
	}
	s.m.attempts.WithLabelValues(t.RuleARN).Inc()
	derr := s.deliver(ctx, &t)
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
		if err := sh.send(ctx, []task{t}, derr.retryAfter); err != nil {
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
			next := t
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
		if err := s.sendToDLQ(ctx, &t, derr, exhausted, attempt-1); err != nil {
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
