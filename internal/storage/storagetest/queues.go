package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

var queueTests = []namedTest{
	{"SendReceiveDelete", testQueueSendReceiveDelete},
	{"Visibility", testQueueVisibility},
	{"SupersededReceipts", testQueueSupersededReceipts},
	{"DeleteBatch", testQueueDeleteBatch},
	{"SendHold", testQueueSendHold},
	{"DeleteBatchConcurrentReceive", testQueueDeleteBatchConcurrentReceive},
	{"ChangeVisibility", testQueueChangeVisibility},
	{"Delay", testQueueDelay},
	{"FIFO", testQueueFIFO},
	{"FIFOVisibilityExpiry", testQueueFIFOVisibilityExpiry},
	{"FIFODelayedHead", testQueueFIFODelayedHead},
	{"FIFOFillsGroupFirst", testQueueFIFOFillsGroupFirst},
	{"Dedup", testQueueDedup},
	{"Redrive", testQueueRedrive},
	{"RedriveKeepsReceiveCount", testQueueRedriveKeepsReceiveCount},
	{"Move", testQueueMove},
	{"Expire", testQueueExpire},
	{"PurgeDrop", testQueuePurgeDrop},
	{"Stats", testQueueStats},
	{"Notify", testQueueNotify},
	{"Isolation", testQueueIsolation},
	{"ConcurrentReceivers", testQueueConcurrentReceivers},
}

const (
	qA   = "sqs/111/us-east-1/a"
	qB   = "sqs/111/us-east-1/b"
	qDLQ = "sqs/111/us-east-1/dlq"
)

func send(t *testing.T, q storage.Queues, queue string, now time.Time, reqs ...storage.SendRequest) []storage.SendResult {
	t.Helper()
	res := must(q.Send(t.Context(), queue, now, reqs))(t)
	if len(res) != len(reqs) {
		t.Fatalf("send returned %d results for %d requests", len(res), len(reqs))
	}
	return res
}

func body(s string) storage.SendRequest { return storage.SendRequest{Body: []byte(s)} }

func receive(t *testing.T, q storage.Queues, queue string, now time.Time, opts storage.ReceiveOptions) []storage.Message {
	t.Helper()
	if opts.Max == 0 {
		opts.Max = 10
	}
	if opts.Visibility == 0 {
		opts.Visibility = 30 * time.Second
	}
	msgs := must(q.Receive(t.Context(), queue, now, opts))(t)
	if len(msgs) > opts.Max {
		t.Fatalf("receive returned %d messages, max %d", len(msgs), opts.Max)
	}
	return msgs
}

