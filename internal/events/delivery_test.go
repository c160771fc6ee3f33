package events

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/trail"
)

const queueA = "arn:aws:sqs:us-east-1:111111111111:qa"
const dlqA = "arn:aws:sqs:us-east-1:111111111111:dlq"

func putEvent(h *harness, bus, source, detail string) string {
	h.t.Helper()
	out := h.call("PutEvents", map[string]any{"Entries": []map[string]any{{"Source": source, "DetailType": "dt", "Detail": detail, "EventBusName": bus}}})
	var res struct {
		FailedEntryCount int
		Entries          []struct{ EventId, ErrorCode, ErrorMessage string }
	}
	json.Unmarshal(out, &res)
	if res.FailedEntryCount != 0 {
		h.t.Fatalf("PutEvents failed: %s", out)
	}
	return res.Entries[0].EventId
}

func TestDeliverToSQSEnvelope(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})
	id := putEvent(h, "", "my.app", `{"a": 1, "b": {"c": "x"}}`)
	putEvent(h, "", "other.app", `{"a": 2}`)
	waitFor(t, "delivery", func() bool { return len(h.sqs.get(queueA)) == 1 })
	got := h.sqs.get(queueA)[0].Body
	want := `{"version":"0","id":"` + id + `","detail-type":"dt","source":"my.app","account":"111111111111","time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":[],"detail":{"a":1,"b":{"c":"x"}}}`
	if got != want {
		t.Fatalf("body:\n got %s\nwant %s", got, want)
	}
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get(queueA)); n != 1 {
		t.Fatalf("%d messages, want 1 (the other source must not match)", n)
	}
}

func TestInputShapes(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	targets := []map[string]any{
		{"Id": "input", "Arn": "arn:aws:sqs:us-east-1:111111111111:q1", "Input": `{"custom":"value"}`},
		{"Id": "path", "Arn": "arn:aws:sqs:us-east-1:111111111111:q2", "InputPath": "$.detail.payload"},
		{"Id": "tr", "Arn": "arn:aws:sqs:us-east-1:111111111111:q3", "InputTransformer": map[string]any{
			"InputPathsMap": map[string]string{"id": "$.detail.payload.acc_id"},
			"InputTemplate": `"<aws.events.rule-name> got <id>"`}},
	}
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": targets})
	putEvent(h, "", "my.app", `{"payload":{"acc_id":"0a7","sf_id":"baz"}}`)
	want := map[string]string{
		"arn:aws:sqs:us-east-1:111111111111:q1": `{"custom":"value"}`,
		"arn:aws:sqs:us-east-1:111111111111:q2": `{"acc_id":"0a7","sf_id":"baz"}`,
		"arn:aws:sqs:us-east-1:111111111111:q3": `"r1 got 0a7"`,
	}
	for q, body := range want {
		waitFor(t, q, func() bool { return len(h.sqs.get(q)) == 1 })
		if got := h.sqs.get(q)[0].Body; got != body {
			t.Errorf("%s: got %s, want %s", q, got, body)
		}
	}
}

func TestRetryThenDLQ(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{
		"Id": "t1", "Arn": queueA,
		"RetryPolicy":      map[string]int{"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
		"DeadLetterConfig": map[string]string{"Arn": dlqA},
	}}})
	h.sqs.setFail(queueA, &protocol.Error{Code: "RequestThrottled", Message: "slow down", Status: 403})
	putEvent(h, "", "my.app", `{}`)
	waitFor(t, "first attempt", func() bool { return h.sqs.attempts(queueA) == 1 })
	for i := 2; i <= 4; i++ {
		// Each retry waits on the injected clock; advance past the longest back-off.
		waitFor(t, "retry scheduled", func() bool {
			h.clock.Advance(10 * time.Second)
			return h.sqs.attempts(queueA) >= i
		})
	}
	waitFor(t, "dlq", func() bool { h.clock.Advance(10 * time.Second); return len(h.sqs.get(dlqA)) == 1 })
	if n := h.sqs.attempts(queueA); n != 4 {
		t.Fatalf("%d attempts, want 1 + 3 retries", n)
	}
	m := h.sqs.get(dlqA)[0]
	want := map[string]string{
		"RULE_ARN": "arn:aws:events:us-east-1:111111111111:rule/r1", "TARGET_ARN": queueA,
		"ERROR_CODE": "THROTTLING", "ERROR_MESSAGE": "slow down",
		"EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "3",
	}
	if diff := cmp.Diff(want, m.Attributes); diff != "" {
		t.Fatalf("DLQ attributes (-want +got):\n%s", diff)
	}
	if !strings.Contains(m.Body, `"source":"my.app"`) {
		t.Fatalf("DLQ body is not the event: %s", m.Body)
	}
}

