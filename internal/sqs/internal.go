package sqs

import (
	"context"
	"fmt"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// The in-process API other services use (EventBridge targets and DLQs,
// Lambda event-source mappings and destinations, SNS subscriptions). It
// applies the same validation as the wire API and returns *protocol.Error
// values with SQS's codes.

// InternalMessage is a message another service sends to a queue.
type InternalMessage struct {
	// QueueARN names the queue (arn:aws:sqs:region:account:name).
	QueueARN string
	Body     string
	// Attributes are user message attributes (may be nil).
	Attributes map[string]MessageAttributeValue
	// GroupID and DedupID are the FIFO MessageGroupId and
	// MessageDeduplicationId (DedupID may be empty with content-based
	// deduplication).
	GroupID, DedupID string
	// SenderID is reported as the SenderId system attribute (for example
	// the ARN or id of the sending service's principal).
	SenderID string
	// From is on whose behalf the message is sent; the queue's Policy is
	// checked against it (AccessDenied when it does not allow a sender
	// from another account). The zero value is not checked.
	From Sender
}

// ReceivedMessage is a message handed to another service.
type ReceivedMessage struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes are all system attributes (SentTimestamp,
	// ApproximateReceiveCount, MessageGroupId, ...).
	Attributes map[string]string
	// MessageAttributes are all user attributes, with their digest.
	MessageAttributes      map[string]MessageAttributeValue
	MD5OfMessageAttributes string
}

// SendInternal sends one message to the queue an ARN names and returns its
// message id.
func (s *Service) SendInternal(ctx context.Context, m InternalMessage) (string, error) {
	q, err := s.loadQueueARN(ctx, m.QueueARN)
	if err != nil {
		return "", err
	}
	if err := s.authorizeSender(q, "SendMessage", m.From); err != nil {
		return "", err
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
		return "", err
	}
	res, err := s.deps.Queues.Send(ctx, q.storageName(), s.now(), []storage.SendRequest{p.req})
	if err != nil {
		return "", fmt.Errorf("sqs: send internal: %w", err)
	}
	s.metrics.sent(q, 1, p.size)
	return res[0].ID, nil
}

// ReceiveInternal receives up to max (1..10) messages without waiting,
// making them invisible for visibility (0: the queue's VisibilityTimeout).
// Redrive to the queue's dead-letter queue applies as for ReceiveMessage.
func (s *Service) ReceiveInternal(ctx context.Context, queueARN string, max int, visibility time.Duration) ([]ReceivedMessage, error) {
	q, err := s.loadQueueARN(ctx, queueARN)
	if err != nil {
		return nil, err
	}
	if max < 1 || max > maxBatchEntries {
		return nil, errInvalidValue(fmt.Sprint(max), "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
	}
	if visibility <= 0 {
		visibility = q.seconds(attrVisibility)
	}
	msgs, err := s.receive(ctx, q, max, visibility, 0)
	if err != nil {
		return nil, err
	}
	out := make([]ReceivedMessage, 0, len(msgs))
	for _, m := range msgs {
		o := s.messageOutput(q, m, s.newReceipt(m, visibility, ""), outputSelection{sys: []string{attrAll}, user: []string{attrAll}})
		out = append(out, ReceivedMessage{MessageID: o.MessageID, ReceiptHandle: o.ReceiptHandle, Body: o.Body,
			MD5OfBody: o.MD5OfBody, Attributes: o.Attributes, MessageAttributes: o.MessageAttributes,
			MD5OfMessageAttributes: o.MD5OfMessageAttributes})
	}
	return out, nil
}

// DeleteInternal deletes a message received through ReceiveInternal (or
// ReceiveMessage).
func (s *Service) DeleteInternal(ctx context.Context, queueARN, receipt string) error {
	q, err := s.loadQueueARN(ctx, queueARN)
	if err != nil {
		return err
	}
	r, err := receiptOf(&receipt)
	if err != nil {
		return err
	}
	return s.deleteReceipt(ctx, q, receipt, r)
}

// ChangeVisibilityInternal changes the visibility timeout of a received
// message (0 makes it visible again now).
func (s *Service) ChangeVisibilityInternal(ctx context.Context, queueARN, receipt string, v time.Duration) error {
	q, err := s.loadQueueARN(ctx, queueARN)
	if err != nil {
		return err
	}
	return s.changeVisibility(ctx, q, &receipt, intParam{Set: true, V: int64(v / time.Second), Raw: fmt.Sprint(int64(v / time.Second))})
}

// QueueAttributesInternal returns all attributes of a queue, as
// GetQueueAttributes with All does.
func (s *Service) QueueAttributesInternal(ctx context.Context, queueARN string) (map[string]string, error) {
	q, err := s.loadQueueARN(ctx, queueARN)
	if err != nil {
		return nil, err
	}
	return s.queueAttributes(ctx, q, nil)
}
