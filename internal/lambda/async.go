package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/storage"
)

// SQSAttribute is a typed SQS message attribute.
type SQSAttribute struct {
	DataType    string
	StringValue string
}

// SQSMessage is one message received from SQS through SQSClient.
type SQSMessage struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes are the system attributes (ApproximateReceiveCount,
	// SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, ...).
	Attributes        map[string]string
	MessageAttributes map[string]SQSAttribute
	// MD5OfMessageAttributes is empty when there are none.
	MD5OfMessageAttributes string
}

// SQSClient is what Lambda needs from the SQS service: event source
// mappings receive, delete and change visibility; destinations and
// dead-letter queues send. Queues are named by ARN; errors for a queue
// that does not exist should wrap ErrQueueNotFound.
type SQSClient interface {
	ReceiveInternal(ctx context.Context, queueARN string, max int, visibility time.Duration) ([]SQSMessage, error)
	DeleteInternal(ctx context.Context, queueARN, receipt string) error
	ChangeVisibilityInternal(ctx context.Context, queueARN, receipt string, v time.Duration) error
	QueueAttributesInternal(ctx context.Context, queueARN string) (map[string]string, error)
	SendInternal(ctx context.Context, queueARN, body string, attrs map[string]SQSAttribute) (string, error)
}

// ErrQueueNotFound is what SQSClient errors wrap for a missing queue.
var ErrQueueNotFound = errors.New("lambda: queue does not exist")

// asyncVisibility is how long a dequeued async event stays invisible on the
// server clock while it is being invoked. Invocations run in real time, so
// on a heavily accelerated clock a long invocation may outlive it and the
// event may be delivered twice (at-least-once, as in Lambda).
const asyncVisibility = 16 * time.Minute

// asyncPoll is the longest a worker sleeps (server clock) before looking
// for delayed retries.
const asyncPoll = time.Second

// Retry delays of function errors, as Lambda documents them.
var retryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// asyncEvent is one queued asynchronous invocation.
type asyncEvent struct {
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Name      string    `json:"name"`
	Qualifier string    `json:"qualifier,omitempty"`
	Payload   []byte    `json:"payload"`
	RequestID string    `json:"requestId"`
	Attempt   int       `json:"attempt"` // invocations so far
	Queued    time.Time `json:"queued"`
	// Throttles counts platform retries (throttles, errors) for back-off.
	Throttles int `json:"throttles,omitempty"`
}

// asyncEngine moves Event invocations through durable queues
// ("lambda/async/NN"). Each function hashes to two shards and an event goes
// to the shorter of the two (shuffle sharding), so one busy function delays
// only the functions that share both of its shards.
type asyncEngine struct {
	s      *Service
	shards []string
	wg     sync.WaitGroup
}

func newAsyncEngine(s *Service) *asyncEngine {
	e := &asyncEngine{s: s}
	for i := range s.cfg.AsyncShards {
		e.shards = append(e.shards, fmt.Sprintf("lambda/async/%02d", i))
	}
	return e
}

func (e *asyncEngine) shardsFor(key string) (string, string) {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	n := uint64(len(e.shards))
	a := v % n
	b := (v / n) % n
	if b == a {
		b = (a + 1) % n
	}
	return e.shards[a], e.shards[b]
}

// enqueue durably queues an event (the 202 is sent after this returns).
func (e *asyncEngine) enqueue(ctx context.Context, res resolved, payload []byte, reqID, _ string) error {
	ev := asyncEvent{Account: res.ref.Account, Region: res.ref.Region, Name: res.ref.Name, Qualifier: res.ref.Qualifier,
		Payload: payload, RequestID: reqID, Queued: e.s.deps.Clock.Now()}
	e.s.m.asyncReceived.WithLabelValues(res.ref.Name).Inc()
	return e.send(ctx, ev, 0)
}

func (e *asyncEngine) send(ctx context.Context, ev asyncEvent, delay time.Duration) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("lambda: encode async event: %w", err)
	}
	q := e.pick(ctx, ev.Account+"/"+ev.Region+"/"+ev.Name)
	now := e.s.deps.Clock.Now()
	if _, err := e.s.deps.Queues.Send(ctx, q, now, []storage.SendRequest{{Body: body, Delay: delay}}); err != nil {
		return fmt.Errorf("lambda: queue async event: %w", err)
	}
	return nil
}

func (e *asyncEngine) pick(ctx context.Context, key string) string {
	a, b := e.shardsFor(key)
	now := e.s.deps.Clock.Now()
	sa, errA := e.s.deps.Queues.Stats(ctx, a, now)
	sb, errB := e.s.deps.Queues.Stats(ctx, b, now)
	if errA == nil && errB == nil && sb.Visible+sb.InFlight < sa.Visible+sa.InFlight {
		return b
	}
	return a
}

