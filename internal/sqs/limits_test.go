package sqs_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// A message can be kept invisible at most 12 hours after it was received,
// however often its visibility timeout is extended.
func TestVisibilityTotalLimit(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "twelve-hours", nil)
	if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 43200})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive: %v %v", r, err)
	}
	h := r.Messages[0].ReceiptHandle
	env.Server.Clock().Advance(time.Hour)
	if _, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h, VisibilityTimeout: 39590}); err != nil {
		t.Fatalf("extend to just under 12 hours: %v", err)
	}
	_, err = c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h, VisibilityTimeout: 39601})
	wantAPIError(t, err, codeInvalidParam, "Value 39601 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
	b, err := c.ChangeMessageVisibilityBatch(bg, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: h, VisibilityTimeout: 60},
		{Id: aws.String("long"), ReceiptHandle: h, VisibilityTimeout: 43200},
	}})
	if err != nil || len(b.Successful) != 1 || len(b.Failed) != 1 || aws.ToString(b.Failed[0].Id) != "long" {
		t.Fatalf("batch: %+v %v", b, err)
	}
	if got := aws.ToString(b.Failed[0].Code); got != "InvalidParameterValue" {
		t.Errorf("batch failure code %q (%s)", got, aws.ToString(b.Failed[0].Message))
	}
	// A new receive starts a new 12 hours.
	env.Server.Clock().Advance(2 * time.Minute)
	r, err = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive again: %v %v", r, err)
	}
	if _, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle, VisibilityTimeout: 43000}); err != nil {
		t.Fatalf("extend after a new receive: %v", err)
	}
}
