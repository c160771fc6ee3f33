package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

// acct is one account's SDK clients in an end-to-end test.
type acct struct {
	id  string
	eb  *eventbridge.Client
	sqs *sqs.Client
}

func defaultAcct(env *testenv.Env) acct {
	return acct{env.Account, eventbridge.NewFromConfig(env.Config), sqs.NewFromConfig(env.Config)}
}

func newAcct(t *testing.T, env *testenv.Env, id string) acct {
	cfg := env.NewAccount(t, id)
	return acct{id, eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)}
}

// queue creates a queue and returns its URL and ARN.
func (a acct) queue(t *testing.T, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	out := check(a.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs}))(t)
	return aws.ToString(out.QueueUrl), "arn:aws:sqs:us-east-1:" + a.id + ":" + name
}

// receive long-polls a queue until n messages arrived (deleting them) or
// the timeout passes.
func (a acct) receive(t *testing.T, url string, n int, timeout time.Duration) []sqstypes.Message {
	t.Helper()
	ctx := context.Background()
	var got []sqstypes.Message
	deadline := time.Now().Add(timeout)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: received %d messages, want %d", url, len(got), n)
		}
		out := check(a.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"},
		}))(t)
		for _, m := range out.Messages {
			got = append(got, m)
			check(a.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}))(t)
		}
	}
	return got
}

// empty checks that a queue holds nothing (short poll after a delay).
func (a acct) empty(t *testing.T, url string) {
	t.Helper()
	out := check(a.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1}))(t)
	if len(out.Messages) != 0 {
		t.Fatalf("%s: unexpected message %s", url, aws.ToString(out.Messages[0].Body))
	}
}

func (a acct) rule(t *testing.T, bus, name, pattern string, targets ...types.Target) string {
	t.Helper()
	ctx := context.Background()
	in := &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}
	if bus != "" {
		in.EventBusName = aws.String(bus)
	}
	out := check(a.eb.PutRule(ctx, in))(t)
	if len(targets) > 0 {
		pt := &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}
		if bus != "" {
			pt.EventBusName = aws.String(bus)
		}
		res := check(a.eb.PutTargets(ctx, pt))(t)
		if res.FailedEntryCount != 0 {
			t.Fatalf("PutTargets failed: %+v", res.FailedEntries)
		}
	}
	return aws.ToString(out.RuleArn)
}

func (a acct) put(t *testing.T, entries ...types.PutEventsRequestEntry) []string {
	t.Helper()
	out := check(a.eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries}))(t)
	if out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %d failed: %s %s", out.FailedEntryCount, aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	ids := make([]string, len(out.Entries))
	for i, e := range out.Entries {
		ids[i] = aws.ToString(e.EventId)
	}
	return ids
}

func entry(bus, source, detailType, detail string) types.PutEventsRequestEntry {
	e := types.PutEventsRequestEntry{Source: aws.String(source), DetailType: aws.String(detailType), Detail: aws.String(detail)}
	if bus != "" {
		e.EventBusName = aws.String(bus)
	}
	return e
}

func target(id, arn string) types.Target {
	return types.Target{Id: aws.String(id), Arn: aws.String(arn)}
}

// eventOf decodes an EventBridge envelope from a message body.
type eventOf struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func decodeEvent(t *testing.T, body string) eventOf {
	t.Helper()
	var e eventOf
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body is not an event: %s: %v", body, err)
	}
	return e
}

func TestE2EPutEventsRuleSQS(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	url, arn := a.queue(t, "orders", nil)
	a.rule(t, "", "big-orders", `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`, target("q", arn))
	ids := a.put(t,
		entry("", "shop", "Order", `{"amount": 500, "item": "desk"}`),
		entry("", "shop", "Order", `{"amount": 5}`),
		entry("", "other", "Order", `{"amount": 900}`),
	)
	msgs := a.receive(t, url, 1, 10*time.Second)
	ev := decodeEvent(t, aws.ToString(msgs[0].Body))
	if ev.ID != ids[0] || ev.Source != "shop" || ev.DetailType != "Order" || ev.Account != a.id || ev.Region != "us-east-1" || ev.Version != "0" || string(ev.Detail) != `{"amount":500,"item":"desk"}` {
		t.Fatalf("delivered event: %s", aws.ToString(msgs[0].Body))
	}
	if got := msgs[0].Attributes["SenderId"]; got == "" {
		t.Errorf("no SenderId on the delivered message")
	}
	a.empty(t, url)
}

