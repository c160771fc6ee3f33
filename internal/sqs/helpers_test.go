package sqs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/testenv"
)

func newClient(t testing.TB, env *testenv.Env) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(env.Config)
}

func start(t testing.TB, opts ...testenv.Option) (*testenv.Env, *sqs.Client) {
	t.Helper()
	env := testenv.Start(t, opts...)
	return env, newClient(t, env)
}

var bg = context.Background()

func createQueue(t testing.TB, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func queueArn(t testing.TB, c *sqs.Client, url string) string {
	t.Helper()
	out, err := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("get queue arn: %v", err)
	}
	return out.Attributes["QueueArn"]
}

// wantAPIError checks err is an API error with the given code (as the SDK
// reports it, i.e. the awsQuery code when the service sent one) and message.
func wantAPIError(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code = %q, want %q (message %q)", ae.ErrorCode(), code, ae.ErrorMessage())
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("error message = %q, want %q", ae.ErrorMessage(), msg)
	}
}

func wantProtoError(t testing.TB, err error, code string) {
	t.Helper()
	pe, ok := errors.AsType[*protocol.Error](err)
	if !ok || pe.Code != code {
		t.Fatalf("want *protocol.Error %s, got %v", code, err)
	}
}
