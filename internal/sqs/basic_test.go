package sqs_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestBasicLifecycle(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "basic", nil)
	s, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || *r.Messages[0].MessageId != *s.MessageId || *r.Messages[0].Body != "hello" {
		t.Fatalf("received %+v", r.Messages)
	}
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: r.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
}
