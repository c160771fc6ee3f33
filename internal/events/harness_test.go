package events

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage/sqlstore"
)

// fakeSQS records messages per queue ARN and fails sends to queues in fail.
type fakeSQS struct {
	mu     sync.Mutex
	msgs   map[string][]SQSMessage
	fail   map[string]error
	tries  map[string]int
	signal chan struct{}
}

func newFakeSQS() *fakeSQS {
	return &fakeSQS{msgs: map[string][]SQSMessage{}, fail: map[string]error{}, tries: map[string]int{}, signal: make(chan struct{}, 1024)}
}

func (f *fakeSQS) SendEventsMessage(_ context.Context, m SQSMessage) (string, error) {
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		select {
		case f.signal <- struct{}{}:
		default:
		}
	}()
	f.tries[m.QueueARN]++
	if err := f.fail[m.QueueARN]; err != nil {
		return "", err
	}
	f.msgs[m.QueueARN] = append(f.msgs[m.QueueARN], m)
	return "id", nil
}

func (f *fakeSQS) setFail(arn string, err error) {
	f.mu.Lock()
	f.fail[arn] = err
	f.mu.Unlock()
}

func (f *fakeSQS) get(arn string) []SQSMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SQSMessage(nil), f.msgs[arn]...)
}

func (f *fakeSQS) attempts(arn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[arn]
}

// waitFor polls cond (wall time) until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type harness struct {
	t     testing.TB
	svc   *Service
	sqs   *fakeSQS
	clock *clock.Scaled
	store *sqlstore.Store
	dir   string
	// sender replaces the fake SQS when set; shards overrides the 4 shards.
	sender SQSSender
	// lambda invokes function targets; nil: no function exists.
	lambda LambdaInvoker
	shards int
	// reg holds the service's metrics (a new registry on every open).
	reg *prometheus.Registry
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, sqs: newFakeSQS(), clock: clock.NewManual(t0), dir: t.TempDir()}
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), h.dir, sqlstore.Options{Sync: "off"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = st
	var sender SQSSender = h.sqs
	if h.sender != nil {
		sender = h.sender
	}
	shards := 4
	if h.shards > 0 {
		shards = h.shards
	}
	h.reg = prometheus.NewRegistry()
	h.svc = New(Deps{Meta: st.Meta(), Queues: st.Queues(), Logs: st.Logs(), Clock: h.clock, IDs: ids.New(0), SQS: sender, Lambda: h.lambda, DataDir: h.dir, Shards: shards, Registerer: h.reg})
	if err := h.svc.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.close)
}

func (h *harness) close() {
	if h.svc != nil {
		h.svc.Close()
		h.store.Close()
		h.svc = nil
	}
}

// restart closes the service and storage and opens them again on the same
// data directory.
func (h *harness) restart() {
	h.close()
	h.open()
}

// call runs an operation as account acct in us-east-1.
func (h *harness) callAs(acct, op string, in any) (json.RawMessage, error) {
	h.t.Helper()
	return h.callOn(h.svc, acct, op, in)
}

// secondNode starts another Service on the same storage, as a second
// Fogbank node sharing a distributed back end would be.
func (h *harness) secondNode() *Service {
	h.t.Helper()
	svc := New(Deps{Meta: h.store.Meta(), Queues: h.store.Queues(), Logs: h.store.Logs(), Clock: h.clock, IDs: ids.New(1), SQS: h.sqs, DataDir: h.dir, Shards: 4})
	if err := svc.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { svc.Close() }) // runs before the store closes
	return svc
}

// callOn runs an operation on svc as account acct in us-east-1.
func (h *harness) callOn(svc *Service, acct, op string, in any) (json.RawMessage, error) {
	h.t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &service.Call{Account: acct, Region: "us-east-1", Operation: op, Identity: service.Identity{ARN: "arn:aws:iam::" + acct + ":root"}}
	o, ok := svc.ops[op]
	if !ok {
		h.t.Fatalf("no operation %s", op)
	}
	out, err := o.h(context.Background(), c, body)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(out)
	return raw, nil
}

func (h *harness) call(op string, in any) json.RawMessage {
	h.t.Helper()
	out, err := h.callAs("111111111111", op, in)
	if err != nil {
		h.t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (h *harness) callErr(op string, in any) *protocol.Error {
	h.t.Helper()
	_, err := h.callAs("111111111111", op, in)
	pe, ok := err.(*protocol.Error)
	if !ok {
		h.t.Fatalf("%s: err = %v, want *protocol.Error", op, err)
	}
	return pe
}

// settle waits until every shard is idle (no visible or in-flight task).
func (h *harness) idle() bool {
	for _, sh := range h.svc.shards {
		st, err := h.store.Queues().Stats(context.Background(), sh.queue, h.clock.Now())
		if err != nil || st.Visible+st.InFlight > 0 {
			return false
		}
	}
	return true
}
