package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/trail"
)

const targetPrefix = "AWSEvents"

// SQSMessage is one message EventBridge sends to an SQS queue.
type SQSMessage struct {
	QueueARN string
	Body     string
	// Attributes are String message attributes (the DLQ's RULE_ARN, ...).
	Attributes map[string]string
	GroupID    string
	DedupID    string
	// SenderID is the principal the message appears to come from.
	SenderID string
	// RuleARN is the rule on whose behalf the message is sent; the queue's
	// policy sees it as aws:SourceArn (and its account as aws:SourceAccount).
	RuleARN string
}

// SQSSender delivers messages to SQS queues on EventBridge's behalf,
// bypassing queue policies the way the AWS service principal does. It is
// the narrow view of the SQS service this package needs. Errors that are
// *protocol.Error values keep their AWS code, which decides whether the
// delivery is retried.
type SQSSender interface {
	SendEventsMessage(ctx context.Context, m SQSMessage) (messageID string, err error)
}

// LambdaInvoker invokes function targets asynchronously (InvocationType
// Event); the Lambda service satisfies it. With Deps.Lambda nil,
// deliveries to function targets fail as AWS's do for a function that does
// not exist.
type LambdaInvoker interface {
	// InvokeForRule queues an invocation of functionARN (qualified or not)
	// for the rule ruleARN; roleARN is the target's RoleArn ("" if none).
	// As on AWS, the function's resource-based policy decides whether the
	// rule may invoke it (principal events.amazonaws.com, the rule as
	// aws:SourceArn); a refusal is an AccessDeniedException
	// *protocol.Error, which fails the delivery as NO_PERMISSIONS without
	// retries.
	InvokeForRule(ctx context.Context, functionARN, ruleARN, roleARN string, payload []byte) error
}

// Deps are the service's dependencies. Meta, Queues, Logs, Clock and IDs
// are required; the rest may be nil.
type Deps struct {
	Meta   storage.Meta
	Queues storage.Queues
	Logs   storage.Logs
	Clock  clock.Clock
	IDs    *ids.Generator
	// Logger: nil discards logs.
	Logger *slog.Logger
	// Registerer receives the delivery metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Trail: when set, every trail record is put on its account's default bus.
	Trail *trail.Trail
	// SQS delivers to SQS targets and dead-letter queues; nil: those fail
	// as for a queue that does not exist.
	SQS SQSSender
	// Lambda invokes function targets; nil: no function exists.
	Lambda LambdaInvoker
	// HTTPClient calls API destinations and OAuth authorization
	// endpoints; nil: a client with AWS's 5 s invocation timeout.
	HTTPClient *http.Client
	// DataDir is the server's data directory; it holds the key that
	// encrypts connection secrets (events-connections.key) unless
	// SecretKey or $FOGBANK_EVENTS_SECRET_KEY gives one.
	DataDir string
	// SecretKey is the 32-byte AES-256-GCM key for connection secrets;
	// nil: from the environment or the data directory.
	SecretKey []byte
	// Shards is the number of delivery shards (queues "events/shard/NN");
	// zero means 16. Each account is assigned two of them and each batch of
	// work goes to the one with the shorter backlog.
	Shards int
	// ShardConcurrency is how many target calls one shard makes at once (a
	// batch of SQS deliveries to one queue is one call); zero means 8.
	ShardConcurrency int
	// RuleSync is how often this node checks whether another node sharing
	// the storage changed a rule (one storage read per check); zero means
	// 1 s, negative disables the check (a single node).
	RuleSync time.Duration
}

// Service is the EventBridge service. Create it with New; Start launches
// the delivery workers, the scheduler and the trail bridge; Close stops them.
type Service struct {
	deps  Deps
	log   *slog.Logger
	codec protocol.Codec
	ops   map[string]op
	m     *metrics

	mu       sync.Mutex
	buses    map[string]*busCache // key: busKey
	cacheGen uint64               // bumped when every cache is dropped

	shards    []*shard
	trailCh   chan trailItem
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once

	httpc *http.Client
	sched *scheduler

	secrets  secretBox
	tokens   tokenCache
	limiters limiterSet
}

// op is one API operation.
type op struct {
	readOnly bool
	h        func(ctx context.Context, call *service.Call, body []byte) (any, error)
}

// New returns the EventBridge service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Shards <= 0 {
		deps.Shards = 16
	}
	if deps.ShardConcurrency <= 0 {
		deps.ShardConcurrency = 8
	}
	s := &Service{
		deps:  deps,
		log:   deps.Logger,
		codec: protocol.Codec{Kind: protocol.AWSJSON11, Logger: deps.Logger},
		buses: map[string]*busCache{},
		m:     newMetrics(deps.Registerer),
		httpc: deps.HTTPClient,
	}
	if s.httpc == nil {
		s.httpc = &http.Client{Timeout: 5 * time.Second}
	}
	s.trailCh = make(chan trailItem, 8192)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ops = s.operations()
	s.sched = newScheduler(s)
	for i := 0; i < deps.Shards; i++ {
		s.shards = append(s.shards, newShard(s, i))
	}
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return "events" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{targetPrefix}, EndpointPrefix: "events"}
}

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec.WriteError(w, r, err)
}