func TestNonRetryableGoesStraightToDLQ(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{
		{"Id": "q", "Arn": queueA, "DeadLetterConfig": map[string]string{"Arn": dlqA}},
		{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:111111111111:function:missing", "DeadLetterConfig": map[string]string{"Arn": dlqA}},
	}})
	h.sqs.setFail(queueA, &protocol.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist."})
	putEvent(h, "", "my.app", `{}`)
	waitFor(t, "dlq", func() bool { return len(h.sqs.get(dlqA)) == 2 })
	if n := h.sqs.attempts(queueA); n != 1 {
		t.Fatalf("%d attempts on a missing queue, want 1", n)
	}
	codes := map[string]string{}
	for _, m := range h.sqs.get(dlqA) {
		codes[m.Attributes["TARGET_ARN"]] = m.Attributes["ERROR_CODE"]
		if _, ok := m.Attributes["EXHAUSTED_RETRY_CONDITION"]; ok {
			t.Errorf("non-retryable failure has EXHAUSTED_RETRY_CONDITION")
		}
	}
	want := map[string]string{queueA: "NO_RESOURCE", "arn:aws:lambda:us-east-1:111111111111:function:missing": "NO_RESOURCE"}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Fatalf("codes (-want +got):\n%s", diff)
	}
}

