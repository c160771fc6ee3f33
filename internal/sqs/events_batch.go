package sqs

import (
	"context"
	"fmt"
	"sync"

	"github.com/fogbank/fogbank/internal/storage"
)

// SendInternalBatch sends many messages, each validated and authorized
// exactly as SendInternal does it, with one storage write per queue named
// (queues are written concurrently). It returns one result per message:
// the message id, or the error SendInternal would have returned for that
// message alone. A refusal (invalid message, policy denial) fails only its
// own message; a missing queue or a storage failure fails every message
// of that queue.
func (s *Service) SendInternalBatch(ctx context.Context, msgs []InternalMessage) ([]string, []error) {
	ids := make([]string, len(msgs))
	errs := make([]error, len(msgs))
	var order []string
	byQueue := map[string][]int{}
	for i := range msgs {
		a := msgs[i].QueueARN
		if _, ok := byQueue[a]; !ok {
			order = append(order, a)
		}
		byQueue[a] = append(byQueue[a], i)
	}
	if len(order) == 1 {
		s.sendInternalGroup(ctx, msgs, byQueue[order[0]], ids, errs)
		return ids, errs
	}
	var wg sync.WaitGroup
	for _, a := range order {
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			s.sendInternalGroup(ctx, msgs, idx, ids, errs)
		}(byQueue[a])
	}
	wg.Wait()
	return ids, errs
}

// sendInternalGroup sends msgs[i] for every i in idx, all to one queue,
// leaving results in ids[i] and errs[i].
func (s *Service) sendInternalGroup(ctx context.Context, msgs []InternalMessage, idx []int, ids []string, errs []error) {
	failAll := func(err error) {
		for _, i := range idx {
			errs[i] = err
		}
	}
	q, err := s.loadQueueARN(ctx, msgs[idx[0]].QueueARN)
	if err != nil {
		failAll(err)
		return
	}
	allowed := map[Sender]error{}
	reqs := make([]storage.SendRequest, 0, len(idx))
	sent := make([]int, 0, len(idx))
	size := 0
	for _, i := range idx {
		m := &msgs[i]
		aerr, ok := allowed[m.From]
		if !ok {
			aerr = s.authorizeSender(q, "SendMessage", m.From)
			allowed[m.From] = aerr
		}
		if aerr != nil {
			errs[i] = aerr
			continue
		}
		body := m.Body
		e := sendEntry{MessageBody: &body, MessageAttributes: m.Attributes}
		if m.GroupID != "" {
			e.MessageGroupId = &m.GroupID
		}
		if m.DedupID != "" {
			e.MessageDeduplicationId = &m.DedupID
		}
		p, _, err := s.prepare(m.SenderID, q, &e, false)
		if err != nil {
			errs[i] = err
			continue
		}
		reqs = append(reqs, p.req)
		sent = append(sent, i)
		size += p.size
	}
	if len(reqs) == 0 {
		return
	}
	res, err := s.deps.Queues.Send(ctx, q.storageName(), s.now(), reqs)
	if err != nil {
		err = fmt.Errorf("sqs: send internal: %w", err)
		for _, i := range sent {
			errs[i] = err
		}
		return
	}
	s.metrics.sent(q, len(reqs), size)
	for k, i := range sent {
		ids[i] = res[k].ID
	}
}
