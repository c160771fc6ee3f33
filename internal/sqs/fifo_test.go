package sqs_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func bodies(ms []types.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, *m.Body)
	}
	return out
}

func TestFIFOOrderingAndGroups(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "order.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})
	var seqs []uint64
	for _, m := range [][2]string{{"g1", "g1-m1"}, {"g2", "g2-m1"}, {"g1", "g1-m2"}, {"g1", "g1-m3"}, {"g3", "g3-m1"}} {
		out, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(m[1]), MessageGroupId: aws.String(m[0])})
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseUint(aws.ToString(out.SequenceNumber), 10, 64)
		if err != nil || len(*out.SequenceNumber) != 20 {
			t.Fatalf("sequence number %q", aws.ToString(out.SequenceNumber))
		}
		seqs = append(seqs, n)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequence numbers not increasing: %v", seqs)
		}
	}
	// A message of group 1 in flight blocks the whole group.
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 1})
	if got := fmt.Sprint(bodies(r.Messages)); got != "[g1-m1]" {
		t.Fatalf("first receive %s", got)
	}
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if got := fmt.Sprint(bodies(r.Messages)); got != "[g2-m1 g3-m1]" {
		t.Fatalf("second receive %s (group 1 must stay blocked)", got)
	}
	// After the timeout, group 1 comes back in order.
	env.Server.Clock().Advance(31 * time.Second)
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	got := bodies(r.Messages)
	if len(got) != 5 || fmt.Sprint(got[:3]) != "[g1-m1 g1-m2 g1-m3]" {
		t.Fatalf("after timeout %v", got)
	}
	a := r.Messages[0].Attributes
	if a["MessageGroupId"] != "g1" || a["SequenceNumber"] == "" || a["MessageDeduplicationId"] == "" || a["ApproximateReceiveCount"] != "2" {
		t.Fatalf("fifo system attributes %v", a)
	}
}

func TestFIFODeduplication(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "dedup.fifo", map[string]string{"FifoQueue": "true"})
	send := func(body, group, dedup string) *sqs.SendMessageOutput {
		t.Helper()
		out, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(body), MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := send("a", "g1", "d1")
	dup := send("b", "g2", "d1") // same id, other group: still a duplicate (queue scope)
	if *dup.MessageId != *first.MessageId {
		t.Fatalf("duplicate got a new message id")
	}
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(r.Messages) != 1 {
		t.Fatalf("%d messages, want 1", len(r.Messages))
	}
	c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle})
	send("a", "g1", "d1") // still inside the 5-minute window after delete
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}); len(r.Messages) != 0 {
		t.Fatal("duplicate delivered after delete")
	}
	env.Server.Clock().Advance(5*time.Minute + time.Second)
	send("a", "g1", "d1")
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}); len(r.Messages) != 1 {
		t.Fatal("message not accepted after the deduplication window")
	}

	// Message-group scope: the same id in two groups is two messages.
	hq := createQueue(t, c, "high.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
	for _, g := range []string{"g1", "g2", "g1"} {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &hq, MessageBody: aws.String("x"), MessageGroupId: aws.String(g), MessageDeduplicationId: aws.String("same")})
	}
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &hq, MaxNumberOfMessages: 10})
	if len(r.Messages) != 2 {
		t.Fatalf("message-group scope: %d messages, want 2", len(r.Messages))
	}

	// Content-based deduplication.
	cq := createQueue(t, c, "content.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for range 2 {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &cq, MessageBody: aws.String(`{"foo": "bar"}`), MessageGroupId: aws.String("g")})
	}
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &cq, MaxNumberOfMessages: 10})
	if len(r.Messages) != 1 {
		t.Fatalf("content dedup: %d messages", len(r.Messages))
	}
}

func TestFIFOValidation(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "val.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "1"})
	_, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantAPIError(t, err, codeInvalidParam, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	_, err = c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	wantAPIError(t, err, codeMissing, "The request must contain the parameter MessageGroupId.")
	_, err = c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d"), DelaySeconds: 2})
	wantAPIError(t, err, codeInvalidParam, "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.")
	_, err = c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("group 123")})
	wantAPIError(t, err, codeInvalidParam, "Value group 123 for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("1")},
		{Id: aws.String("b"), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("2")}}})
	wantAPIError(t, err, codeInvalidParam, "The request must contain the parameter MessageGroupId.")

	// A FIFO receipt handle expires with the visibility timeout.
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("e1")})
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	h := *r.Messages[0].ReceiptHandle
	env.Server.Clock().Advance(2 * time.Second)
	_, err = c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &h})
	wantAPIError(t, err, codeInvalidParam, "Value "+h+" for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.")
	// Unless the timeout was extended in time.
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	h = *r.Messages[0].ReceiptHandle
	c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &h, VisibilityTimeout: 10})
	env.Server.Clock().Advance(2 * time.Second)
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: &h}); err != nil {
		t.Fatalf("delete after extension: %v", err)
	}
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}); len(r.Messages) != 0 {
		t.Fatal("message not deleted")
	}
}

// TestFIFOBatchFillsFromOneGroupFirst: SQS "attempts to return as many
// messages with the same message group ID as possible" and adds other
// groups' messages only when that group has fewer than asked for, each
// group in order (FIFO queue delivery logic, SQS Developer Guide).
func TestFIFOBatchFillsFromOneGroupFirst(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "fill.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendGroups(t, c, url, "g1-m1", "g2-m1", "g1-m2", "g3-m1", "g1-m3", "g2-m2")
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 3})
	if err != nil || fmt.Sprint(bodies(r.Messages)) != "[g1-m1 g1-m2 g1-m3]" {
		t.Fatalf("receive 3: %v %v", bodies(r.Messages), err)
	}
	r, err = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || fmt.Sprint(bodies(r.Messages)) != "[g2-m1 g2-m2 g3-m1]" {
		t.Fatalf("receive 10: %v %v", bodies(r.Messages), err)
	}
}
