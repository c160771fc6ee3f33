package events

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/storage"
)

// batchSQS adds SendEventsMessages to fakeSQS, recording the size of every
// batch; a message whose body contains poison fails alone with a
// non-retryable error.
type batchSQS struct {
	*fakeSQS
	poison string
	mu     sync.Mutex
	sizes  []int
}

func (b *batchSQS) SendEventsMessages(ctx context.Context, ms []SQSMessage) []error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(ms))
	b.mu.Unlock()
	errs := make([]error, len(ms))
	for i, m := range ms {
		if b.poison != "" && strings.Contains(m.Body, b.poison) {
			b.fakeSQS.mu.Lock()
			b.fakeSQS.tries[m.QueueARN]++
			b.fakeSQS.mu.Unlock()
			errs[i] = &protocol.Error{Code: "InvalidMessageContents", Message: "Invalid characters found.", Status: 400}
			continue
		}
		_, errs[i] = b.fakeSQS.SendEventsMessage(ctx, m)
	}
	return errs
}

// largestBatch is the most messages one SendEventsMessages call carried.
func (b *batchSQS) largestBatch() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.sizes {
		n = max(n, s)
	}
	return n
}

func newBatchHarness(t *testing.T, poison string) (*harness, *batchSQS) {
	t.Helper()
	h := &harness{t: t, sqs: newFakeSQS(), clock: clock.NewManual(t0), dir: t.TempDir(), shards: 1}
	b := &batchSQS{fakeSQS: h.sqs, poison: poison}
	h.sender = b
	h.open()
	return h, b
}

// putEvents puts n events of source my.app in one PutEvents call.
func putEvents(h *harness, n int, detail func(i int) string) {
	h.t.Helper()
	var entries []map[string]any
	for i := range n {
		entries = append(entries, map[string]any{"Source": "my.app", "DetailType": "dt", "Detail": detail(i)})
	}
	h.call("PutEvents", map[string]any{"Entries": entries})
}

func TestBatchedSQSDeliveryRetriesFailedTargetAlone(t *testing.T) {
	h, b := newBatchHarness(t, "")
	good := []string{"arn:aws:sqs:us-east-1:111111111111:q1", "arn:aws:sqs:us-east-1:111111111111:q2", queueA}
	const bad = "arn:aws:sqs:us-east-1:111111111111:throttled"
	targets := []map[string]any{{
		"Id": "bad", "Arn": bad,
		"RetryPolicy":      map[string]int{"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
		"DeadLetterConfig": map[string]string{"Arn": dlqA},
	}}
	for i, q := range good {
		targets = append(targets, map[string]any{"Id": "t" + strconv.Itoa(i), "Arn": q})
	}
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": targets})
	h.sqs.setFail(bad, &protocol.Error{Code: "RequestThrottled", Message: "slow down", Status: 403})
	putEvents(h, 3, func(i int) string { return `{"n":` + strconv.Itoa(i) + `}` })

	waitFor(t, "first attempts", func() bool { return h.sqs.attempts(bad) >= 3 })
	if n := b.largestBatch(); n < 2 {
		t.Fatalf("largest SQS batch %d: deliveries were not batched", n)
	}
	waitFor(t, "dead letters", func() bool { h.clock.Advance(10 * time.Second); return len(h.sqs.get(dlqA)) == 3 })
	waitFor(t, "idle", h.idle)
	if n := h.sqs.attempts(bad); n != 9 {
		t.Fatalf("%d attempts on the throttled queue, want 3 events × (1 + 2 retries)", n)
	}
	for _, q := range good {
		if n := h.sqs.attempts(q); n != 3 {
			t.Errorf("%s: %d sends, want 3 (a batch-mate's retry must not resend)", q, n)
		}
		if n := len(h.sqs.get(q)); n != 3 {
			t.Errorf("%s: %d messages, want 3", q, n)
		}
	}
	for _, m := range h.sqs.get(dlqA) {
		if m.Attributes["TARGET_ARN"] != bad || m.Attributes["EXHAUSTED_RETRY_CONDITION"] != "MaximumRetryAttempts" || m.Attributes["RETRY_ATTEMPTS"] != "2" {
			t.Errorf("dead letter attributes %v", m.Attributes)
		}
	}
}

func TestBatchedSQSDeliveryRefusedMessageFailsAlone(t *testing.T) {
	h, b := newBatchHarness(t, "poison")
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{
		{"Id": "q", "Arn": queueA, "DeadLetterConfig": map[string]string{"Arn": dlqA}},
	}})
	putEvents(h, 8, func(i int) string {
		if i == 3 {
			return `{"v":"poison"}`
		}
		return `{"v":"ok` + strconv.Itoa(i) + `"}`
	})
	waitFor(t, "deliveries", func() bool { return len(h.sqs.get(queueA)) == 7 && len(h.sqs.get(dlqA)) == 1 })
	waitFor(t, "idle", h.idle)
	if n := b.largestBatch(); n < 2 {
		t.Fatalf("largest SQS batch %d: deliveries were not batched", n)
	}
	if n := h.sqs.attempts(queueA); n != 8 {
		t.Fatalf("%d sends to the queue, want 8 (a refusal is final, its batch-mates are not resent)", n)
	}
	dl := h.sqs.get(dlqA)[0]
	if dl.Attributes["ERROR_CODE"] != "INVALID_PARAMETER" || !strings.Contains(dl.Body, "poison") {
		t.Fatalf("dead letter %+v", dl)
	}
	if len(h.sqs.get(queueA)) != 7 {
		t.Fatalf("%d messages delivered, want 7", len(h.sqs.get(queueA)))
	}
}

