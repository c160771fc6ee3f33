// Package sqsbridge adapts the SQS service's in-process API to
// lambda.SQSClient, so the lambda package does not depend on SQS's types.
package sqsbridge

import (
	"context"
	"time"

	"github.com/fogbank/fogbank/internal/lambda"
	"github.com/fogbank/fogbank/internal/sqs"
)

// Bridge implements lambda.SQSClient over *sqs.Service.
type Bridge struct{ svc *sqs.Service }

// New returns a Bridge; a nil svc yields a nil client (no SQS).
func New(svc *sqs.Service) lambda.SQSClient {
	if svc == nil {
		return nil
	}
	return Bridge{svc: svc}
}

// ReceiveInternal implements lambda.SQSClient.
func (b Bridge) ReceiveInternal(ctx context.Context, queueARN string, max int, visibility time.Duration) ([]lambda.SQSMessage, error) {
	msgs, err := b.svc.ReceiveInternal(ctx, queueARN, max, visibility)
	if err != nil {
		return nil, err
	}
	out := make([]lambda.SQSMessage, len(msgs))
	for i, m := range msgs {
		attrs := make(map[string]lambda.SQSAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			attrs[k] = lambda.SQSAttribute{DataType: v.DataType, StringValue: v.StringValue}
		}
		out[i] = lambda.SQSMessage{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, Body: m.Body,
			MD5OfBody: m.MD5OfBody, Attributes: m.Attributes, MessageAttributes: attrs,
			MD5OfMessageAttributes: m.MD5OfMessageAttributes}
	}
	return out, nil
}

// DeleteInternal implements lambda.SQSClient.
func (b Bridge) DeleteInternal(ctx context.Context, queueARN, receipt string) error {
	return b.svc.DeleteInternal(ctx, queueARN, receipt)
}

// ChangeVisibilityInternal implements lambda.SQSClient.
func (b Bridge) ChangeVisibilityInternal(ctx context.Context, queueARN, receipt string, v time.Duration) error {
	return b.svc.ChangeVisibilityInternal(ctx, queueARN, receipt, v)
}

// QueueAttributesInternal implements lambda.SQSClient.
func (b Bridge) QueueAttributesInternal(ctx context.Context, queueARN string) (map[string]string, error) {
	return b.svc.QueueAttributesInternal(ctx, queueARN)
}

// SendInternal implements lambda.SQSClient; messages appear to come from
// the Lambda service principal.
func (b Bridge) SendInternal(ctx context.Context, queueARN, body string, attrs map[string]lambda.SQSAttribute) (string, error) {
	var ma map[string]sqs.MessageAttributeValue
	if len(attrs) > 0 {
		ma = make(map[string]sqs.MessageAttributeValue, len(attrs))
		for k, v := range attrs {
			ma[k] = sqs.MessageAttributeValue{DataType: v.DataType, StringValue: v.StringValue}
		}
	}
	return b.svc.SendInternal(ctx, sqs.InternalMessage{QueueARN: queueARN, Body: body, Attributes: ma, SenderID: "AROAFOGBANKLAMBDA:awslambda"})
}
