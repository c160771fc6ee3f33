package sqs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

func str(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func TestSendReceiveAttributes(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "attrs", map[string]string{"VisibilityTimeout": "0"})
	trace := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	s, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("msg"),
		MessageAttributes:       map[string]types.MessageAttributeValue{"Help.Me": str("Me"), "Hello": str("There"), "General": str("Kenobi")},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(trace)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Digests recorded from AWS.
	if *s.MD5OfMessageBody != "6e2baaf3b97dbeef01c0043275f9a0e7" || *s.MD5OfMessageAttributes != "4c360f3fdafd970e05fae2f149d997f5" ||
		*s.MD5OfMessageSystemAttributes != "5ae4d5d7636402d80f4eb6d213245a88" {
		t.Fatalf("digests %s %s %s", *s.MD5OfMessageBody, *s.MD5OfMessageAttributes, *s.MD5OfMessageSystemAttributes)
	}
	recv := func(names []string, sys []types.MessageSystemAttributeName) types.Message {
		t.Helper()
		r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: names, MessageSystemAttributeNames: sys})
		if err != nil || len(r.Messages) != 1 {
			t.Fatalf("receive: %v %v", r, err)
		}
		return r.Messages[0]
	}
	cases := []struct {
		names []string
		keys  []string
		md5   string
	}{
		{nil, nil, ""},
		{[]string{"All"}, []string{"General", "Hello", "Help.Me"}, "4c360f3fdafd970e05fae2f149d997f5"},
		{[]string{".*"}, []string{"General", "Hello", "Help.Me"}, "4c360f3fdafd970e05fae2f149d997f5"},
		{[]string{"Hello", "General"}, []string{"General", "Hello"}, "fca026605781cb4126a1e9044df24232"},
		{[]string{"Foo", "Hello"}, []string{"Hello"}, "a311262e065454b75da111d535b8dacd"},
		{[]string{"Hel.*"}, []string{"Hello", "Help.Me"}, "83fee93c1bcd8b9a5a923ffacdc636c7"},
		{[]string{"Foo", "Help"}, nil, ""},
	}
	for _, tc := range cases {
		m := recv(tc.names, nil)
		var keys []string
		for k := range m.MessageAttributes {
			keys = append(keys, k)
		}
		if d := cmp.Diff(tc.keys, sortStrings(keys)); d != "" {
			t.Fatalf("names %v: keys (-want +got):\n%s", tc.names, d)
		}
		if aws.ToString(m.MD5OfMessageAttributes) != tc.md5 {
			t.Fatalf("names %v: md5 %q, want %q", tc.names, aws.ToString(m.MD5OfMessageAttributes), tc.md5)
		}
	}
	m := recv(nil, []types.MessageSystemAttributeName{"All"})
	for _, k := range []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader"} {
		if m.Attributes[k] == "" {
			t.Fatalf("system attribute %s missing: %v", k, m.Attributes)
		}
	}
	if m.Attributes["AWSTraceHeader"] != trace || m.Attributes["ApproximateReceiveCount"] != "8" {
		t.Fatalf("system attributes %v", m.Attributes)
	}
	m = recv(nil, []types.MessageSystemAttributeName{"SenderId", "SequenceNumber"})
	if len(m.Attributes) != 1 || m.Attributes["SenderId"] == "" {
		t.Fatalf("selected system attributes %v", m.Attributes)
	}

	// Binary and Number attributes round-trip (the SDK checks the digest).
	bin := []byte("traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01")
	_, err = c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("test"), MessageAttributes: map[string]types.MessageAttributeValue{
		"attr1": {DataType: aws.String("Binary"), BinaryValue: bin},
		"n":     {DataType: aws.String("Number.int"), StringValue: aws.String("1614717034367")},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func sortStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestSendValidation(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "val", nil)
	small := createQueue(t, c, "small", map[string]string{"MaximumMessageSize": "1024"})
	send := func(q string, in sqs.SendMessageInput) error {
		in.QueueUrl = &q
		_, err := c.SendMessage(bg, &in)
		return err
	}
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("")}), codeMissing, "The request must contain the parameter MessageBody.")
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("a\x01b")}), codeInvalidChars, "")
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), DelaySeconds: 901}), codeInvalidParam, "")
	if err := send(small, sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("a", 1024))}); err != nil {
		t.Fatalf("message of exactly the maximum size: %v", err)
	}
	wantAPIError(t, send(small, sqs.SendMessageInput{MessageBody: aws.String(strings.Repeat("a", 1024-8+1)),
		MessageAttributes: map[string]types.MessageAttributeValue{"k": str("x")}}), codeInvalidParam,
		"One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{"ErrorDetails": str("")}}),
		codeInvalidParam, "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'.")
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("string"), StringValue: aws.String("v")}}}),
		codeInvalidParam, "The type of message (user) attribute 'a' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")
	for _, name := range []string{"aWs.x", "AMAZON.x", ".x", "x.", "a..b", "in(valid", strings.Repeat("L", 257)} {
		wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{name: str("v")}}), codeInvalidParam, "")
	}
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("abc")}}}), codeInvalidParam, "")
	many := map[string]types.MessageAttributeValue{}
	for i := range 11 {
		many[fmt.Sprint("a", i)] = str("v")
	}
	wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageAttributes: many}), codeInvalidParam, "Number of message attributes [11] exceeds the allowed maximum [10].")
	for _, g := range []string{"", strings.Repeat("a", 129), "group 123"} {
		wantAPIError(t, send(url, sqs.SendMessageInput{MessageBody: aws.String("x"), MessageGroupId: aws.String(g)}), codeInvalidParam,
			"Value "+g+" for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	// A standard queue accepts a MessageGroupId (fair queues) and reports it.
	if err := send(url, sqs.SendMessageInput{MessageBody: aws.String("fair"), MessageGroupId: aws.String("tenant-1")}); err != nil {
		t.Fatal(err)
	}
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if len(r.Messages) != 1 || r.Messages[0].Attributes["MessageGroupId"] != "tenant-1" {
		t.Fatalf("fair queue message: %+v", r.Messages)
	}
	_, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: aws.String("http://h/000000000000/nope"), MessageBody: aws.String("x")})
	wantAPIError(t, err, codeNonExistent, msgNonExistent)
}

