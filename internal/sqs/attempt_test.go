package sqs_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const msgNotRetryable = "Reason: The receiveRequestAttemptId is not valid anymore since the receive call is not retryable."

// receiveAttempt receives up to 10 messages with a ReceiveRequestAttemptId.
func receiveAttempt(c *sqs.Client, url, attempt string) (*sqs.ReceiveMessageOutput, error) {
	return c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, ReceiveRequestAttemptId: &attempt,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
}

// handles returns "id=receipt handle" of each message.
func handles(ms []types.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, *m.MessageId+"="+*m.ReceiptHandle)
	}
	return out
}

func sendGroups(t *testing.T, c *sqs.Client, url string, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		group, _, _ := strings.Cut(m, "-")
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(m), MessageGroupId: &group}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReceiveRequestAttemptIDRetry(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "attempt.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})
	sendGroups(t, c, url, "g1-m1", "g1-m2", "g2-m1")
	first, err := receiveAttempt(c, url, "attempt-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(bodies(first.Messages)); got != "[g1-m1 g1-m2 g2-m1]" {
		t.Fatalf("first receive %s", got)
	}
	// A retry within the window returns the same messages and handles,
	// without counting another receive.
	clk := env.Server.Clock()
	clk.Advance(20 * time.Second)
	retry, err := receiveAttempt(c, url, "attempt-1")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !slices.Equal(handles(retry.Messages), handles(first.Messages)) || !slices.Equal(bodies(retry.Messages), bodies(first.Messages)) {
		t.Fatalf("retry returned %v, want %v", handles(retry.Messages), handles(first.Messages))
	}
	for _, m := range retry.Messages {
		if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["MessageGroupId"] == "" {
			t.Fatalf("retried message attributes %v", m.Attributes)
		}
	}
	// The retry restarted the visibility timeout: 40 s after the first
	// receive (20 s after the retry) the messages are still in flight.
	clk.Advance(20 * time.Second)
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10}); len(r.Messages) != 0 {
		t.Fatalf("messages visible again after the retry reset their timeout: %v", bodies(r.Messages))
	}
	// Another attempt id is another receive: every group is in flight.
	if r, err := receiveAttempt(c, url, "attempt-2"); err != nil || len(r.Messages) != 0 {
		t.Fatalf("new attempt id: %v %v", r, err)
	}
	// Once a message is deleted, the attempt is no longer retryable.
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: first.Messages[2].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	_, err = receiveAttempt(c, url, "attempt-1")
	wantAPIError(t, err, codeInvalidParam, "Value attempt-1 for parameter ReceiveRequestAttemptId is invalid. "+msgNotRetryable)
	// The other handles of the attempt still work.
	for _, m := range first.Messages[:2] {
		if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("delete through a retried handle: %v", err)
		}
	}
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10}); len(r.Messages) != 0 {
		t.Fatalf("messages left after deleting all: %v", bodies(r.Messages))
	}
}

func TestReceiveRequestAttemptIDVisibilityChangeAndWindow(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "attempt-vis.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "900"})
	sendGroups(t, c, url, "a-1", "b-1")
	r, err := receiveAttempt(c, url, "vis")
	if err != nil || len(r.Messages) != 2 {
		t.Fatalf("receive: %v %v", r, err)
	}
	// Changing a message's visibility ends the attempt's retries.
	if _, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle, VisibilityTimeout: 600}); err != nil {
		t.Fatal(err)
	}
	_, err = receiveAttempt(c, url, "vis")
	wantAPIError(t, err, codeInvalidParam, "Value vis for parameter ReceiveRequestAttemptId is invalid. "+msgNotRetryable)

	// An attempt id is remembered for five minutes only; then a call with
	// it receives anew (here: nothing, both groups being in flight).
	url2 := createQueue(t, c, "attempt-window.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "900"})
	sendGroups(t, c, url2, "a-1")
	if r, err := receiveAttempt(c, url2, "window"); err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive: %v %v", r, err)
	}
	env.Server.Clock().Advance(4 * time.Minute)
	if r, err := receiveAttempt(c, url2, "window"); err != nil || len(r.Messages) != 1 {
		t.Fatalf("retry inside the window: %v %v", r, err)
	}
	env.Server.Clock().Advance(time.Minute + time.Second)
	if r, err := receiveAttempt(c, url2, "window"); err != nil || len(r.Messages) != 0 {
		t.Fatalf("retry after the window: %v %v", r, err)
	}
	// An empty receive is not recorded: a retry receives what arrived since.
	sendGroups(t, c, url2, "b-1")
	if r, err := receiveAttempt(c, url2, "window"); err != nil || fmt.Sprint(bodies(r.Messages)) != "[b-1]" {
		t.Fatalf("retry of an empty receive: %v %v", r, err)
	}
}

func TestReceiveRequestAttemptIDValidation(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "attempt-val.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	reason := " for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length."
	for _, bad := range []string{"has space", strings.Repeat("x", 129), "é", ""} {
		_, err := receiveAttempt(c, url, bad)
		wantAPIError(t, err, codeInvalidParam, "Value "+bad+reason)
	}
	ok := strings.Repeat("a", 64) + `!"#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~" + strings.Repeat("Z9", 16)
	if len(ok) != 128 {
		t.Fatalf("test id has %d characters", len(ok))
	}
	if _, err := receiveAttempt(c, url, ok); err != nil {
		t.Fatalf("valid 128-character attempt id: %v", err)
	}

	// Standard queues ignore the parameter: no validation, no replay.
	std := createQueue(t, c, "attempt-std", nil)
	for _, b := range []string{"one", "two"} {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &std, MessageBody: aws.String(b)})
	}
	var got []string
	for range 2 {
		r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &std, ReceiveRequestAttemptId: aws.String("not valid here")})
		if err != nil || len(r.Messages) != 1 {
			t.Fatalf("standard queue receive: %v %v", r, err)
		}
		got = append(got, *r.Messages[0].Body)
	}
	slices.Sort(got)
	if fmt.Sprint(got) != "[one two]" {
		t.Fatalf("standard queue receives %v, want both messages", got)
	}
}

// TestReceiveRequestAttemptIDQuery: query clients (the AWS CLI) send the
// parameter as a plain form member; a retry answers the same handles.
func TestReceiveRequestAttemptIDQuery(t *testing.T) {
	env, c := start(t)
	q := createQueue(t, c, "attempt-query.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendGroups(t, c, q, "g-1")
	params := func() url.Values {
		return url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {q}, "ReceiveRequestAttemptId": {"cli-attempt"}}
	}
	status, first := queryCall(t, env, q, params())
	if status != http.StatusOK || !strings.Contains(first, "<Body>g-1</Body>") {
		t.Fatalf("first receive: %d %s", status, first)
	}
	handle := func(body string) string {
		_, rest, _ := strings.Cut(body, "<ReceiptHandle>")
		h, _, _ := strings.Cut(rest, "</ReceiptHandle>")
		return h
	}
	status, retry := queryCall(t, env, q, params())
	if status != http.StatusOK || handle(retry) == "" || handle(retry) != handle(first) {
		t.Fatalf("retry: %d %s, first %s", status, retry, first)
	}
}