// Start launches delivery workers, the scheduler, the replay runner and the
// trail bridge. It does not block.
func (s *Service) Start(ctx context.Context) error {
	s.startOnce.Do(func() {
		for _, sh := range s.shards {
			s.wg.Add(1)
			go sh.run(s.ctx)
		}
		if s.deps.Trail != nil {
			s.deps.Trail.Subscribe(s.onTrailRecord)
		}
		s.wg.Add(1)
		go s.trailLoop(s.ctx)
		s.wg.Add(1)
		go s.sched.run(s.ctx)
		s.wg.Add(1)
		go s.resumeReplays(s.ctx)
		if s.deps.RuleSync >= 0 {
			// Read before any rule cache can load, so that no change made
			// in between goes unseen.
			seen, err := s.rulesGen(ctx)
			if err != nil {
				s.log.Warn("events: read the rules generation", "err", err)
			}
			s.wg.Add(1)
			go s.syncRules(s.ctx, seen)
		}
	})
	return nil
}

// Close stops background work and waits for it. Deliveries in progress are
// abandoned; their messages become visible again and are redelivered after
// a restart.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// ServeHTTP decodes an AWSEvents.<Operation> request and answers it.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	if call == nil {
		s.codec.WriteError(w, r, protocol.InternalFailure())
		return
	}
	t := r.Header.Get("X-Amz-Target")
	name := t[strings.LastIndexByte(t, '.')+1:]
	call.Operation = name
	o, ok := s.ops[name]
	if !ok {
		s.codec.WriteError(w, r, protocol.UnknownOperation(name))
		return
	}
	call.ReadOnly = o.readOnly
	body, err := protocol.ReadBody(r, 0)
	if err != nil {
		s.codec.WriteError(w, r, err)
		return
	}
	if call.RequestParameters == nil && len(body) > 0 && name != "CreateConnection" && name != "UpdateConnection" {
		call.RequestParameters = json.RawMessage(body)
	}
	out, err := o.h(r.Context(), call, body)
	if err != nil {
		s.codec.WriteError(w, r, err)
		return
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) operations() map[string]op {
	rw := func(h func(context.Context, *service.Call, []byte) (any, error)) op { return op{h: h} }
	ro := func(h func(context.Context, *service.Call, []byte) (any, error)) op { return op{h: h, readOnly: true} }
	return map[string]op{
		"CreateEventBus":         rw(s.createEventBus),
		"DeleteEventBus":         rw(s.deleteEventBus),
		"DescribeEventBus":       ro(s.describeEventBus),
		"ListEventBuses":         ro(s.listEventBuses),
		"UpdateEventBus":         rw(s.updateEventBus),
		"PutPermission":          rw(s.putPermission),
		"RemovePermission":       rw(s.removePermission),
		"PutEvents":              rw(s.putEvents),
		"TestEventPattern":       ro(s.testEventPattern),
		"PutRule":                rw(s.putRule),
		"DeleteRule":             rw(s.deleteRule),
		"DescribeRule":           ro(s.describeRule),
		"ListRules":              ro(s.listRules),
		"EnableRule":             rw(s.enableRule),
		"DisableRule":            rw(s.disableRule),
		"ListRuleNamesByTarget":  ro(s.listRuleNamesByTarget),
		"PutTargets":             rw(s.putTargets),
		"RemoveTargets":          rw(s.removeTargets),
		"ListTargetsByRule":      ro(s.listTargetsByRule),
		"TagResource":            rw(s.tagResource),
		"UntagResource":          rw(s.untagResource),
		"ListTagsForResource":    ro(s.listTagsForResource),
		"CreateArchive":          rw(s.createArchive),
		"DescribeArchive":        ro(s.describeArchive),
		"ListArchives":           ro(s.listArchives),
		"UpdateArchive":          rw(s.updateArchive),
		"DeleteArchive":          rw(s.deleteArchive),
		"StartReplay":            rw(s.startReplay),
		"DescribeReplay":         ro(s.describeReplay),
		"ListReplays":            ro(s.listReplays),
		"CancelReplay":           rw(s.cancelReplay),
		"CreateConnection":       rw(s.createConnection),
		"DescribeConnection":     ro(s.describeConnection),
		"ListConnections":        ro(s.listConnections),
		"UpdateConnection":       rw(s.updateConnection),
		"DeleteConnection":       rw(s.deleteConnection),
		"DeauthorizeConnection":  rw(s.deauthorizeConnection),
		"CreateApiDestination":   rw(s.createAPIDestination),
		"DescribeApiDestination": ro(s.describeAPIDestination),
		"ListApiDestinations":    ro(s.listAPIDestinations),
		"UpdateApiDestination":   rw(s.updateAPIDestination),
		"DeleteApiDestination":   rw(s.deleteAPIDestination),
	}
}

// decode unmarshals a request body.
func decode(body []byte, v any) error { return protocol.UnmarshalJSON(body, v) }

func (s *Service) now() time.Time { return s.deps.Clock.Now() }
