package sqs_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	sqssvc "github.com/fogbank/fogbank/internal/sqs"
)

// TestSendInternalBatch checks that each message of a batch gets what
// SendInternal gives it alone: refusals fail only their own message.
func TestSendInternalBatch(t *testing.T) {
	env, c := start(t)
	b := env.Server.Backend()
	svc := sqssvc.New(sqssvc.Deps{Meta: b.Meta(), Queues: b.Queues(), Clock: env.Server.Clock()})
	qa := queueArn(t, c, createQueue(t, c, "batch-a", nil))
	qb := queueArn(t, c, createQueue(t, c, "batch-b", nil))
	fifo := queueArn(t, c, createQueue(t, c, "batch.fifo", map[string]string{"FifoQueue": "true"}))
	stranger := sqssvc.Sender{Account: "111111111111", ServicePrincipal: "events.amazonaws.com", SourceARN: "arn:aws:events:us-east-1:111111111111:rule/r"}

	msgs := []sqssvc.InternalMessage{
		{QueueARN: qa, Body: "a1", SenderID: "AIDAEVENTS"},
		{QueueARN: qb, Body: "b1"},
		{QueueARN: qa, Body: "bad \x00 body"},
		{QueueARN: defaultAccountARN + "missing", Body: "x"},
		{QueueARN: fifo, Body: "no group"},
		{QueueARN: qa, Body: "denied", From: stranger},
		{QueueARN: fifo, Body: "f1", GroupID: "g", DedupID: "d1"},
		{QueueARN: qa, Body: "a2", Attributes: map[string]sqssvc.MessageAttributeValue{"k": {DataType: "String", StringValue: "v"}}},
	}
	want := []string{"", "", "InvalidMessageContents", "QueueDoesNotExist", "MissingRequiredParameterException", "AccessDeniedException", "", ""}
	ids, errs := svc.SendInternalBatch(bg, msgs)
	if len(ids) != len(msgs) || len(errs) != len(msgs) {
		t.Fatalf("%d ids and %d errors for %d messages", len(ids), len(errs), len(msgs))
	}
	for i := range msgs {
		if want[i] == "" {
			if errs[i] != nil || ids[i] == "" {
				t.Fatalf("message %d: id %q, error %v", i, ids[i], errs[i])
			}
			continue
		}
		wantProtoError(t, errs[i], want[i])
		// The same message sent alone fails the same way.
		_, alone := svc.SendInternal(bg, msgs[i])
		pa, _ := errors.AsType[*protocol.Error](alone)
		pb, _ := errors.AsType[*protocol.Error](errs[i])
		if pa == nil || pa.Code != pb.Code || pa.Message != pb.Message {
			t.Fatalf("message %d: batch error %v, alone %v", i, errs[i], alone)
		}
	}
	bodies := func(arn string) []string {
		got, err := svc.ReceiveInternal(bg, arn, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range got {
			out = append(out, m.Body)
		}
		slices.Sort(out)
		return out
	}
	if got := bodies(qa); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("queue a holds %q", got)
	}
	if got := bodies(qb); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("queue b holds %q", got)
	}
	if got := bodies(fifo); !slices.Equal(got, []string{"f1"}) {
		t.Fatalf("fifo queue holds %q", got)
	}
}