func TestReceiveValidation(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "rv", nil)
	_, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 11})
	wantAPIError(t, err, codeInvalidParam, "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
	_, err = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 21})
	wantAPIError(t, err, codeInvalidParam, "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
	_, err = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: -1})
	wantAPIError(t, err, codeInvalidParam, "Value -1 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")
	_, err = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 43201})
	wantAPIError(t, err, codeInvalidParam, "")
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if err != nil || len(r.Messages) != 0 {
		t.Fatalf("empty receive: %v %v", r, err)
	}
}

func TestBatches(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "batch", nil)
	var entries []types.SendMessageBatchRequestEntry
	for i := range 10 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), MessageBody: aws.String(fmt.Sprint("body-", i))})
	}
	entries[9].MessageBody = aws.String("\x01")
	out, err := c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 9 || len(out.Failed) != 1 || *out.Failed[0].Id != "m9" || *out.Failed[0].Code != "InvalidMessageContents" || !out.Failed[0].SenderFault {
		t.Fatalf("send batch: %+v %+v", out.Successful, out.Failed)
	}
	twenty := append(append([]types.SendMessageBatchRequestEntry{}, entries...), entries...)
	for i := range twenty {
		twenty[i].Id = aws.String(fmt.Sprint("x", i))
	}
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: twenty})
	wantAPIError(t, err, codeTooMany, "Maximum number of entries per request are 10. You have sent 20.")
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("bad:id"), MessageBody: aws.String("x")}}})
	wantAPIError(t, err, codeInvalidID, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}, {Id: aws.String("a"), MessageBody: aws.String("y")}}})
	wantAPIError(t, err, codeNotDistinct, "Id a repeated.")
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{}})
	wantAPIError(t, err, codeEmptyBatch, "")
	big := strings.Repeat("a", 1<<20-8)
	_, err = c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("1"), MessageBody: aws.String(big), MessageAttributes: map[string]types.MessageAttributeValue{"k": str("x")}},
		{Id: aws.String("2"), MessageBody: aws.String("a")}}})
	wantAPIError(t, err, codeBatchTooLong, "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.")

	var got []types.Message
	for len(got) < 9 {
		r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
		if err != nil || len(r.Messages) == 0 {
			t.Fatalf("receive: %v %v", r, err)
		}
		got = append(got, r.Messages...)
	}
	var vis []types.ChangeMessageVisibilityBatchRequestEntry
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range got {
		vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 100})
		del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
	}
	vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 1})
	cv, err := c.ChangeMessageVisibilityBatch(bg, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: vis})
	if err != nil || len(cv.Successful) != 9 || len(cv.Failed) != 1 || *cv.Failed[0].Code != codeReceiptInv {
		t.Fatalf("change visibility batch: %+v %v", cv, err)
	}
	del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage")})
	dm, err := c.DeleteMessageBatch(bg, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del})
	if err != nil || len(dm.Successful) != 9 || len(dm.Failed) != 1 || *dm.Failed[0].Message != `The input receipt handle "garbage" is not a valid receipt handle.` {
		t.Fatalf("delete batch: %+v %v", dm, err)
	}
	_, err = c.DeleteMessageBatch(bg, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String(""), ReceiptHandle: aws.String("x")}}})
	wantAPIError(t, err, codeInvalidID, "")
	a, _ := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{attrAll}})
	if a.Attributes["ApproximateNumberOfMessages"] != "0" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue not empty after batch delete: %v", a.Attributes)
	}
}