func TestE2EFIFOTarget(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	url, arn := a.queue(t, "ordered.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	a.rule(t, "", "fifo", `{"source":["shop"]}`, types.Target{Id: aws.String("f"), Arn: aws.String(arn), SqsParameters: &types.SqsParameters{MessageGroupId: aws.String("orders")}})
	_, err := a.eb.PutTargets(context.Background(), &eventbridge.PutTargetsInput{Rule: aws.String("fifo"), Targets: []types.Target{target("nogroup", arn)}})
	apiErr(t, err, "ValidationException", "Parameter(s) SqsParameters must be specified for target: nogroup.")
	var entries []types.PutEventsRequestEntry
	for i := range 5 {
		entries = append(entries, entry("", "shop", "Order", `{"seq":`+string(rune('0'+i))+`}`))
	}
	ids := a.put(t, entries...)
	msgs := a.receive(t, url, 5, 10*time.Second)
	// EventBridge does not order deliveries (AWS neither): check the set.
	seen := map[string]bool{}
	for i, m := range msgs {
		if g := m.Attributes["MessageGroupId"]; g != "orders" {
			t.Errorf("message %d MessageGroupId = %q", i, g)
		}
		seen[decodeEvent(t, aws.ToString(m.Body)).ID] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("event %s not delivered", id)
		}
	}
	a.empty(t, url)
}

func TestE2EDeadLetterQueue(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	dlqURL, dlqArn := a.queue(t, "dlq", nil)
	missing := "arn:aws:sqs:us-east-1:" + a.id + ":missing"
	ruleArn := a.rule(t, "", "r", `{"source":["shop"]}`, types.Target{Id: aws.String("gone"), Arn: aws.String(missing), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}})
	ids := a.put(t, entry("", "shop", "Order", `{"n":1}`))
	msgs := a.receive(t, dlqURL, 1, 10*time.Second)
	m := msgs[0]
	if ev := decodeEvent(t, aws.ToString(m.Body)); ev.ID != ids[0] {
		t.Fatalf("DLQ body is not the original event: %s", aws.ToString(m.Body))
	}
	want := map[string]string{"RULE_ARN": ruleArn, "TARGET_ARN": missing, "ERROR_CODE": "NO_RESOURCE", "ERROR_MESSAGE": "The specified queue does not exist."}
	for k, v := range want {
		got, ok := m.MessageAttributes[k]
		if !ok || aws.ToString(got.DataType) != "String" || aws.ToString(got.StringValue) != v {
			t.Errorf("DLQ attribute %s = %+v, want String %q", k, got, v)
		}
	}
	if len(m.MessageAttributes) != len(want) {
		t.Errorf("DLQ attributes %d, want %d (no retry attributes for a non-retryable failure)", len(m.MessageAttributes), len(want))
	}
}

func TestE2ECrossAccountBusToBus(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	b := newAcct(t, env, "222222222222")
	ctx := context.Background()
	check(a.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("apps")}))(t)
	central := check(b.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("central")}))(t)
	bURL, bArn := b.queue(t, "inbox", nil)
	b.rule(t, "central", "all", `{"source":["app"]}`, target("q", bArn))
	dlqURL, dlqArn := a.queue(t, "dlq", nil)
	a.rule(t, "apps", "fwd", `{"source":["app"]}`, types.Target{Id: aws.String("central"), Arn: central.EventBusArn, DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}})

	// B's bus has no policy yet: the forward is refused.
	a.put(t, entry("apps", "app", "X", `{"n":1}`))
	dl := a.receive(t, dlqURL, 1, 10*time.Second)
	if c := aws.ToString(dl[0].MessageAttributes["ERROR_CODE"].StringValue); c != "NO_PERMISSIONS" {
		t.Fatalf("ERROR_CODE = %s, want NO_PERMISSIONS", c)
	}
	// Direct PutEvents to B's bus is refused per entry too.
	out := check(a.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry(aws.ToString(central.EventBusArn), "app", "X", `{}`)}}))(t)
	if out.FailedEntryCount != 1 || aws.ToString(out.Entries[0].ErrorCode) != "AccessDeniedException" {
		t.Fatalf("PutEvents to a foreign bus without policy: %+v", out.Entries[0])
	}

	check(b.eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"), Action: aws.String("events:PutEvents"), Principal: aws.String(a.id), StatementId: aws.String("from-a")}))(t)
	ids := a.put(t, entry("apps", "app", "X", `{"n":2}`))
	got := b.receive(t, bURL, 1, 10*time.Second)
	ev := decodeEvent(t, aws.ToString(got[0].Body))
	if ev.ID != ids[0] || ev.Account != a.id || string(ev.Detail) != `{"n":2}` {
		t.Fatalf("forwarded event: %s", aws.ToString(got[0].Body))
	}
	// Now also direct PutEvents with the bus ARN.
	ids = a.put(t, entry(aws.ToString(central.EventBusArn), "app", "Y", `{"n":3}`))
	got = b.receive(t, bURL, 1, 10*time.Second)
	if ev := decodeEvent(t, aws.ToString(got[0].Body)); ev.ID != ids[0] || ev.DetailType != "Y" || ev.Account != a.id {
		t.Fatalf("direct cross-account event: %s", aws.ToString(got[0].Body))
	}
	a.empty(t, dlqURL)
}

