package server

import (
	"context"

	"github.com/fogbank/fogbank/internal/events"
	"github.com/fogbank/fogbank/internal/sqs"
)

// eventsSQS lets EventBridge deliver to SQS queues (targets and dead-letter
// queues) through the SQS service's in-process API.
type eventsSQS struct{ svc *sqs.Service }

// SendEventsMessage implements events.SQSSender. EventBridge's message
// attributes (RULE_ARN, ERROR_CODE, ...) are all of type String.
func (a eventsSQS) SendEventsMessage(ctx context.Context, m events.SQSMessage) (string, error) {
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
	return a.svc.SendInternal(ctx, sqs.InternalMessage{
		QueueARN: m.QueueARN, Body: m.Body, Attributes: attrs,
		GroupID: m.GroupID, DedupID: m.DedupID, SenderID: m.SenderID,
	})
}