func TestTaskEncoding(t *testing.T) {
	in := task{Account: "111111111111", Region: "us-east-1", Bus: "default", Rule: "r", RuleARN: "arn:r",
		Target: &Target{Id: "t", Arn: queueA}, Event: []byte(`{"id":"e1","detail":{"a":[1,2]}}`), EventID: "e1", Ingested: t0, Attempt: 2}
	body, ev, err := encodeTask(&in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), `"detail"`) || string(ev) != string(in.Event) {
		t.Fatalf("body %s, event %s: the event must be stored apart from the JSON", body, ev)
	}
	var got task
	if err := decodeTask(storage.Message{Body: body, Attributes: ev}, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	// A task stored by an earlier version carries the event in its JSON.
	old, _ := json.Marshal(&in)
	got = task{}
	if err := decodeTask(storage.Message{Body: old}, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Fatalf("earlier format (-want +got):\n%s", diff)
	}
	got = task{}
	if err := decodeTask(storage.Message{Body: body}, &got); err == nil {
		t.Fatal("a task without its event decoded")
	}
}

// stallSQS blocks every send until its context ends while stall is set,
// then behaves as the fake.
type stallSQS struct {
	*fakeSQS
	stall   atomic.Bool
	stalled chan struct{}
}

func (s *stallSQS) SendEventsMessage(ctx context.Context, m SQSMessage) (string, error) {
	if s.stall.Load() {
		select {
		case s.stalled <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return "", ctx.Err()
	}
	return s.fakeSQS.SendEventsMessage(ctx, m)
}

// TestHandedOverTaskSurvivesAbandon: a task PutEvents stores already
// received and hands to its shard's worker is durable; if the node stops
// while delivering it, it is delivered after the visibility timeout.
func TestHandedOverTaskSurvivesAbandon(t *testing.T) {
	h := &harness{t: t, sqs: newFakeSQS(), clock: clock.NewManual(t0), dir: t.TempDir()}
	s := &stallSQS{fakeSQS: h.sqs, stalled: make(chan struct{}, 1)}
	s.stall.Store(true)
	h.sender = s
	h.open()
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})
	putEvent(h, "", "my.app", `{}`)
	select {
	case <-s.stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempt")
	}
	inFlight := int64(0)
	for _, sh := range h.svc.shards {
		st, err := h.store.Queues().Stats(t.Context(), sh.queue, h.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		inFlight += st.InFlight + st.Visible
	}
	if inFlight != 1 {
		t.Fatalf("%d tasks stored while the delivery runs, want 1", inFlight)
	}
	h.restart() // the delivery in progress is abandoned
	s.stall.Store(false)
	if got := len(h.sqs.get(queueA)); got != 0 {
		t.Fatalf("%d messages before the visibility timeout", got)
	}
	// Past the visibility timeout in minutes, then in seconds: advancing a
	// minute per poll without bound let the redelivered task's own 5-minute
	// visibility lapse during a slow delivery (loaded machine, race
	// detector), so a second worker delivered it again and the count
	// passed 1 for good.
	polls := 0
	waitFor(t, "redelivery", func() bool {
		step := time.Second
		if polls++; polls <= 6 {
			step = time.Minute
		}
		h.clock.Advance(step)
		return len(h.sqs.get(queueA)) == 1
	})
	waitFor(t, "idle", h.idle)
	if got := len(h.sqs.get(queueA)); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}
}