func TestE2ETrailEventFiresRule(t *testing.T) {
	env := testenv.Start(t)
	a := defaultAcct(env)
	url, arn := a.queue(t, "creates", nil)
	a.rule(t, "", "on-create", `{"source":["aws.sqs"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["CreateQueue"],"requestParameters":{"queueName":["watched"]}}}`, target("q", arn))
	a.queue(t, "watched", nil)
	env.FlushTrail(t)
	msgs := a.receive(t, url, 1, 10*time.Second)
	ev := decodeEvent(t, aws.ToString(msgs[0].Body))
	var detail struct {
		EventName         string         `json:"eventName"`
		EventSource       string         `json:"eventSource"`
		RequestParameters map[string]any `json:"requestParameters"`
	}
	json.Unmarshal(ev.Detail, &detail)
	if ev.Source != "aws.sqs" || ev.Account != a.id || detail.EventName != "CreateQueue" || detail.EventSource != "sqs.amazonaws.com" || detail.RequestParameters["queueName"] != "watched" {
		t.Fatalf("trail event: %s", aws.ToString(msgs[0].Body))
	}
	a.empty(t, url)
}

// TestE2EMultiAccountActivityFlow is issue 5's "Done when" flow through the
// SDK: account A creates a queue → the trail event on A's default bus
// matches A's rule → it is delivered to central account B's bus (allowed by
// B's policy) → B's rules route security events (permission changes) to a
// priority queue and the others to a standard queue.
func TestE2EMultiAccountActivityFlow(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	a := newAcct(t, env, "111111111111")
	b := newAcct(t, env, "999999999999")

	central := check(b.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("central")}))(t)
	check(b.eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"), Action: aws.String("events:PutEvents"), Principal: aws.String(a.id), StatementId: aws.String("from-a")}))(t)
	prioURL, prioArn := b.queue(t, "priority", nil)
	stdURL, stdArn := b.queue(t, "standard", nil)
	b.rule(t, "central", "security", `{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":[{"suffix":"Permission"}]}}`, target("p", prioArn))
	b.rule(t, "central", "other", `{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":[{"anything-but":{"suffix":"Permission"}}]}}`, target("s", stdArn))

	a.rule(t, "", "to-central", `{"source":["aws.sqs"],"detail-type":["AWS API Call via CloudTrail"]}`, target("c", aws.ToString(central.EventBusArn)))
	env.FlushTrail(t)

	qURL, qArn := a.queue(t, "app-queue", nil)
	check(a.sqs.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: aws.String(qURL), Label: aws.String("share"), AWSAccountIds: []string{b.id}, Actions: []string{"SendMessage"}}))(t)
	env.FlushTrail(t)
	_ = qArn

	names := func(msgs []sqstypes.Message) map[string]bool {
		out := map[string]bool{}
		for _, m := range msgs {
			ev := decodeEvent(t, aws.ToString(m.Body))
			var d struct {
				EventName          string `json:"eventName"`
				RecipientAccountID string `json:"recipientAccountId"`
			}
			json.Unmarshal(ev.Detail, &d)
			if ev.Account != a.id || d.RecipientAccountID != a.id || ev.Source != "aws.sqs" {
				t.Errorf("central got an event not from A's activity: %s", aws.ToString(m.Body))
			}
			out[d.EventName] = true
		}
		return out
	}
	prio := names(b.receive(t, prioURL, 1, 10*time.Second))
	std := names(b.receive(t, stdURL, 1, 10*time.Second))
	if !prio["AddPermission"] || len(prio) != 1 {
		t.Errorf("priority queue got %v, want AddPermission", prio)
	}
	if !std["CreateQueue"] || len(std) != 1 {
		t.Errorf("standard queue got %v, want CreateQueue", std)
	}
	b.empty(t, prioURL)
	b.empty(t, stdURL)
}

// receiveNow short-polls a queue once, deleting what it gets.
func (a acct) receiveNow(t *testing.T, url string) []sqstypes.Message {
	t.Helper()
	ctx := context.Background()
	out := check(a.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}}))(t)
	for _, m := range out.Messages {
		check(a.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}))(t)
	}
	return out.Messages
}
