package server

import (
	"context"
	"strings"

	"github.com/fogbank/fogbank/internal/events"
	"github.com/fogbank/fogbank/internal/sqs"
)

// eventsSQS lets EventBridge deliver to SQS queues (targets and dead-letter
// queues) through the SQS service's in-process API.
type eventsSQS struct{ svc *sqs.Service }

// SendEventsMessage implements events.SQSSender.
func (a eventsSQS) SendEventsMessage(ctx context.Context, m events.SQSMessage) (string, error) {
	return a.svc.SendInternal(ctx, internalMessage(m))
}

// SendEventsMessages implements events.SQSBatchSender: each message is
// sent as SendEventsMessage would send it, with one storage write per
// queue.
func (a eventsSQS) SendEventsMessages(ctx context.Context, ms []events.SQSMessage) []error {
	in := make([]sqs.InternalMessage, len(ms))
	for i := range ms {
		in[i] = internalMessage(ms[i])
	}
	_, errs := a.svc.SendInternalBatch(ctx, in)
	return errs
}

// internalMessage converts an EventBridge message for the SQS service.
// EventBridge's message attributes (RULE_ARN, ERROR_CODE, ...) are all of
// type String.
func internalMessage(m events.SQSMessage) sqs.InternalMessage {
	var attrs map[string]sqs.MessageAttributeValue
	if len(m.Attributes) > 0 {
		attrs = make(map[string]sqs.MessageAttributeValue, len(m.Attributes))
		for k, v := range m.Attributes {
			if v == "" {
				continue // SQS refuses empty String values
			}
			attrs[k] = sqs.MessageAttributeValue{DataType: "String", StringValue: v}
		}
	}
	return sqs.InternalMessage{
		QueueARN: m.QueueARN, Body: m.Body, Attributes: attrs,
		GroupID: m.GroupID, DedupID: m.DedupID, SenderID: m.SenderID,
		From: eventsSender(m),
	}
}

// eventsSender says on whose behalf EventBridge sends m, so that the queue
// policy decides as on AWS: the events.amazonaws.com service principal
// with the rule as aws:SourceArn and its account as aws:SourceAccount.
// A message that names no rule is sent as a trusted in-process caller
// (the zero Sender).
func eventsSender(m events.SQSMessage) sqs.Sender {
	rule := m.RuleARN
	if rule == "" {
		rule = m.Attributes["RULE_ARN"]
	}
	if rule == "" {
		return sqs.Sender{}
	}
	parts := strings.SplitN(rule, ":", 6)
	if len(parts) != 6 || parts[4] == "" {
		return sqs.Sender{}
	}
	return sqs.Sender{Account: parts[4], ServicePrincipal: "events.amazonaws.com", SourceARN: rule}
}
