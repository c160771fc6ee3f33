package events

import (
	"context"
	"sync"

	"github.com/fogbank/fogbank/internal/storage"
)

// SQSBatchSender is an SQSSender that can also send many messages with one
// durable write per queue. When Deps.SQS implements it, the SQS deliveries
// of a received batch of tasks go out together; otherwise each is sent on
// its own.
type SQSBatchSender interface {
	SQSSender
	// SendEventsMessages sends each message as SendEventsMessage would and
	// returns one error per message (nil: sent). A refused message fails
	// alone.
	SendEventsMessages(ctx context.Context, ms []SQSMessage) []error
}

// sqsDelivery is a task of a batch whose SQS message is being sent.
type sqsDelivery struct {
	m       storage.Message
	t       *task
	attempt int
}

// processBatch makes one delivery attempt for each received task and calls
// release once per task when it is settled. Deliveries to SQS targets are
// sent with one SendEventsMessages call (one write per queue); every other
// task is delivered on its own, concurrently, each call holding one of the
// shard's call tokens. Each task is then settled on its own outcome: a
// failed message of a batch retries (or goes to its dead-letter queue)
// alone, exactly as if it had been sent alone.
func (sh *shard) processBatch(ctx context.Context, msgs []storage.Message, release func()) {
	s := sh.s
	batcher, _ := s.deps.SQS.(SQSBatchSender)
	var (
		batch []sqsDelivery
		out   []SQSMessage
		wg    sync.WaitGroup
	)
	for _, m := range msgs {
		t := new(task)
		if err := decodeTask(m, t); err != nil {
			s.log.Error("events: undecodable task dropped", "queue", sh.queue, "err", err)
			sh.finish(ctx, m)
			release()
			continue
		}
		if batcher != nil && t.Archive == "" {
			if a, ok := parseARN(t.Target.Arn); ok && a.Service == "sqs" {
				attempt := sh.begin(t)
				input, derr := s.renderInput(t)
				if derr != nil {
					sh.settle(ctx, m, t, attempt, derr)
					release()
					continue
				}
				batch = append(batch, sqsDelivery{m: m, t: t, attempt: attempt})
				out = append(out, sqsMessage(t, a, input))
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			sh.call(ctx, func() { sh.process(ctx, m, t) })
		}()
	}
	if len(out) > 0 {
		var errs []error
		sh.call(ctx, func() { errs = batcher.SendEventsMessages(ctx, out) })
		if errs == nil {
			// Shutting down: the tasks are redelivered after a restart.
			for range batch {
				release()
			}
			wg.Wait()
			return
		}
		for i, d := range batch {
			if errs[i] == nil {
				sh.settle(ctx, d.m, d.t, d.attempt, nil)
				release()
				continue
			}
			// A failure writes a retry or a dead letter: settle failures
			// concurrently, as they were delivered one by one before.
			derr := classifyAWSError(errs[i])
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer release()
				sh.call(ctx, func() { sh.settle(ctx, d.m, d.t, d.attempt, derr) })
			}()
		}
	}
	wg.Wait()
}
