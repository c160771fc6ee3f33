package sqs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	dto "github.com/prometheus/client_model/go"

	sqssvc "github.com/fogbank/fogbank/internal/sqs"
	"github.com/fogbank/fogbank/internal/testenv"
	"github.com/fogbank/fogbank/internal/trail"
)

func TestRestartKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	env, c := start(t, testenv.WithDataDir(dir))
	url := createQueue(t, c, "durable", map[string]string{"VisibilityTimeout": "30"})
	fifo := createQueue(t, c, "durable.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for _, b := range []string{"a", "b", "c"} {
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &fifo, MessageBody: aws.String(b), MessageGroupId: aws.String("g")}); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url}) // one in flight across the restart
	if len(r.Messages) != 1 {
		t.Fatal("no message")
	}
	if err := env.Server.Shutdown(bg); err != nil {
		t.Fatal(err)
	}

	env2, c2 := start(t, testenv.WithDataDir(dir))
	url2 := strings.Replace(url, env.URL, env2.URL, 1)
	fifo2 := strings.Replace(fifo, env.URL, env2.URL, 1)
	r2, err := c2.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url2, MaxNumberOfMessages: 10})
	if err != nil || len(r2.Messages) != 2 {
		t.Fatalf("after restart: %v %v (the in-flight one must stay invisible)", r2, err)
	}
	env2.Server.Clock().Advance(31 * time.Second)
	r3, _ := c2.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url2, MaxNumberOfMessages: 10})
	if len(r3.Messages) != 3 {
		t.Fatalf("after the visibility timeout: %d messages, want all 3 back", len(r3.Messages))
	}
	rf, _ := c2.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &fifo2, MaxNumberOfMessages: 10})
	if got := strings.Join(bodies(rf.Messages), ","); got != "a,b,c" {
		t.Fatalf("fifo after restart: %s", got)
	}
	a, _ := c2.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url2, AttributeNames: []types.QueueAttributeName{"VisibilityTimeout"}})
	if a.Attributes["VisibilityTimeout"] != "30" {
		t.Fatalf("attributes lost: %v", a.Attributes)
	}
}

func TestTrailAndMetrics(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "observed", nil)
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("secret body")})
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("two")})
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle})
	c.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})

	env.FlushTrail(t)
	found, _, err := env.Server.Trail().Lookup(bg, trail.Query{Account: "000000000000", Region: "us-east-1", AttributeKey: "EventName", AttributeValue: "SendMessage"})
	if err != nil || len(found) != 2 {
		t.Fatalf("trail SendMessage events: %d %v", len(found), err)
	}
	rec := found[0].Record
	raw, _ := json.Marshal(rec.RequestParameters)
	if rec.EventSource != "sqs.amazonaws.com" || strings.Contains(string(raw), "secret") || !strings.Contains(string(raw), `"queueUrl"`) {
		t.Fatalf("trail record %s %s", rec.EventSource, raw)
	}
	if len(rec.Resources) != 1 || rec.Resources[0].ARN != defaultAccountARN+"observed" {
		t.Fatalf("trail resources %+v", rec.Resources)
	}
	found, _, _ = env.Server.Trail().Lookup(bg, trail.Query{Account: "000000000000", Region: "us-east-1", AttributeKey: "EventName", AttributeValue: "GetQueueUrl"})
	if len(found) != 1 || found[0].Record.ErrorCode != "AWS.SimpleQueueService.NonExistentQueue" || !found[0].Record.ReadOnly {
		t.Fatalf("failed call in trail: %+v", found)
	}

	families, err := env.Server.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"fogbank_sqs_number_of_messages_sent_total":              2,
		"fogbank_sqs_number_of_messages_received_total":          1,
		"fogbank_sqs_number_of_messages_deleted_total":           1,
		"fogbank_sqs_approximate_number_of_messages_visible":     1,
		"fogbank_sqs_approximate_number_of_messages_not_visible": 0,
		"fogbank_sqs_approximate_number_of_messages_delayed":     0,
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if labelValue(m, "queue") == "observed" {
				got[f.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("metric %s = %v (present %v), want %v; all: %v", k, g, ok, v, got)
		}
	}
	if _, ok := got["fogbank_sqs_approximate_age_of_oldest_message_seconds"]; !ok {
		t.Fatal("age of oldest message missing")
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestInternalAPI(t *testing.T) {
	env, c := start(t)
	b := env.Server.Backend()
	svc := sqssvc.New(sqssvc.Deps{Meta: b.Meta(), Queues: b.Queues(), Clock: env.Server.Clock()})
	url := createQueue(t, c, "internal", nil)
	arn := queueArn(t, c, url)
	fifo := queueArn(t, c, createQueue(t, c, "internal.fifo", map[string]string{"FifoQueue": "true"}))

	account, region, name, ok := sqssvc.ParseQueueARN(arn)
	if !ok || account != "000000000000" || region != "us-east-1" || name != "internal" {
		t.Fatalf("ParseQueueARN: %s %s %s %v", account, region, name, ok)
	}
	if _, _, _, ok := sqssvc.ParseQueueARN("arn:aws:sns:us-east-1:000000000000:t"); ok {
		t.Fatal("sns arn accepted")
	}
	id, err := svc.SendInternal(bg, sqssvc.InternalMessage{QueueARN: arn, Body: `{"detail":1}`, SenderID: "AIDAEVENTS",
		Attributes: map[string]sqssvc.MessageAttributeValue{"k": {DataType: "String", StringValue: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The wire API sees it (and the SDK checks the digests).
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"SenderId"}})
	if err != nil || len(r.Messages) != 1 || *r.Messages[0].MessageId != id || r.Messages[0].Attributes["SenderId"] != "AIDAEVENTS" {
		t.Fatalf("wire receive of internal send: %+v %v", r, err)
	}
	c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle, VisibilityTimeout: 0})

	msgs, err := svc.ReceiveInternal(bg, arn, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].Body != `{"detail":1}` || msgs[0].MessageAttributes["k"].StringValue != "v" || msgs[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("ReceiveInternal: %+v %v", msgs, err)
	}
	if err := svc.ChangeVisibilityInternal(bg, arn, msgs[0].ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	msgs, _ = svc.ReceiveInternal(bg, arn, 1, 0)
	if len(msgs) != 1 {
		t.Fatal("message not visible after ChangeVisibilityInternal 0")
	}
	if err := svc.DeleteInternal(bg, arn, msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	attrs, err := svc.QueueAttributesInternal(bg, arn)
	if err != nil || attrs["ApproximateNumberOfMessages"] != "0" || attrs["ApproximateNumberOfMessagesNotVisible"] != "0" || attrs["QueueArn"] != arn {
		t.Fatalf("QueueAttributesInternal: %v %v", attrs, err)
	}
	// Errors carry SQS's codes.
	_, err = svc.SendInternal(bg, sqssvc.InternalMessage{QueueARN: defaultAccountARN + "nope", Body: "x"})
	wantProtoError(t, err, "QueueDoesNotExist")
	_, err = svc.SendInternal(bg, sqssvc.InternalMessage{QueueARN: fifo, Body: "x"})
	wantProtoError(t, err, "MissingRequiredParameterException")
	if _, err := svc.SendInternal(bg, sqssvc.InternalMessage{QueueARN: fifo, Body: "x", GroupID: "g", DedupID: "d"}); err != nil {
		t.Fatal(err)
	}
	err = svc.DeleteInternal(bg, arn, "garbage")
	wantProtoError(t, err, "ReceiptHandleIsInvalid")
}