func (e *asyncEngine) start() {
	for i := range e.s.cfg.AsyncWorkers {
		e.wg.Add(1)
		go e.worker(i)
	}
}

func (e *asyncEngine) wait() { e.wg.Wait() }

func (e *asyncEngine) worker(i int) {
	defer e.wg.Done()
	ctx := e.s.ctx
	q := e.s.deps.Queues
	n := len(e.shards)
	for ctx.Err() == nil {
		did := false
		for j := range n {
			shard := e.shards[(i+j)%n]
			msgs, err := q.Receive(ctx, shard, e.s.deps.Clock.Now(), storage.ReceiveOptions{Max: 1, Visibility: asyncVisibility})
			if err != nil {
				if ctx.Err() == nil {
					e.s.log.Warn("lambda: receive async events", "queue", shard, "err", err)
				}
				continue
			}
			for _, m := range msgs {
				did = true
				e.process(ctx, shard, m)
			}
		}
		if did {
			continue
		}
		// Wait for a send to any shard, or for the clock to move on.
		wake := make(chan struct{})
		stop := make(chan struct{})
		for _, sh := range e.shards {
			go func(c <-chan struct{}) {
				select {
				case <-c:
					select {
					case wake <- struct{}{}:
					default:
					}
				case <-stop:
				}
			}(q.Notify(sh))
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-e.s.deps.Clock.After(ctx, asyncPoll):
		}
		close(stop)
	}
}

