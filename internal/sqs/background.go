package sqs

import (
	"context"
	"time"
)

// Retention: messages older than a queue's MessageRetentionPeriod are
// removed by a sweep over all queues every sweepInterval of clock time,
// and (at most once per expireEvery per queue) just before a receive or a
// count, so that expired messages are never delivered. A long poll woken by
// a send allows the last sweep to be one pollInterval older (see receive).
const (
	sweepInterval = time.Minute
	expireEvery   = time.Second
)

// maybeExpire removes q's expired messages unless that was done less than
// within ago (0: always).
func (s *Service) maybeExpire(ctx context.Context, q *queueRecord, now time.Time, within time.Duration) {
	name := q.storageName()
	s.expireMu.Lock()
	last, ok := s.lastExpire[name]
	s.expireMu.Unlock()
	if ok && now.Sub(last) < within && !now.Before(last) {
		return
	}
	retention := q.seconds(attrRetention)
	if retention <= 0 {
		return
	}
	// Recorded only once done, so that a concurrent receive never skips an
	// expiry still in progress.
	if _, err := s.deps.Queues.Expire(ctx, name, now.Add(-retention)); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sqs: retention sweep", "queue", q.arn(), "err", err)
		}
		return
	}
	s.expireMu.Lock()
	if now.After(s.lastExpire[name]) {
		s.lastExpire[name] = now
	}
	s.expireMu.Unlock()
}

// background runs the retention sweeps, forgets receive request attempts
// whose window has passed and runs the move-task supervisor until ctx
// ends.
func (s *Service) background(ctx context.Context) {
	for {
		s.sweep(ctx)
		if err := s.forgetAttempts(ctx, ""); err != nil && ctx.Err() == nil {
			s.log.Warn("sqs: receive attempt sweep", "err", err)
		}
		s.resumeMoveTasks(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.deps.Clock.After(ctx, sweepInterval):
		}
	}
}

func (s *Service) sweep(ctx context.Context) {
	qs, err := s.allQueues(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sqs: retention sweep", "err", err)
		}
		return
	}
	now := s.now()
	for _, q := range qs {
		if ctx.Err() != nil {
			return
		}
		s.maybeExpire(ctx, q, now, 0)
	}
}