func TestCrossAccountBusToBus(t *testing.T) {
	h := newHarness(t)
	const central = "222222222222"
	centralBus := "arn:aws:events:us-east-1:" + central + ":event-bus/central"
	centralQ := "arn:aws:sqs:us-east-1:" + central + ":q"
	if _, err := h.callAs(central, "CreateEventBus", map[string]any{"Name": "central"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.callAs(central, "PutRule", map[string]any{"Name": "all", "EventBusName": "central", "EventPattern": `{"source":["my.app"]}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.callAs(central, "PutTargets", map[string]any{"Rule": "all", "EventBusName": "central", "Targets": []map[string]any{{"Id": "q", "Arn": centralQ}}}); err != nil {
		t.Fatal(err)
	}
	h.call("PutRule", map[string]any{"Name": "fwd", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "fwd", "Targets": []map[string]any{{"Id": "bus", "Arn": centralBus, "DeadLetterConfig": map[string]string{"Arn": dlqA}}}})

	// Without a policy on the central bus the delivery is refused.
	putEvent(h, "", "my.app", `{"n":1}`)
	waitFor(t, "dlq", func() bool { return len(h.sqs.get(dlqA)) == 1 })
	if c := h.sqs.get(dlqA)[0].Attributes["ERROR_CODE"]; c != "NO_PERMISSIONS" {
		t.Fatalf("ERROR_CODE = %s, want NO_PERMISSIONS", c)
	}
	if _, err := h.callAs(central, "PutPermission", map[string]any{"EventBusName": "central", "Action": "events:PutEvents", "Principal": "111111111111", "StatementId": "s1"}); err != nil {
		t.Fatal(err)
	}
	id := putEvent(h, "", "my.app", `{"n":2}`)
	waitFor(t, "central delivery", func() bool { return len(h.sqs.get(centralQ)) == 1 })
	var env envelope
	json.Unmarshal([]byte(h.sqs.get(centralQ)[0].Body), &env)
	if env.ID != id || env.Account != "111111111111" {
		t.Fatalf("forwarded event id=%s account=%s, want id %s from the source account", env.ID, env.Account, id)
	}
}

func TestTrailEventOnDefaultBus(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "creates", "EventPattern": `{"source":["aws.sqs"],"detail":{"eventName":["CreateQueue"]}}`})
	h.call("PutTargets", map[string]any{"Rule": "creates", "Targets": []map[string]any{{"Id": "q", "Arn": queueA}}})
	h.call("PutRule", map[string]any{"Name": "reads", "State": stateEnabledAll, "EventPattern": `{"source":["aws.sqs"],"detail":{"eventName":["ListQueues"]}}`})
	h.call("PutTargets", map[string]any{"Rule": "reads", "Targets": []map[string]any{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:111111111111:reads"}}})
	h.call("PutRule", map[string]any{"Name": "reads-plain", "EventPattern": `{"source":["aws.sqs"],"detail":{"eventName":["ListQueues"]}}`})
	h.call("PutTargets", map[string]any{"Rule": "reads-plain", "Targets": []map[string]any{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:111111111111:plain"}}})
	rec := trail.Record{EventSource: "sqs.amazonaws.com", EventName: "CreateQueue", AWSRegion: "us-east-1", RecipientAccountID: "111111111111", EventTime: "2024-05-01T12:00:00Z"}
	raw, _ := json.Marshal(rec)
	h.svc.onTrailRecord(context.Background(), rec, raw)
	ro := rec
	ro.EventName, ro.ReadOnly = "ListQueues", true
	rawRO, _ := json.Marshal(ro)
	h.svc.onTrailRecord(context.Background(), ro, rawRO)
	waitFor(t, "trail event", func() bool { return len(h.sqs.get(queueA)) == 1 })
	waitFor(t, "read-only trail event", func() bool { return len(h.sqs.get("arn:aws:sqs:us-east-1:111111111111:reads")) == 1 })
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get("arn:aws:sqs:us-east-1:111111111111:plain")); n != 0 {
		t.Fatalf("a plain ENABLED rule received %d read-only events", n)
	}
	var env map[string]json.RawMessage
	json.Unmarshal([]byte(h.sqs.get(queueA)[0].Body), &env)
	if string(env["detail-type"]) != `"AWS API Call via CloudTrail"` || string(env["source"]) != `"aws.sqs"` || string(env["detail"]) != string(raw) {
		t.Fatalf("trail event: %s", h.sqs.get(queueA)[0].Body)
	}
}

func TestDeliverySurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})
	h.sqs.setFail(queueA, &protocol.Error{Code: "InternalError", Message: "down", Status: 500})
	putEvent(h, "", "my.app", `{}`)
	waitFor(t, "first attempt", func() bool { return h.sqs.attempts(queueA) == 1 })
	waitFor(t, "retry stored", func() bool {
		n := int64(0)
		for _, sh := range h.svc.shards {
			st, _ := h.store.Queues().Stats(t.Context(), sh.queue, h.clock.Now())
			n += st.Delayed
		}
		return n == 1
	})
	h.restart()
	h.sqs.setFail(queueA, nil)
	waitFor(t, "delivery after restart", func() bool { h.clock.Advance(5 * time.Second); return len(h.sqs.get(queueA)) == 1 })
}

func TestScheduleRateAndCron(t *testing.T) {
	h := newHarness(t)
	qr, qc := "arn:aws:sqs:us-east-1:111111111111:rate", "arn:aws:sqs:us-east-1:111111111111:cron"
	h.call("PutRule", map[string]any{"Name": "every5", "ScheduleExpression": "rate(5 minutes)"})
	h.call("PutTargets", map[string]any{"Rule": "every5", "Targets": []map[string]any{{"Id": "q", "Arn": qr}}})
	h.call("PutRule", map[string]any{"Name": "hourly", "ScheduleExpression": "cron(0 * * * ? *)"})
	h.call("PutTargets", map[string]any{"Rule": "hourly", "Targets": []map[string]any{{"Id": "q", "Arn": qc, "Input": `{"custom-value":"x"}`}}})
	// One hour in one-minute steps: 12 rate fires, 1 cron fire (13:00).
	// Each step waits until the deliveries are settled (their tasks
	// deleted): a task still in flight when five quick steps pass its
	// 5-minute visibility would be delivered again (at least once).
	for i := 0; i < 60; i++ {
		h.clock.Advance(time.Minute)
		n := i + 1
		waitFor(t, "rate fires", func() bool { return len(h.sqs.get(qr)) == n/5 })
		waitFor(t, "idle", h.idle)
	}
	waitFor(t, "cron fire", func() bool { return len(h.sqs.get(qc)) == 1 })
	var env envelope
	json.Unmarshal([]byte(h.sqs.get(qr)[0].Body), &env)
	if env.DetailType != "Scheduled Event" || env.Source != "aws.events" || env.Time != "2024-05-01T12:05:00Z" ||
		len(env.Resources) != 1 || env.Resources[0] != "arn:aws:events:us-east-1:111111111111:rule/every5" || string(env.Detail) != "{}" {
		t.Fatalf("scheduled event: %s", h.sqs.get(qr)[0].Body)
	}
	if got := h.sqs.get(qc)[0].Body; got != `{"custom-value":"x"}` {
		t.Fatalf("cron target input = %s", got)
	}
	h.call("DisableRule", map[string]any{"Name": "every5"})
	waitFor(t, "idle", h.idle)
	before := len(h.sqs.get(qr))
	for i := 0; i < 10; i++ {
		h.clock.Advance(time.Minute)
	}
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get(qr)); n != before {
		t.Fatalf("disabled schedule fired: %d > %d", n, before)
	}
}

// TestMultiAccountActivityFlow is issue 5's "Done when" flow with a fake
// SQS: account A creates a queue → the trail event on A's default bus
// matches A's rule → it is forwarded to central account B's bus (allowed by
// B's policy) → B's rules route security events to a priority queue and the
// rest to a standard queue.
func TestMultiAccountActivityFlow(t *testing.T) {
	h := newHarness(t)
	const a, b = "111111111111", "999999999999"
	central := "arn:aws:events:us-east-1:" + b + ":event-bus/central"
	priority, standard := "arn:aws:sqs:us-east-1:"+b+":priority", "arn:aws:sqs:us-east-1:"+b+":standard"
	mustCall := func(acct, op string, in any) {
		t.Helper()
		if _, err := h.callAs(acct, op, in); err != nil {
			t.Fatalf("%s %s: %v", acct, op, err)
		}
	}
	mustCall(b, "CreateEventBus", map[string]any{"Name": "central"})
	mustCall(b, "PutPermission", map[string]any{"EventBusName": "central", "Action": "events:PutEvents", "Principal": a, "StatementId": "from-a"})
	mustCall(b, "PutRule", map[string]any{"Name": "security", "EventBusName": "central", "EventPattern": `{"source":["aws.iam","aws.sts"]}`})
	mustCall(b, "PutTargets", map[string]any{"Rule": "security", "EventBusName": "central", "Targets": []map[string]any{{"Id": "p", "Arn": priority}}})
	mustCall(b, "PutRule", map[string]any{"Name": "other", "EventBusName": "central", "EventPattern": `{"source":[{"anything-but":["aws.iam","aws.sts"]}]}`})
	mustCall(b, "PutTargets", map[string]any{"Rule": "other", "EventBusName": "central", "Targets": []map[string]any{{"Id": "s", "Arn": standard}}})
	mustCall(a, "PutRule", map[string]any{"Name": "to-central", "EventPattern": `{"detail-type":["AWS API Call via CloudTrail"]}`})
	mustCall(a, "PutTargets", map[string]any{"Rule": "to-central", "Targets": []map[string]any{{"Id": "c", "Arn": central}}})

	for _, rec := range []trail.Record{
		{EventSource: "sqs.amazonaws.com", EventName: "CreateQueue", AWSRegion: "us-east-1", RecipientAccountID: a, EventTime: "2024-05-01T12:00:00Z"},
		{EventSource: "iam.amazonaws.com", EventName: "CreateAccessKey", AWSRegion: "us-east-1", RecipientAccountID: a, EventTime: "2024-05-01T12:00:01Z"},
	} {
		raw, _ := json.Marshal(rec)
		h.svc.onTrailRecord(context.Background(), rec, raw)
	}
	waitFor(t, "priority", func() bool { return len(h.sqs.get(priority)) == 1 })
	waitFor(t, "standard", func() bool { return len(h.sqs.get(standard)) == 1 })
	waitFor(t, "idle", h.idle)
	check := func(q, source, name string) {
		t.Helper()
		msgs := h.sqs.get(q)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages", q, len(msgs))
		}
		var env struct {
			Source  string `json:"source"`
			Account string `json:"account"`
			Detail  struct {
				EventName string `json:"eventName"`
			} `json:"detail"`
		}
		json.Unmarshal([]byte(msgs[0].Body), &env)
		if env.Source != source || env.Account != a || env.Detail.EventName != name {
			t.Fatalf("%s got %s", q, msgs[0].Body)
		}
	}
	check(priority, "aws.iam", "CreateAccessKey")
	check(standard, "aws.sqs", "CreateQueue")
}

func TestArchiveAndReplay(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})
	busArn := "arn:aws:events:us-east-1:111111111111:event-bus/default"
	h.call("CreateArchive", map[string]any{"ArchiveName": "arch", "EventSourceArn": busArn, "EventPattern": `{"source":["my.app"]}`})
	if e := h.callErr("CreateArchive", map[string]any{"ArchiveName": "arch", "EventSourceArn": busArn}); e.Code != "ResourceAlreadyExistsException" || e.Message != "Archive arch already exists." {
		t.Fatalf("duplicate archive: %v", e)
	}
	for i := 0; i < 3; i++ {
		putEvent(h, "", "my.app", `{"i":1}`)
	}
	putEvent(h, "", "other", `{}`)
	count := func() int64 {
		var d struct{ EventCount, SizeBytes int64 }
		json.Unmarshal(h.call("DescribeArchive", map[string]any{"ArchiveName": "arch"}), &d)
		return d.EventCount
	}
	waitFor(t, "archived", func() bool { return count() == 3 })
	waitFor(t, "live deliveries", func() bool { return len(h.sqs.get(queueA)) == 3 })
	rules := string(h.call("ListRules", map[string]any{}))
	if !strings.Contains(rules, `"Name":"Events-Archive-arch"`) || !strings.Contains(rules, `"ManagedBy":"prod.vhs.events.aws.internal"`) {
		t.Fatalf("managed archive rule missing: %s", rules)
	}
	h.clock.Advance(time.Minute)
	archArn := "arn:aws:events:us-east-1:111111111111:archive/arch"
	if e := h.callErr("StartReplay", map[string]any{"ReplayName": "rp", "EventSourceArn": archArn, "EventStartTime": t0.Add(time.Minute).Unix(), "EventEndTime": t0.Unix(), "Destination": map[string]any{"Arn": busArn}}); e.Message != "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime." {
		t.Fatalf("bad window: %v", e)
	}
	h.call("StartReplay", map[string]any{"ReplayName": "rp", "EventSourceArn": archArn, "EventStartTime": t0.Add(-time.Minute).Unix(), "EventEndTime": t0.Add(30 * time.Second).Unix(), "Destination": map[string]any{"Arn": busArn}})
	waitFor(t, "replay completed", func() bool {
		var d struct{ State string }
		json.Unmarshal(h.call("DescribeReplay", map[string]any{"ReplayName": "rp"}), &d)
		return d.State == replayCompleted
	})
	waitFor(t, "replayed deliveries", func() bool { return len(h.sqs.get(queueA)) == 6 })
	waitFor(t, "idle", h.idle)
	var env envelope
	json.Unmarshal([]byte(h.sqs.get(queueA)[5].Body), &env)
	if env.ReplayName != "rp" {
		t.Fatalf("replayed event lacks replay-name: %s", h.sqs.get(queueA)[5].Body)
	}
	if !strings.Contains(h.sqs.get(queueA)[5].Body, `"region":"us-east-1","replay-name":"rp","resources"`) {
		t.Fatalf("replay-name not in AWS's position: %s", h.sqs.get(queueA)[5].Body)
	}
	if n := count(); n != 3 {
		t.Fatalf("archive has %d events after replay, want 3 (replays are not archived)", n)
	}
	if e := h.callErr("CancelReplay", map[string]any{"ReplayName": "rp"}); e.Code != "IllegalStatusException" {
		t.Fatalf("cancel completed replay: %v", e)
	}
	h.call("DeleteArchive", map[string]any{"ArchiveName": "arch"})
	if e := h.callErr("DescribeArchive", map[string]any{"ArchiveName": "arch"}); e.Message != "Archive arch does not exist." {
		t.Fatalf("after delete: %v", e)
	}
}