func TestVisibilityAndReceipts(t *testing.T) {
	env, c := start(t)
	clk := env.Server.Clock()
	url := createQueue(t, c, "vis", map[string]string{"VisibilityTimeout": "30"})
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("m")})
	r1, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if len(r1.Messages) != 1 {
		t.Fatal("no message")
	}
	h1 := r1.Messages[0].ReceiptHandle
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}); len(r.Messages) != 0 {
		t.Fatal("in-flight message received again")
	}
	a, _ := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesNotVisible"}})
	if a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("not visible = %v", a.Attributes)
	}
	// Extend, then let it expire on the clock.
	if _, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h1, VisibilityTimeout: 60}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(31 * time.Second)
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}); len(r.Messages) != 0 {
		t.Fatal("visibility extension ignored")
	}
	clk.Advance(30 * time.Second)
	r2, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if len(r2.Messages) != 1 || r2.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after expiry: %+v", r2.Messages)
	}
	h2 := r2.Messages[0].ReceiptHandle
	if *h1 == *h2 {
		t.Fatal("receipt handle not renewed")
	}
	// The superseded handle: delete is accepted and does nothing.
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: h1}); err != nil {
		t.Fatal(err)
	}
	a, _ = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessagesNotVisible"}})
	if a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatal("stale receipt deleted the message")
	}
	// Visibility 0 makes it visible at once.
	if _, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: h2, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	r3, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if len(r3.Messages) != 1 {
		t.Fatal("message not visible after visibility 0")
	}
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r3.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// Deleted: deleting again is fine, changing visibility is not.
	if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r3.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	_, err := c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: r3.Messages[0].ReceiptHandle, VisibilityTimeout: 42})
	wantAPIError(t, err, codeInvalidParam, "Value "+*r3.Messages[0].ReceiptHandle+" for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
	_, err = c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("garbage")})
	wantAPIError(t, err, codeReceiptInv, `The input receipt handle "garbage" is not a valid receipt handle.`)
	_, err = c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: aws.String("INVALID"), VisibilityTimeout: 60})
	wantAPIError(t, err, codeReceiptInv, "")
}

func TestDelayAndRetention(t *testing.T) {
	env, c := start(t)
	clk := env.Server.Clock()
	// VisibilityTimeout 0 on the queue: the SDK does not send a zero
	// VisibilityTimeout member.
	url := createQueue(t, c, "delay", map[string]string{"DelaySeconds": "5", "MessageRetentionPeriod": "60", "VisibilityTimeout": "0"})
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("queue-delay")})
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("no-delay"), DelaySeconds: 0})
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("long-delay"), DelaySeconds: 20})
	a, _ := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{attrAll}})
	if a.Attributes["ApproximateNumberOfMessagesDelayed"] != "3" || a.Attributes["ApproximateNumberOfMessages"] != "0" {
		// The explicit DelaySeconds 0 is the SDK default (not sent), so the
		// queue delay applies to it too.
		t.Fatalf("delayed counts: %v", a.Attributes)
	}
	clk.Advance(6 * time.Second)
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(r.Messages) != 2 {
		t.Fatalf("after queue delay: %d messages", len(r.Messages))
	}
	clk.Advance(15 * time.Second)
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(r.Messages) != 3 {
		t.Fatalf("after message delay: %d messages", len(r.Messages))
	}
	// Retention: after 60 s every message is gone.
	clk.Advance(45 * time.Second)
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(r.Messages) != 0 {
		t.Fatalf("expired messages delivered: %d", len(r.Messages))
	}
	a, _ = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if a.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("expired messages counted: %v", a.Attributes)
	}
}

func TestLongPolling(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "poll", nil)
	type res struct {
		msgs []types.Message
		err  error
	}
	done := make(chan res, 1)
	go func() {
		r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
		if err != nil {
			done <- res{err: err}
			return
		}
		done <- res{msgs: r.Messages}
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.msgs) != 1 {
			t.Fatalf("long poll: %+v", r)
		}
	case <-time.After(5 * time.Second): // well inside the 20 s wait; wake latency is benchmarked
		t.Fatal("long poll did not wake on send")
	}
	// The queue attribute sets the default wait; an empty long poll waits.
	q2 := createQueue(t, c, "poll2", map[string]string{"ReceiveMessageWaitTimeSeconds": "1"})
	t0 := time.Now()
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &q2})
	if err != nil || len(r.Messages) != 0 || time.Since(t0) < 900*time.Millisecond {
		t.Fatalf("default wait: %v %v after %v", r, err, time.Since(t0))
	}
}