func bodies(msgs []storage.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func sortedBodies(msgs []storage.Message) []string {
	out := bodies(msgs)
	slices.Sort(out)
	return out
}

func eqStrings(t *testing.T, got, want []string, what string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func testQueueSendReceiveDelete(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	if msgs := receive(t, q, qA, t0, storage.ReceiveOptions{}); len(msgs) != 0 {
		t.Fatalf("receive from never-used queue returned %d messages", len(msgs))
	}
	res := send(t, q, qA, t0,
		storage.SendRequest{Body: []byte("m1"), Attributes: []byte(`{"a":1}`)},
		storage.SendRequest{Body: []byte{0, 1, 0xff}},
		storage.SendRequest{Body: []byte("m3")},
	)
	seen := map[string]bool{}
	for i, r := range res {
		if r.ID == "" || r.Duplicate {
			t.Fatalf("result %d = %+v, want an ID and not duplicate", i, r)
		}
		if seen[r.ID] {
			t.Fatalf("duplicate message ID %q", r.ID)
		}
		seen[r.ID] = true
		if i > 0 && r.Seq <= res[i-1].Seq {
			t.Fatalf("Seq does not grow: %d then %d", res[i-1].Seq, r.Seq)
		}
	}
	more := send(t, q, qA, at(time.Second), body("m4"))
	if more[0].Seq <= res[2].Seq {
		t.Fatalf("Seq of later send %d not above %d", more[0].Seq, res[2].Seq)
	}

	now := at(2 * time.Second)
	msgs := receive(t, q, qA, now, storage.ReceiveOptions{Max: 10, Visibility: time.Minute})
	if len(msgs) != 4 {
		t.Fatalf("received %d messages, want 4", len(msgs))
	}
	byID := map[string]storage.Message{}
	receipts := map[string]bool{}
	for _, m := range msgs {
		byID[m.ID] = m
		if m.Receipt == "" || receipts[m.Receipt] {
			t.Fatalf("message %s has empty or repeated receipt %q", m.ID, m.Receipt)
		}
		receipts[m.Receipt] = true
		if m.ReceiveCount != 1 {
			t.Fatalf("ReceiveCount = %d, want 1", m.ReceiveCount)
		}
		eqTime(t, m.FirstReceivedAt, now, "FirstReceivedAt")
		eqTime(t, m.VisibleAt, now.Add(time.Minute), "VisibleAt")
	}
	m1 := byID[res[0].ID]
	eqBytes(t, m1.Body, []byte("m1"), "body")
	eqBytes(t, m1.Attributes, []byte(`{"a":1}`), "attributes")
	eqTime(t, m1.SentAt, t0, "SentAt")
	if m1.Seq != res[0].Seq {
		t.Fatalf("received Seq %d, sent Seq %d", m1.Seq, res[0].Seq)
	}
	eqBytes(t, byID[res[1].ID].Body, []byte{0, 1, 0xff}, "binary body")
	eqTime(t, byID[more[0].ID].SentAt, at(time.Second), "SentAt of later send")

	for _, m := range msgs {
		noErr(t, q.Delete(ctx, qA, m.Receipt))
	}
	// After deletion nothing comes back, even once visibility would have ended.
	if msgs := receive(t, q, qA, at(time.Hour), storage.ReceiveOptions{}); len(msgs) != 0 {
		t.Fatalf("deleted messages came back: %q", bodies(msgs))
	}
	wantErr(t, q.Delete(ctx, qA, m1.Receipt), storage.ErrInvalidReceipt, "delete twice")
	wantErr(t, q.Delete(ctx, qA, "no-such-receipt"), storage.ErrInvalidReceipt, "delete garbage receipt")
	wantErr(t, q.Delete(ctx, qA, ""), storage.ErrInvalidReceipt, "delete empty receipt")
}

func testQueueVisibility(t *testing.T, b storage.Backend) {
	q := b.Queues()
	send(t, q, qA, t0, body("m"))
	msgs := receive(t, q, qA, t0, storage.ReceiveOptions{Max: 1, Visibility: 30 * time.Second})
	if len(msgs) != 1 {
		t.Fatalf("received %d, want 1", len(msgs))
	}
	first := msgs[0]
	for _, d := range []time.Duration{0, time.Second, 29 * time.Second} {
		if got := receive(t, q, qA, at(d), storage.ReceiveOptions{}); len(got) != 0 {
			t.Fatalf("message visible again %v after receive with 30s visibility", d)
		}
	}
	msgs = receive(t, q, qA, at(31*time.Second), storage.ReceiveOptions{Visibility: 10 * time.Second})
	if len(msgs) != 1 || msgs[0].ID != first.ID {
		t.Fatalf("after visibility timeout got %d messages, want the same one back", len(msgs))
	}
	second := msgs[0]
	if second.ReceiveCount != 2 {
		t.Fatalf("ReceiveCount = %d, want 2", second.ReceiveCount)
	}
	if second.Receipt == first.Receipt {
		t.Fatal("receipt did not change on re-receive")
	}
	eqTime(t, second.FirstReceivedAt, t0, "FirstReceivedAt keeps the first receive")
	eqTime(t, second.VisibleAt, at(41*time.Second), "VisibleAt")
	eqTime(t, second.SentAt, t0, "SentAt")

	// Max limits the batch; the rest stay receivable.
	for i := range 5 {
		send(t, q, qB, t0, body(fmt.Sprint("b", i)))
	}
	got := receive(t, q, qB, t0, storage.ReceiveOptions{Max: 2})
	if len(got) != 2 {
		t.Fatalf("Max 2 returned %d", len(got))
	}
	rest := receive(t, q, qB, t0, storage.ReceiveOptions{Max: 10})
	if len(rest) != 3 {
		t.Fatalf("second receive returned %d, want 3", len(rest))
	}
	all := append(sortedBodies(got), sortedBodies(rest)...)
	slices.Sort(all)
	eqStrings(t, all, []string{"b0", "b1", "b2", "b3", "b4"}, "all bodies once")
}

func testQueueSupersededReceipts(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	send(t, q, qA, t0, body("m"))
	r1 := receive(t, q, qA, t0, storage.ReceiveOptions{Max: 1, Visibility: 10 * time.Second})[0]
	r2 := receive(t, q, qA, at(11*time.Second), storage.ReceiveOptions{Max: 1, Visibility: 10 * time.Second})[0]
	if r1.ID != r2.ID || r1.Receipt == r2.Receipt {
		t.Fatalf("re-receive: ids %s/%s receipts %q/%q", r1.ID, r2.ID, r1.Receipt, r2.Receipt)
	}
	// The old receipt cannot change visibility...
	wantErr(t, q.ChangeVisibility(ctx, qA, r1.Receipt, at(12*time.Second), 0), storage.ErrInvalidReceipt, "change visibility with superseded receipt")
	// ...and deleting with it is accepted but does nothing.
	noErr(t, q.Delete(ctx, qA, r1.Receipt))
	if got := receive(t, q, qA, at(12*time.Second), storage.ReceiveOptions{}); len(got) != 0 {
		t.Fatal("superseded receipt changed visibility")
	}
	r3 := receive(t, q, qA, at(22*time.Second), storage.ReceiveOptions{Max: 1})
	if len(r3) != 1 || r3[0].ID != r1.ID {
		t.Fatal("delete with superseded receipt removed the message")
	}
	// The receipt in hand is current; r2 is now superseded too.
	noErr(t, q.Delete(ctx, qA, r2.Receipt))
	noErr(t, q.Delete(ctx, qA, r3[0].Receipt))
	if got := receive(t, q, qA, at(time.Hour), storage.ReceiveOptions{}); len(got) != 0 {
		t.Fatal("message still present after delete with current receipt")
	}
	wantErr(t, q.Delete(ctx, qA, r1.Receipt), storage.ErrInvalidReceipt, "receipt of a deleted message")
	wantErr(t, q.ChangeVisibility(ctx, qA, r3[0].Receipt, at(time.Hour), time.Second), storage.ErrInvalidReceipt, "change visibility of a deleted message")
}

// testQueueDeleteBatch checks that DeleteBatch answers each receipt as
// Delete would, one after another in order.
func testQueueDeleteBatch(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	if res, err := q.DeleteBatch(ctx, qA, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch: %v, %v", res, err)
	}
	send(t, q, qA, t0, body("m1"), body("m2"), body("m3"), body("m4"), body("m5"), body("m6"), body("m7"))
	send(t, q, qB, t0, body("other"))
	first := map[string]storage.Message{}
	for _, m := range receive(t, q, qA, t0, storage.ReceiveOptions{Max: 10, Visibility: 10 * time.Second}) {
		first[string(m.Body)] = m
	}
	other := receive(t, q, qB, t0, storage.ReceiveOptions{Max: 1})
	if len(first) != 7 || len(other) != 1 {
		t.Fatalf("received %d and %d messages, want 7 and 1", len(first), len(other))
	}
	// m4 and m5 are received again: their first receipts are superseded.
	again := map[string]storage.Message{}
	for _, m := range receive(t, q, qA, at(11*time.Second), storage.ReceiveOptions{Max: 10, Visibility: time.Minute}) {
		again[string(m.Body)] = m
	}
	if len(again) != 7 {
		t.Fatalf("received %d messages again, want 7", len(again))
	}
	// m3 is gone before the batch.
	noErr(t, q.Delete(ctx, qA, again["m3"].Receipt))

	now := at(12 * time.Second)
	receipts := []string{
		again["m1"].Receipt, // current: deleted
		again["m2"].Receipt, // current: deleted
		again["m1"].Receipt, // m1 was just deleted by this batch: invalid
		"not a receipt",     // invalid
		again["m3"].Receipt, // message deleted before: invalid
		first["m4"].Receipt, // superseded, m4 present: accepted, nothing happens
		first["m5"].Receipt, // superseded, m5 present: accepted...
		again["m5"].Receipt, // ...then the current one deletes m5
		again["m6"].Receipt, // current: deleted...
		first["m6"].Receipt, // ...so the superseded one that follows is invalid
		other[0].Receipt,    // a receipt of another queue: invalid here
	}
	want := []error{nil, nil, storage.ErrInvalidReceipt, storage.ErrInvalidReceipt, storage.ErrInvalidReceipt,
		nil, nil, nil, nil, storage.ErrInvalidReceipt, storage.ErrInvalidReceipt}
	res, err := q.DeleteBatch(ctx, qA, receipts)
	noErr(t, err)
	if len(res) != len(want) {
		t.Fatalf("DeleteBatch returned %d results for %d receipts", len(res), len(receipts))
	}
	for i := range want {
		if (want[i] == nil) != (res[i] == nil) || (want[i] != nil && !isErr(res[i], want[i])) {
			t.Fatalf("receipt %d: got %v, want %v", i, res[i], want[i])
		}
	}
	st := must(q.Stats(ctx, qA, now))(t)
	if st.InFlight != 2 || st.Visible != 0 {
		t.Fatalf("after the batch: %+v, want m4 and m7 in flight", st)
	}
	eqStrings(t, sortedBodies(receive(t, q, qA, at(2*time.Minute), storage.ReceiveOptions{})), []string{"m4", "m7"}, "left after the batch")
	eqStrings(t, bodies(receive(t, q, qB, at(2*time.Minute), storage.ReceiveOptions{})), []string{"other"}, "other queue untouched")
}

// testQueueSendHold checks messages sent as already received (Hold).
func testQueueSendHold(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	res := send(t, q, qA, t0,
		storage.SendRequest{Body: []byte("h1"), Attributes: []byte("a1"), Hold: 30 * time.Second},
		storage.SendRequest{Body: []byte("free"), Delay: time.Second},
		storage.SendRequest{Body: []byte("h2"), Hold: 30 * time.Second, Delay: time.Hour},
	)
	if res[0].Receipt == "" || res[2].Receipt == "" || res[1].Receipt != "" || res[0].Receipt == res[2].Receipt {
		t.Fatalf("receipts %q, %q, %q: want one for each held message only", res[0].Receipt, res[1].Receipt, res[2].Receipt)
	}
	st := must(q.Stats(ctx, qA, at(2*time.Second)))(t)
	if st.InFlight != 2 || st.Visible != 1 || st.Delayed != 0 {
		t.Fatalf("stats %+v: want the held messages in flight", st)
	}
	free := receive(t, q, qA, at(2*time.Second), storage.ReceiveOptions{Visibility: time.Minute})
	eqStrings(t, bodies(free), []string{"free"}, "receive while held")
	noErr(t, q.Delete(ctx, qA, free[0].Receipt))
	// The sender's receipts work as a receive's would.
	noErr(t, q.Delete(ctx, qA, res[0].Receipt))
	noErr(t, q.ChangeVisibility(ctx, qA, res[2].Receipt, at(3*time.Second), 0))
	got := receive(t, q, qA, at(3*time.Second), storage.ReceiveOptions{Visibility: 10 * time.Second})
	if len(got) != 1 || string(got[0].Body) != "h2" || got[0].ReceiveCount != 2 || !got[0].FirstReceivedAt.Equal(t0) {
		t.Fatalf("held message after ChangeVisibility 0: %+v", got)
	}
	// Received again: the sender's receipt is superseded.
	wantErr(t, q.ChangeVisibility(ctx, qA, res[2].Receipt, at(4*time.Second), time.Second), storage.ErrInvalidReceipt, "superseded held receipt")
	noErr(t, q.Delete(ctx, qA, got[0].Receipt))

	// With a dedup id: the first is held, a duplicate gets no receipt.
	d := storage.SendRequest{Body: []byte("d"), DedupID: "dd", DedupWindow: time.Minute, Hold: 30 * time.Second}
	first := send(t, q, qB, t0, d)[0]
	again := send(t, q, qB, t0, d)[0]
	if first.Receipt == "" || first.Duplicate || !again.Duplicate || again.Receipt != "" || again.ID != first.ID {
		t.Fatalf("dedup with hold: %+v then %+v", first, again)
	}
	noErr(t, q.Delete(ctx, qB, first.Receipt))

	// A held message the sender never finishes comes back when Hold ends.
	res = send(t, q, qA, at(time.Minute), storage.SendRequest{Body: []byte("h3"), Hold: 30 * time.Second})
	if got := receive(t, q, qA, at(time.Minute+29*time.Second), storage.ReceiveOptions{}); len(got) != 0 {
		t.Fatalf("held message received before its hold ended: %q", bodies(got))
	}
	got = receive(t, q, qA, at(time.Minute+30*time.Second), storage.ReceiveOptions{})
	if len(got) != 1 || string(got[0].Body) != "h3" || got[0].ReceiveCount != 2 || got[0].ID != res[0].ID {
		t.Fatalf("after the hold: %+v", got)
	}
}

// testQueueDeleteBatchConcurrentReceive deletes batches while other
// receivers run: every message is deleted exactly once, none is lost.
func testQueueDeleteBatchConcurrentReceive(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	const total, workers = 60, 4
	for i := 0; i < total; i += 10 {
		reqs := make([]storage.SendRequest, 10)
		for j := range reqs {
			reqs[j] = body(fmt.Sprint(i + j))
		}
		send(t, q, qA, t0, reqs...)
	}
	var (
		mu      sync.Mutex
		deleted = map[string]int{}
		failed  []string
		wg      sync.WaitGroup
		errc    = make(chan error, workers)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for empty := 0; empty < 3; {
				msgs, err := q.Receive(ctx, qA, t0, storage.ReceiveOptions{Max: 7, Visibility: time.Hour})
				if err != nil {
					errc <- err
					return
				}
				if len(msgs) == 0 {
					empty++
					continue
				}
				receipts := make([]string, len(msgs))
				for i, m := range msgs {
					receipts[i] = m.Receipt
				}
				res, err := q.DeleteBatch(ctx, qA, receipts)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				for i, m := range msgs {
					if res[i] != nil {
						failed = append(failed, fmt.Sprintf("%s: %v", m.Body, res[i]))
					}
					deleted[string(m.Body)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if len(failed) > 0 {
		t.Fatalf("current receipts refused: %v", failed)
	}
	if len(deleted) != total {
		t.Fatalf("deleted %d distinct messages, want %d", len(deleted), total)
	}
	for b, n := range deleted {
		if n != 1 {
			t.Fatalf("message %s received and deleted %d times", b, n)
		}
	}
	if st := must(q.Stats(ctx, qA, at(2*time.Hour)))(t); st.Visible+st.InFlight+st.Delayed != 0 {
		t.Fatalf("queue not empty after the batches: %+v", st)
	}
}

func testQueueChangeVisibility(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	send(t, q, qA, t0, body("m"))
	m := receive(t, q, qA, t0, storage.ReceiveOptions{Max: 1, Visibility: 30 * time.Second})[0]

	// Extend: still invisible past the original timeout.
	noErr(t, q.ChangeVisibility(ctx, qA, m.Receipt, at(10*time.Second), time.Minute))
	if got := receive(t, q, qA, at(40*time.Second), storage.ReceiveOptions{}); len(got) != 0 {
		t.Fatal("extended visibility did not hold")
	}
	got := receive(t, q, qA, at(71*time.Second), storage.ReceiveOptions{Max: 1, Visibility: 30 * time.Second})
	if len(got) != 1 {
		t.Fatal("message not visible after extended timeout")
	}
	m = got[0]

	// Zero makes it visible at once, keeping the receipt current until the
	// next receive.
	noErr(t, q.ChangeVisibility(ctx, qA, m.Receipt, at(72*time.Second), 0))
	got = receive(t, q, qA, at(72*time.Second), storage.ReceiveOptions{Max: 1, Visibility: 30 * time.Second})
	if len(got) != 1 || got[0].ReceiveCount != 3 {
		t.Fatalf("after ChangeVisibility(0): %d messages", len(got))
	}
	m = got[0]

	// Once the timeout is over (and nobody received it again), the receipt
	// is current but the message is not in flight.
	wantErr(t, q.ChangeVisibility(ctx, qA, m.Receipt, at(200*time.Second), time.Minute), storage.ErrNotInFlight, "change visibility of a visible message")
	// Deleting with it still works.
	noErr(t, q.Delete(ctx, qA, m.Receipt))

	// Receipts are bound to their queue.
	send(t, q, qB, t0, body("b"))
	mb := receive(t, q, qB, t0, storage.ReceiveOptions{Max: 1})[0]
	wantErr(t, q.ChangeVisibility(ctx, qA, mb.Receipt, t0, 0), storage.ErrInvalidReceipt, "receipt of another queue")
	wantErr(t, q.Delete(ctx, qA, mb.Receipt), storage.ErrInvalidReceipt, "delete with receipt of another queue")
	wantErr(t, q.ChangeVisibility(ctx, qA, "garbage", t0, 0), storage.ErrInvalidReceipt, "garbage receipt")
	noErr(t, q.Delete(ctx, qB, mb.Receipt))
}

func testQueueDelay(t *testing.T, b storage.Backend) {
	q := b.Queues()
	send(t, q, qA, t0,
		storage.SendRequest{Body: []byte("late"), Delay: 10 * time.Second},
		body("now"),
	)
	eqStrings(t, bodies(receive(t, q, qA, t0, storage.ReceiveOptions{Visibility: time.Hour})), []string{"now"}, "before the delay ends")
	if got := receive(t, q, qA, at(9*time.Second), storage.ReceiveOptions{}); len(got) != 0 {
		t.Fatalf("delayed message received early: %q", bodies(got))
	}
	got := receive(t, q, qA, at(11*time.Second), storage.ReceiveOptions{})
	eqStrings(t, bodies(got), []string{"late"}, "after the delay")
	if got[0].ReceiveCount != 1 {
		t.Fatalf("ReceiveCount = %d, want 1", got[0].ReceiveCount)
	}
	eqTime(t, got[0].SentAt, t0, "SentAt of delayed message")
}

func testQueueFIFO(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	fifo := func(max int) storage.ReceiveOptions {
		return storage.ReceiveOptions{Max: max, Visibility: time.Minute, FIFO: true}
	}
	for i, g := range []string{"A", "B", "A", "B", "A", "C"} {
		send(t, q, qA, at(time.Duration(i)*time.Millisecond), storage.SendRequest{Body: []byte(fmt.Sprint(g, i)), GroupID: g})
	}
	now := at(time.Second)
	// The oldest message first.
	first := receive(t, q, qA, now, fifo(1))
	eqStrings(t, bodies(first), []string{"A0"}, "first FIFO receive")
	// Group A is blocked while A0 is in flight: only B and C come out, in order.
	got := receive(t, q, qA, now, fifo(10))
	checkGroupOrder(t, got)
	eqStrings(t, sortedBodies(got), []string{"B1", "B3", "C5"}, "receive while A in flight")
	if r := receive(t, q, qA, now, fifo(10)); len(r) != 0 {
		t.Fatalf("all groups in flight, yet received %q", bodies(r))
	}
	// Deleting A0 unblocks A, whose messages come in order.
	noErr(t, q.Delete(ctx, qA, first[0].Receipt))
	got = receive(t, q, qA, now, fifo(10))
	eqStrings(t, bodies(got), []string{"A2", "A4"}, "group A after delete")

	// One group is blocked by any in-flight message, not only its head:
	// make A2 visible again while A4 is still in flight.
	noErr(t, q.ChangeVisibility(ctx, qA, got[0].Receipt, now, 0))
	if r := receive(t, q, qA, now, fifo(10)); len(r) != 0 {
		t.Fatalf("group A has A4 in flight, yet received %q", bodies(r))
	}
	noErr(t, q.ChangeVisibility(ctx, qA, got[1].Receipt, now, 0))
	got = receive(t, q, qA, now, fifo(1))
	eqStrings(t, bodies(got), []string{"A2"}, "group A head after both returned")

	// Many messages in several groups: a FIFO receive never returns a
	// group's messages out of order, and repeated receives (deleting each
	// batch) deliver every message exactly once, in order per group.
	for i := range 30 {
		g := fmt.Sprint("G", i%3)
		send(t, q, qB, at(time.Duration(i)*time.Millisecond), storage.SendRequest{Body: []byte(fmt.Sprintf("%s-%02d", g, i)), GroupID: g})
	}
	var order []string
	for round := 0; round < 40; round++ {
		batch := receive(t, q, qB, now, fifo(4))
		if len(batch) == 0 {
			break
		}
		checkGroupOrder(t, batch)
		for _, m := range batch {
			order = append(order, string(m.Body))
			noErr(t, q.Delete(ctx, qB, m.Receipt))
		}
	}
	if len(order) != 30 {
		t.Fatalf("delivered %d of 30 messages", len(order))
	}
	last := map[string]string{}
	for _, bd := range order {
		g := bd[:2]
		if bd <= last[g] {
			t.Fatalf("group %s delivered %s after %s", g, bd, last[g])
		}
		last[g] = bd
	}
}

// checkGroupOrder fails when a batch holds two messages of one group out of
// Seq order.
func checkGroupOrder(t *testing.T, msgs []storage.Message) {
	t.Helper()
	last := map[string]int64{}
	for _, m := range msgs {
		if s, ok := last[m.GroupID]; ok && m.Seq <= s {
			t.Fatalf("group %q out of order in batch %q", m.GroupID, bodies(msgs))
		}
		last[m.GroupID] = m.Seq
	}
}

func testQueueFIFOVisibilityExpiry(t *testing.T, b storage.Backend) {
	q := b.Queues()
	opts := storage.ReceiveOptions{Max: 1, Visibility: 10 * time.Second, FIFO: true}
	send(t, q, qA, t0,
		storage.SendRequest{Body: []byte("1"), GroupID: "g"},
		storage.SendRequest{Body: []byte("2"), GroupID: "g"},
	)
	eqStrings(t, bodies(receive(t, q, qA, t0, opts)), []string{"1"}, "first")
	if r := receive(t, q, qA, at(5*time.Second), opts); len(r) != 0 {
		t.Fatalf("group in flight, yet received %q", bodies(r))
	}
	// When the in-flight head's timeout ends, the head comes back, not the next one.
	got := receive(t, q, qA, at(11*time.Second), opts)
	eqStrings(t, bodies(got), []string{"1"}, "after timeout")
	if got[0].ReceiveCount != 2 {
		t.Fatalf("ReceiveCount = %d, want 2", got[0].ReceiveCount)
	}
}

func testQueueFIFODelayedHead(t *testing.T, b storage.Backend) {
	q := b.Queues()
	opts := storage.ReceiveOptions{Max: 10, Visibility: time.Minute, FIFO: true}
	// A delayed message is not delivered before later messages of its group
	// are: the group waits for its head.
	send(t, q, qA, t0, storage.SendRequest{Body: []byte("1"), GroupID: "g", Delay: 5 * time.Second})
	send(t, q, qA, at(time.Second), storage.SendRequest{Body: []byte("2"), GroupID: "g"})
	send(t, q, qA, at(time.Second), storage.SendRequest{Body: []byte("x"), GroupID: "other"})
	eqStrings(t, bodies(receive(t, q, qA, at(2*time.Second), opts)), []string{"x"}, "while head delayed")
	got := receive(t, q, qA, at(6*time.Second), opts)
	eqStrings(t, bodies(got), []string{"1", "2"}, "after head's delay")
}

// testQueueFIFOFillsGroupFirst: a FIFO receive returns as many messages of
// one group as it can (the group of the oldest receivable message first)
// and adds the next group's only when that group has fewer than asked for,
// as SQS does.
func testQueueFIFOFillsGroupFirst(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	fifo := func(max int) storage.ReceiveOptions {
		return storage.ReceiveOptions{Max: max, Visibility: time.Minute, FIFO: true}
	}
	sendOne := func(queue string, i int, bd string, delay time.Duration) {
		t.Helper()
		g, _, _ := strings.Cut(bd, "-")
		send(t, q, queue, at(time.Duration(i)*time.Millisecond), storage.SendRequest{Body: []byte(bd), GroupID: g, Delay: delay})
	}
	for i, bd := range []string{"g1-m1", "g2-m1", "g1-m2", "g3-m1", "g1-m3", "g2-m2"} {
		sendOne(qA, i, bd, 0)
	}
	now := at(time.Second)
	eqStrings(t, bodies(receive(t, q, qA, now, fifo(3))), []string{"g1-m1", "g1-m2", "g1-m3"}, "receive 3")
	eqStrings(t, bodies(receive(t, q, qA, now, fifo(10))), []string{"g2-m1", "g2-m2", "g3-m1"}, "receive 10")

	// A group ends its part of the batch at a delayed message; groups with
	// a message in flight are passed over; the batch then takes the next
	// groups' messages, each group whole before the next.
	for i, bd := range []string{"x-1", "h1-a", "h2-a", "h1-b", "h1-c", "h3-a", "h2-b"} {
		delay := time.Duration(0)
		if bd == "h1-b" {
			delay = time.Minute
		}
		sendOne(qB, i, bd, delay)
	}
	eqStrings(t, bodies(receive(t, q, qB, now, fifo(1))), []string{"x-1"}, "oldest group first")
	sendOne(qB, 10, "x-2", 0)
	eqStrings(t, bodies(receive(t, q, qB, now, fifo(4))), []string{"h1-a", "h2-a", "h2-b", "h3-a"}, "past a delayed and an in-flight group")
	if r := receive(t, q, qB, now, fifo(10)); len(r) != 0 {
		t.Fatalf("every group in flight or delayed, yet received %q", bodies(r))
	}

	// Dead-lettering the head of a group lets the rest of that group fill
	// the batch.
	const qC = "sqs/111/us-east-1/c"
	for i, bd := range []string{"p-1", "r-1", "p-2", "p-3"} {
		sendOne(qC, i, bd, 0)
	}
	first := receive(t, q, qC, now, storage.ReceiveOptions{Max: 1, Visibility: time.Second, FIFO: true})
	eqStrings(t, bodies(first), []string{"p-1"}, "first receive")
	later := now.Add(2 * time.Second)
	redrive := storage.ReceiveOptions{Max: 2, Visibility: time.Minute, FIFO: true, MaxReceives: 1, DeadLetter: qDLQ}
	eqStrings(t, bodies(receive(t, q, qC, later, redrive)), []string{"p-2", "p-3"}, "group after its dead-lettered head")
	eqStrings(t, bodies(receive(t, q, qDLQ, later, fifo(10))), []string{"p-1"}, "dead-letter queue")
	st := must(q.Stats(ctx, qC, later))(t)
	if st.Visible != 1 || st.InFlight != 2 {
		t.Fatalf("source stats after redrive %+v, want r-1 visible and p-2, p-3 in flight", st)
	}
}

func testQueueDedup(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	const window = 5 * time.Minute
	dd := func(bodyText, id string) storage.SendRequest {
		return storage.SendRequest{Body: []byte(bodyText), DedupID: id, DedupWindow: window, GroupID: "g"}
	}
	first := send(t, q, qA, t0, dd("one", "d1"))[0]
	if first.Duplicate {
		t.Fatal("first send marked duplicate")
	}
	dup := send(t, q, qA, at(time.Minute), dd("one again", "d1"))[0]
	if !dup.Duplicate || dup.ID != first.ID || dup.Seq != first.Seq {
		t.Fatalf("second send = %+v, want duplicate of %+v", dup, first)
	}
	// Within one batch too.
	batch := send(t, q, qA, at(time.Minute), dd("two", "d2"), dd("two again", "d2"), dd("one third", "d1"))
	if batch[0].Duplicate || !batch[1].Duplicate || batch[1].ID != batch[0].ID || !batch[2].Duplicate || batch[2].ID != first.ID {
		t.Fatalf("batch results %+v", batch)
	}
	// Other queues have their own dedup ids.
	if r := send(t, q, qB, at(time.Minute), dd("b", "d1"))[0]; r.Duplicate {
		t.Fatal("dedup id leaked across queues")
	}
	msgs := receive(t, q, qA, at(2*time.Minute), storage.ReceiveOptions{Max: 10})
	eqStrings(t, sortedBodies(msgs), []string{"one", "two"}, "stored messages")

	// Deleting the message does not end the dedup window.
	for _, m := range msgs {
		noErr(t, q.Delete(ctx, qA, m.Receipt))
	}
	if r := send(t, q, qA, at(4*time.Minute), dd("one late", "d1"))[0]; !r.Duplicate || r.ID != first.ID {
		t.Fatalf("send after delete inside window = %+v, want duplicate", r)
	}
	// After the window (counted from the first send) the id is new again.
	r := send(t, q, qA, at(window+time.Second), dd("one new", "d1"))[0]
	if r.Duplicate || r.ID == first.ID || r.Seq <= first.Seq {
		t.Fatalf("send after window = %+v, want a new message", r)
	}
	eqStrings(t, bodies(receive(t, q, qA, at(6*time.Minute), storage.ReceiveOptions{})), []string{"one new"}, "after window")
	// Messages without DedupID are never duplicates.
	a := send(t, q, qA, at(6*time.Minute), body("x"), body("x"))
	if a[0].Duplicate || a[1].Duplicate || a[0].ID == a[1].ID {
		t.Fatalf("sends without dedup id: %+v", a)
	}
}

func testQueueRedrive(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	opts := storage.ReceiveOptions{Max: 10, Visibility: 10 * time.Second, MaxReceives: 2, DeadLetter: qDLQ}
	sent := send(t, q, qA, t0, storage.SendRequest{Body: []byte("poison"), Attributes: []byte("attrs"), GroupID: "g"})[0]
	now := t0
	var lastReceipt string
	for i := 1; i <= 2; i++ {
		got := receive(t, q, qA, now, opts)
		if len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("receive %d: got %d messages", i, len(got))
		}
		lastReceipt = got[0].Receipt
		now = now.Add(11 * time.Second)
	}
	// A message sent later stays in the source queue.
	send(t, q, qA, now, body("fine"))
	// Third receive: the poison message has been received MaxReceives
	// times, so it moves to the dead-letter queue instead.
	got := receive(t, q, qA, now, opts)
	eqStrings(t, bodies(got), []string{"fine"}, "receive after max receives")
	wantErr(t, q.Delete(ctx, qA, lastReceipt), storage.ErrInvalidReceipt, "receipt of a redriven message")

	dl := receive(t, q, qDLQ, now, storage.ReceiveOptions{Max: 10})
	if len(dl) != 1 {
		t.Fatalf("dead-letter queue has %d messages, want 1", len(dl))
	}
	m := dl[0]
	if m.ID != sent.ID {
		t.Fatalf("dead-lettered message ID %q, want %q", m.ID, sent.ID)
	}
	eqBytes(t, m.Body, []byte("poison"), "DLQ body")
	eqBytes(t, m.Attributes, []byte("attrs"), "DLQ attributes")
	eqTime(t, m.SentAt, t0, "DLQ SentAt")
	if m.GroupID != "g" {
		t.Fatalf("DLQ GroupID %q, want g", m.GroupID)
	}
	st := must(q.Stats(ctx, qA, now))(t)
	if st.Visible+st.InFlight+st.Delayed != 1 {
		t.Fatalf("source stats %+v, want one message", st)
	}

	// Without DeadLetter, MaxReceives has no effect.
	send(t, q, qB, t0, body("keep"))
	for i := 1; i <= 4; i++ {
		got := receive(t, q, qB, t0.Add(time.Duration(i)*time.Minute), storage.ReceiveOptions{Max: 1, MaxReceives: 1})
		if len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("receive %d without DeadLetter: %d messages", i, len(got))
		}
	}
}

// testQueueRedriveKeepsReceiveCount: a message moved to the dead-letter
// queue by MaxReceives keeps its ReceiveCount and FirstReceivedAt (SQS
// counts receives across queues: its first receive from the DLQ reports
// MaxReceives+1), on standard and FIFO receives; Move (message move tasks)
// starts messages afresh.
func testQueueRedriveKeepsReceiveCount(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	for _, fifo := range []bool{false, true} {
		src, dlq, back := qA, qDLQ, qB
		group := ""
		if fifo {
			src, dlq, back, group = src+".fifo", dlq+".fifo", back+".fifo", "g"
		}
		opts := storage.ReceiveOptions{Max: 10, Visibility: 10 * time.Second, FIFO: fifo, MaxReceives: 2, DeadLetter: dlq}
		sent := send(t, q, src, t0, storage.SendRequest{Body: []byte("poison"), GroupID: group})[0]
		firstAt := at(time.Second)
		for i, now := range []time.Time{firstAt, at(12 * time.Second)} {
			got := receive(t, q, src, now, opts)
			if len(got) != 1 || got[0].ReceiveCount != i+1 {
				t.Fatalf("fifo=%v: receive %d got %d messages", fifo, i+1, len(got))
			}
		}
		if got := receive(t, q, src, at(24*time.Second), opts); len(got) != 0 {
			t.Fatalf("fifo=%v: message past MaxReceives delivered: %q", fifo, bodies(got))
		}
		dl := receive(t, q, dlq, at(25*time.Second), storage.ReceiveOptions{Max: 10, Visibility: time.Second, FIFO: fifo})
		if len(dl) != 1 || dl[0].ID != sent.ID {
			t.Fatalf("fifo=%v: dead-letter queue holds %q", fifo, bodies(dl))
		}
		if dl[0].ReceiveCount != 3 || dl[0].GroupID != group {
			t.Fatalf("fifo=%v: dead-lettered ReceiveCount %d group %q, want 3 and %q", fifo, dl[0].ReceiveCount, dl[0].GroupID, group)
		}
		eqTime(t, dl[0].FirstReceivedAt, firstAt, "dead-lettered FirstReceivedAt")
		eqTime(t, dl[0].SentAt, t0, "dead-lettered SentAt")

		// Moved on (a move task): a new message as far as receives go.
		if n := must(q.Move(ctx, dlq, back, at(30*time.Second), 10))(t); n != 1 {
			t.Fatalf("fifo=%v: moved %d, want 1", fifo, n)
		}
		again := receive(t, q, back, at(31*time.Second), storage.ReceiveOptions{Max: 10, FIFO: fifo})
		if len(again) != 1 || again[0].ReceiveCount != 1 {
			t.Fatalf("fifo=%v: after move %d messages, ReceiveCount %v", fifo, len(again), again)
		}
		eqTime(t, again[0].FirstReceivedAt, at(31*time.Second), "FirstReceivedAt after move")
	}
}

func testQueueMove(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	var ids []string
	for i := range 5 {
		r := send(t, q, qA, at(time.Duration(i)*time.Second), storage.SendRequest{Body: []byte(fmt.Sprint("m", i)), Attributes: []byte(fmt.Sprint("a", i))})
		ids = append(ids, r[0].ID)
	}
	now := at(time.Minute)
	if n := must(q.Move(ctx, qDLQ, qA, now, 10))(t); n != 0 {
		t.Fatalf("move from empty queue moved %d", n)
	}
	n := must(q.Move(ctx, qA, qB, now, 3))(t)
	if n != 3 {
		t.Fatalf("moved %d, want 3", n)
	}
	sa := must(q.Stats(ctx, qA, now))(t)
	sb := must(q.Stats(ctx, qB, now))(t)
	if sa.Visible != 2 || sb.Visible != 3 {
		t.Fatalf("after move: source %+v, destination %+v", sa, sb)
	}
	n = must(q.Move(ctx, qA, qB, now, 10))(t)
	if n != 2 {
		t.Fatalf("second move moved %d, want 2", n)
	}
	got := receive(t, q, qB, now, storage.ReceiveOptions{Max: 10})
	if len(got) != 5 {
		t.Fatalf("destination has %d messages, want 5", len(got))
	}
	slices.SortFunc(got, func(x, y storage.Message) int { return x.SentAt.Compare(y.SentAt) })
	for i, m := range got {
		if m.ID != ids[i] {
			t.Fatalf("moved message %d has ID %q, want %q", i, m.ID, ids[i])
		}
		eqBytes(t, m.Body, []byte(fmt.Sprint("m", i)), "moved body")
		eqBytes(t, m.Attributes, []byte(fmt.Sprint("a", i)), "moved attributes")
		eqTime(t, m.SentAt, at(time.Duration(i)*time.Second), "moved SentAt")
	}
	if r := receive(t, q, qA, at(time.Hour), storage.ReceiveOptions{}); len(r) != 0 {
		t.Fatalf("source still holds %q", bodies(r))
	}
}

func testQueueExpire(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	send(t, q, qA, t0, body("old"))
	send(t, q, qA, at(time.Minute), body("mid"))
	send(t, q, qA, at(2*time.Minute), body("new"))
	send(t, q, qB, t0, body("other queue"))
	// In-flight messages expire too.
	receive(t, q, qA, at(2*time.Minute), storage.ReceiveOptions{Max: 1, Visibility: time.Hour})
	n := must(q.Expire(ctx, qA, at(90*time.Second)))(t)
	if n != 2 {
		t.Fatalf("expired %d, want 2", n)
	}
	n = must(q.Expire(ctx, qA, at(90*time.Second)))(t)
	if n != 0 {
		t.Fatalf("second expire removed %d, want 0", n)
	}
	got := receive(t, q, qA, at(3*time.Hour), storage.ReceiveOptions{})
	eqStrings(t, bodies(got), []string{"new"}, "after expire")
	eqStrings(t, bodies(receive(t, q, qB, at(3*time.Hour), storage.ReceiveOptions{})), []string{"other queue"}, "other queue after expire")
}

func testQueuePurgeDrop(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	dd := storage.SendRequest{Body: []byte("d"), DedupID: "x", DedupWindow: time.Hour}
	send(t, q, qA, t0, body("1"), body("2"), dd)
	send(t, q, qB, t0, body("b"))
	receive(t, q, qA, t0, storage.ReceiveOptions{Max: 1})
	noErr(t, q.Purge(ctx, qA))
	st := must(q.Stats(ctx, qA, t0))(t)
	if st != (storage.QueueStats{}) {
		t.Fatalf("stats after purge = %+v, want zero", st)
	}
	if r := receive(t, q, qA, at(time.Hour), storage.ReceiveOptions{}); len(r) != 0 {
		t.Fatalf("purged queue returned %q", bodies(r))
	}
	if r := receive(t, q, qB, t0, storage.ReceiveOptions{}); len(r) != 1 {
		t.Fatal("purge touched another queue")
	}
	noErr(t, q.Purge(ctx, "sqs/never/used"))

	// Drop also forgets dedup ids.
	send(t, q, qA, t0, body("1"))
	noErr(t, q.Drop(ctx, qA))
	if r := receive(t, q, qA, at(time.Hour), storage.ReceiveOptions{}); len(r) != 0 {
		t.Fatalf("dropped queue returned %q", bodies(r))
	}
	if r := send(t, q, qA, at(time.Minute), dd)[0]; r.Duplicate {
		t.Fatal("dedup id survived Drop")
	}
	noErr(t, q.Drop(ctx, "sqs/never/used"))
}

func testQueueStats(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	st := must(q.Stats(ctx, qA, t0))(t)
	if st != (storage.QueueStats{}) {
		t.Fatalf("empty queue stats = %+v", st)
	}
	send(t, q, qA, at(time.Second), body("1"), body("2"))
	send(t, q, qA, at(2*time.Second), body("3"), storage.SendRequest{Body: []byte("d"), Delay: time.Minute})
	now := at(3 * time.Second)
	receive(t, q, qA, now, storage.ReceiveOptions{Max: 1, Visibility: 30 * time.Second})
	want := storage.QueueStats{Visible: 2, InFlight: 1, Delayed: 1, OldestSentAt: at(time.Second)}
	st = must(q.Stats(ctx, qA, now))(t)
	if st.Visible != want.Visible || st.InFlight != want.InFlight || st.Delayed != want.Delayed || !st.OldestSentAt.Equal(want.OldestSentAt) {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	// The in-flight message is visible again after its timeout, and the
	// delayed one once its delay has passed.
	st = must(q.Stats(ctx, qA, at(40*time.Second)))(t)
	if st.Visible != 3 || st.InFlight != 0 || st.Delayed != 1 {
		t.Fatalf("stats after timeout = %+v", st)
	}
	st = must(q.Stats(ctx, qA, at(2*time.Minute)))(t)
	if st.Visible != 4 || st.InFlight != 0 || st.Delayed != 0 {
		t.Fatalf("stats after delay = %+v", st)
	}
}

func testQueueNotify(t *testing.T, b storage.Backend) {
	q := b.Queues()
	ch := q.Notify(qA)
	other := q.Notify(qB)
	select {
	case <-ch:
		t.Fatal("notify channel closed before any send")
	default:
	}
	send(t, q, qA, t0, body("m"))
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("notify channel not closed within 10s of a send")
	}
	select {
	case <-other:
		t.Fatal("send to one queue woke waiters of another")
	default:
	}
	// Each Notify call watches for the next send.
	ch2 := q.Notify(qA)
	send(t, q, qA, t0, body("m2"))
	select {
	case <-ch2:
	case <-time.After(10 * time.Second):
		t.Fatal("second notify channel not closed")
	}
}

func testQueueIsolation(t *testing.T, b storage.Backend) {
	q := b.Queues()
	send(t, q, qA, t0, body("a"))
	send(t, q, qB, t0, body("b"))
	send(t, q, qA+"x", t0, body("ax"))
	eqStrings(t, bodies(receive(t, q, qA, t0, storage.ReceiveOptions{})), []string{"a"}, "queue a")
	eqStrings(t, bodies(receive(t, q, qB, t0, storage.ReceiveOptions{})), []string{"b"}, "queue b")
}

func testQueueConcurrentReceivers(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	q := b.Queues()
	const total, workers = 120, 8
	for i := 0; i < total; i += 10 {
		reqs := make([]storage.SendRequest, 10)
		for j := range reqs {
			reqs[j] = body(fmt.Sprint(i + j))
		}
		send(t, q, qA, t0, reqs...)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
		errc = make(chan error, workers)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			empty := 0
			for empty < 3 {
				msgs, err := q.Receive(ctx, qA, t0, storage.ReceiveOptions{Max: 3, Visibility: time.Hour})
				if err != nil {
					errc <- err
					return
				}
				if len(msgs) == 0 {
					empty++
					continue
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("concurrent receive: %v", err)
	}
	if len(seen) != total {
		t.Fatalf("receivers got %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s handed out %d times within its visibility timeout", id, n)
		}
	}
	st := must(q.Stats(ctx, qA, t0))(t)
	if st.InFlight != total || st.Visible != 0 {
		t.Fatalf("stats after concurrent receive = %+v", st)
	}

	// The same for FIFO receivers, in rounds: all receivers call Receive at
	// once, nothing is deleted until every receiver has returned, so a
	// group may appear in at most one batch per round; each group's
	// messages must come out exactly once and in order. Message i belongs
	// to group i%groups.
	const fifoTotal, groups = 150, 5
	for i := range fifoTotal {
		send(t, q, qB, t0, storage.SendRequest{Body: []byte(fmt.Sprint(i)), GroupID: fmt.Sprint("g", i%groups)})
	}
	got := map[int]bool{}
	next := map[int]int{} // group -> next message number expected
	for g := range groups {
		next[g] = g
	}
	for round := 0; len(got) < fifoTotal; round++ {
		if round > fifoTotal {
			t.Fatalf("FIFO receivers stalled after %d of %d messages", len(got), fifoTotal)
		}
		batches := make([][]storage.Message, workers)
		errs := make([]error, workers)
		start := make(chan struct{})
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				batches[w], errs[w] = q.Receive(ctx, qB, t0, storage.ReceiveOptions{Max: 3, Visibility: time.Hour, FIFO: true})
			}()
		}
		close(start)
		wg.Wait()
		holder := map[int]int{} // group -> receiver holding it this round
		for w, batch := range batches {
			noErr(t, errs[w])
			for _, m := range batch {
				var i int
				fmt.Sscan(string(m.Body), &i)
				g := i % groups
				if h, ok := holder[g]; ok && h != w {
					t.Fatalf("round %d: group %d handed to receivers %d and %d at once", round, g, h, w)
				}
				holder[g] = w
				if got[i] {
					t.Fatalf("FIFO message %d handed out twice", i)
				}
				got[i] = true
				if i != next[g] {
					t.Fatalf("FIFO group %d delivered message %d, want %d next", g, i, next[g])
				}
				next[g] += groups
			}
		}
		for _, batch := range batches {
			for _, m := range batch {
				noErr(t, q.Delete(ctx, qB, m.Receipt))
			}
		}
	}
}