// process runs one queued event and settles it: delete, retry later, or
// hand it to the failure destinations.
func (e *asyncEngine) process(ctx context.Context, shard string, m storage.Message) {
	s := e.s
	q := s.deps.Queues
	var ev asyncEvent
	if err := json.Unmarshal(m.Body, &ev); err != nil {
		s.log.Error("lambda: drop malformed async event", "err", err)
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	ref := fnRef{Account: ev.Account, Region: ev.Region, Name: ev.Name, Qualifier: ev.Qualifier}
	res, err := s.resolveHot(ctx, ref)
	if err != nil {
		// The function (or qualifier) is gone: nothing can run it.
		s.m.asyncDropped.WithLabelValues(ev.Name, "FunctionDeleted").Inc()
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	eqQual := ref.Qualifier
	if eqQual == "" {
		eqQual = latest
	}
	ec, _, err := hotJSON[eventConfig](ctx, s.meta, nsEventConfig, ref.key()+"/"+eqQual)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		_ = q.ChangeVisibility(ctx, shard, m.Receipt, s.deps.Clock.Now(), asyncPoll)
		return
	}
	now := s.deps.Clock.Now()
	age := now.Sub(ev.Queued)
	if age > ec.maxAge() {
		s.m.asyncDropped.WithLabelValues(ev.Name, "EventAgeExceeded").Inc()
		e.fail(ctx, res, ec, ev, "EventAgeExceeded", nil)
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	s.m.asyncAge.WithLabelValues(ev.Name).Observe(age.Seconds())
	if err := s.pickVersion(ctx, &res); err != nil {
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	out, err := s.run(ctx, res, ev.Payload, invokeOpts{requestID: ev.RequestID})
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the event becomes visible again after its visibility timeout
		}
		// Throttles and platform errors are retried with back-off (1 s
		// doubling, at most 5 min) until the event is too old.
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == "ResourceConflictException" || errors.As(err, &pe) && pe.Code == "TooManyRequestsException" || !errors.As(err, &pe) {
			ev.Throttles++
			backoff := min(time.Second<<min(ev.Throttles, 9), 5*time.Minute)
			if err := e.send(ctx, ev, backoff); err == nil {
				_ = q.Delete(ctx, shard, m.Receipt)
			}
			return
		}
		s.log.Warn("lambda: async invoke failed", "function", ev.Name, "err", err)
		e.fail(ctx, res, ec, ev, "RetriesExhausted", nil)
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	ev.Attempt++
	if out.FunctionError == "" {
		if ec.OnSuccess != "" {
			rec := e.record(res, ev, "Success", out.ExecutedVersion, out.FunctionError, out.Payload)
			if err := e.deliver(ctx, res, ev, ec.OnSuccess, rec, true); err != nil {
				s.m.destFailures.WithLabelValues(ev.Name).Inc()
				s.log.Warn("lambda: OnSuccess delivery failed", "function", ev.Name, "destination", ec.OnSuccess, "err", err)
			}
		}
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	if ev.Attempt <= ec.retries() {
		delay := retryDelays[min(ev.Attempt-1, len(retryDelays)-1)]
		if err := e.send(ctx, ev, delay); err != nil {
			s.log.Warn("lambda: requeue async event", "function", ev.Name, "err", err)
			return // redelivered after the visibility timeout
		}
		_ = q.Delete(ctx, shard, m.Receipt)
		return
	}
	e.fail(ctx, res, ec, ev, "RetriesExhausted", &out)
	_ = q.Delete(ctx, shard, m.Receipt)
}

// fail delivers an event that will not be retried to OnFailure and the
// DLQ; out is the last invocation's result, nil when none ran.
func (e *asyncEngine) fail(ctx context.Context, res resolved, ec eventConfig, ev asyncEvent, condition string, out *funcrt.Result) {
	s := e.s
	var execVer, fnErr string
	var payload []byte
	if out != nil {
		execVer, fnErr, payload = out.ExecutedVersion, out.FunctionError, out.Payload
	}
	if ec.OnFailure != "" {
		rec := e.record(res, ev, condition, execVer, fnErr, payload)
		if err := e.deliver(ctx, res, ev, ec.OnFailure, rec, false); err != nil {
			s.m.destFailures.WithLabelValues(ev.Name).Inc()
			s.log.Warn("lambda: OnFailure delivery failed", "function", ev.Name, "destination", ec.OnFailure, "err", err)
		}
	}
	if dlq := res.cfg.DLQTarget; dlq != "" {
		if err := e.deadLetter(ctx, dlq, ev, payload); err != nil {
			s.m.dlqErrors.WithLabelValues(ev.Name).Inc()
			s.log.Warn("lambda: dead-letter delivery failed", "function", ev.Name, "dlq", dlq, "err", err)
		}
	}
}

// recordFunctionARN is the qualified function ARN an invocation record
// names ($LATEST for an unqualified invocation).
func recordFunctionARN(res resolved, ev asyncEvent) string {
	qual := ev.Qualifier
	if qual == "" {
		qual = latest
	}
	return res.ref.arn() + ":" + qual
}

// record builds Lambda's invocation record for destinations.
func (e *asyncEngine) record(res resolved, ev asyncEvent, condition, execVer, fnErr string, payload []byte) []byte {
	rc := map[string]any{"requestId": ev.RequestID, "functionArn": recordFunctionARN(res, ev),
		"condition": condition, "approximateInvokeCount": ev.Attempt}
	var reqPayload any = json.RawMessage(ev.Payload)
	if !json.Valid(ev.Payload) {
		reqPayload = string(ev.Payload)
	}
	rec := map[string]any{
		"version":        "1.0",
		"timestamp":      e.s.deps.Clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": rc,
		"requestPayload": reqPayload,
	}
	if execVer != "" {
		resp := map[string]any{"statusCode": 200, "executedVersion": execVer}
		if fnErr != "" {
			resp["functionError"] = fnErr
		}
		rec["responseContext"] = resp
		if json.Valid(payload) {
			rec["responsePayload"] = json.RawMessage(payload)
		} else if len(payload) > 0 {
			rec["responsePayload"] = string(payload)
		}
	}
	b, _ := json.Marshal(rec)
	return b
}

// deliver sends an invocation record to a destination; success selects
// the EventBridge detail type.
func (e *asyncEngine) deliver(ctx context.Context, res resolved, ev asyncEvent, dest string, rec []byte, success bool) error {
	svc, _, _, _, _ := parseARN(dest)
	switch svc {
	case "sqs":
		if e.s.deps.SQS == nil {
			return ErrQueueNotFound
		}
		_, err := e.s.deps.SQS.SendInternal(ctx, dest, string(rec), nil)
		return err
	case "lambda":
		_, err := e.s.InvokeInternal(ctx, dest, rec, true)
		return err
	case "events":
		return e.putDestinationEvent(ctx, res, dest, recordFunctionARN(res, ev), rec, success)
	default:
		// SNS destinations need that service's internal API, which Lambda
		// is not wired to yet: delivery fails as AWS's does for a target
		// it cannot reach.
		return fmt.Errorf("lambda: destination %s: service %q not reachable", dest, svc)
	}
}

// deadLetter sends the original event to the function's DLQ with Lambda's
// RequestID/ErrorCode/ErrorMessage attributes.
func (e *asyncEngine) deadLetter(ctx context.Context, dlq string, ev asyncEvent, errPayload []byte) error {
	svc, _, _, _, _ := parseARN(dlq)
	if svc != "sqs" || e.s.deps.SQS == nil {
		return fmt.Errorf("lambda: dead-letter target %s not reachable", dlq)
	}
	msg := ""
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(errPayload, &doc) == nil {
		msg = doc.ErrorMessage
	}
	attrs := map[string]SQSAttribute{
		"RequestID":    {DataType: "String", StringValue: ev.RequestID},
		"ErrorCode":    {DataType: "Number", StringValue: "200"},
		"ErrorMessage": {DataType: "String", StringValue: msg},
	}
	if msg == "" {
		delete(attrs, "ErrorMessage")
	}
	_, err := e.s.deps.SQS.SendInternal(ctx, dlq, string(ev.Payload), attrs)
	return err
}
