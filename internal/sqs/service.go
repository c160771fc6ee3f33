package sqs

import (
	"context"
	"encoding/json"
	"errors"
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
)

const (
	apiVersion = "2012-11-05"
	xmlns      = "http://queue.amazonaws.com/doc/2012-11-05/"
	jsonTarget = "AmazonSQS"
	jsonNS     = "com.amazonaws.sqs"
)

// Deps are what the SQS service needs. Meta, Queues and Clock are
// required; a nil IDs draws random identifiers, a nil Logger discards logs
// and a nil Metrics registers no metrics.
type Deps struct {
	Meta    storage.Meta
	Queues  storage.Queues
	Clock   clock.Clock
	IDs     *ids.Generator
	Logger  *slog.Logger
	Metrics prometheus.Registerer
}

// Service is the SQS service. Create it with New; it is safe for
// concurrent use. Start begins the retention sweeps and resumes message
// move tasks; Close stops them.
type Service struct {
	deps    Deps
	log     *slog.Logger
	json    protocol.Codec
	query   protocol.Codec
	coral   protocol.Codec // JSON errors in the coral namespace (AccessDenied)
	ops     map[string]operation
	metrics *metrics
	node    string

	expireMu   sync.Mutex
	lastExpire map[string]time.Time

	polls *pollSet // long polls waiting on this node

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	tasksMu sync.Mutex
	tasks   map[string]bool // move tasks running on this node, by id

	policies policyCache
}

// operation is one API operation.
type operation struct {
	readOnly bool
	run      func(ctx context.Context, rc *reqCtx) (any, error)
}

// reqCtx is one request as an operation sees it.
type reqCtx struct {
	call  *service.Call
	body  []byte // the awsJson document (built from parameters for awsQuery)
	query bool
	base  string // scheme://host, for queue URLs
}

// decode decodes the request into v and records it as the trail's
// requestParameters.
func (rc *reqCtx) decode(v any) error {
	if err := decodeInput(rc.body, v); err != nil {
		return err
	}
	rc.call.RequestParameters = trailParams(rc.body)
	return nil
}

// New returns the SQS service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.IDs == nil {
		deps.IDs = ids.New(0)
	}
	s := &Service{
		deps:       deps,
		log:        deps.Logger,
		json:       protocol.Codec{Kind: protocol.AWSJSON10, Namespace: jsonNS, Logger: deps.Logger},
		query:      protocol.Codec{Kind: protocol.AWSQuery, XMLNS: xmlns, Logger: deps.Logger},
		coral:      protocol.Codec{Kind: protocol.AWSJSON10, Namespace: "com.amazon.coral.service", Logger: deps.Logger},
		lastExpire: map[string]time.Time{},
		tasks:      map[string]bool{},
		node:       deps.IDs.UUID(),
	}
	s.metrics = newMetrics(s, deps.Metrics)
	s.polls = newPollSet(deps.Queues.Notify)
	s.ops = map[string]operation{
		"CreateQueue":                  {false, s.createQueue},
		"GetQueueUrl":                  {true, s.getQueueURL},
		"ListQueues":                   {true, s.listQueuesOp},
		"DeleteQueue":                  {false, s.deleteQueue},
		"GetQueueAttributes":           {true, s.getQueueAttributes},
		"SetQueueAttributes":           {false, s.setQueueAttributes},
		"TagQueue":                     {false, s.tagQueue},
		"UntagQueue":                   {false, s.untagQueue},
		"ListQueueTags":                {true, s.listQueueTags},
		"PurgeQueue":                   {false, s.purgeQueue},
		"ListDeadLetterSourceQueues":   {true, s.listDeadLetterSourceQueues},
		"AddPermission":                {false, s.addPermission},
		"RemovePermission":             {false, s.removePermission},
		"SendMessage":                  {false, s.sendMessage},
		"SendMessageBatch":             {false, s.sendMessageBatch},
		"ReceiveMessage":               {true, s.receiveMessage},
		"DeleteMessage":                {false, s.deleteMessage},
		"DeleteMessageBatch":           {false, s.deleteMessageBatch},
		"ChangeMessageVisibility":      {false, s.changeMessageVisibility},
		"ChangeMessageVisibilityBatch": {false, s.changeMessageVisibilityBatch},
		"StartMessageMoveTask":         {false, s.startMessageMoveTask},
		"ListMessageMoveTasks":         {true, s.listMessageMoveTasks},
		"CancelMessageMoveTask":        {false, s.cancelMessageMoveTask},
	}
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return "sqs" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{jsonTarget}, QueryVersions: []string{apiVersion}, EndpointPrefix: "sqs"}
}

// Start implements service.Service: it starts the retention sweeper and
// resumes message move tasks left running.
func (s *Service) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.background(s.ctx)
	}()
	return nil
}

// Close implements service.Service.
func (s *Service) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

func (s *Service) now() time.Time { return s.deps.Clock.Now().UTC() }

func isJSON(r *http.Request) bool { return r.Header.Get("X-Amz-Target") != "" }

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, !isJSON(r), err)
}

func (s *Service) writeError(w http.ResponseWriter, r *http.Request, query bool, err error) {
	if query {
		if e, ok := errors.AsType[*protocol.Error](err); ok {
			err = queryMessage(e)
		}
		s.query.WriteError(w, r, err)
		return
	}
	if e, ok := errors.AsType[*protocol.Error](err); ok && e.Code == codeAccessDenied {
		s.coral.WriteError(w, r, err)
	} else {
		s.json.WriteError(w, r, err)
	}
	// CloudTrail shows SQS's error codes in their legacy (query) form.
	if e, ok := errors.AsType[*protocol.Error](err); ok && e.QueryCode != "" {
		if call := service.CallFrom(r.Context()); call != nil {
			call.ErrorCode = e.QueryCode
		}
	}
}

// ServeHTTP implements http.Handler: it decodes the operation in either
// protocol, runs it and writes the answer in the request's protocol.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	if call == nil {
		call = &service.Call{Time: s.now(), Host: r.Host, Scheme: "http"}
	}
	rc := &reqCtx{call: call, base: call.BaseURL()}
	var op string
	if isJSON(r) {
		t := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			op = t[i+1:]
		}
		b, err := protocol.ReadBody(r, 0)
		if err != nil {
			s.writeError(w, r, false, err)
			return
		}
		rc.body = b
	} else {
		rc.query = true
		vals, err := protocol.ParseQuery(r)
		if err != nil {
			s.writeError(w, r, true, err)
			return
		}
		op = vals.Get("Action")
		if op == "" {
			s.writeError(w, r, true, protocol.MissingAction())
			return
		}
		// Query clients may address the queue by the request path.
		if _, _, _, isQueuePath := parseQueueURL(r.URL.Path); isQueuePath && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			if op == "CreateQueue" || op == "ListQueues" {
				call.Operation = op
				s.writeError(w, r, true, errInvalidQueryAction(op))
				return
			}
			if vals.Get("QueueUrl") == "" {
				vals.Set("QueueUrl", rc.base+r.URL.Path)
			}
		}
		doc, err := queryDocument(op, vals)
		if err != nil {
			s.writeError(w, r, true, err)
			return
		}
		rc.body = doc
	}
	call.Operation = op
	o, ok := s.ops[op]
	if !ok {
		if rc.query {
			s.writeError(w, r, true, errInvalidQueryAction(op))
		} else {
			s.writeError(w, r, false, protocol.UnknownOperation(op))
		}
		return
	}
	call.ReadOnly = o.readOnly
	// The front door keyed the context with the caller's account, so its
	// writes share the embedded store's commits fairly (storage.WithFairnessKey).
	res, err := o.run(r.Context(), rc)
	if err != nil {
		s.writeError(w, r, rc.query, err)
		return
	}
	if rc.query {
		s.query.WriteQuery(w, r, op, res)
		return
	}
	s.json.WriteJSON(w, http.StatusOK, res)
}

// trailParams renders a request document as CloudTrail requestParameters:
// member names in lower camel case, message bodies hidden.
func trailParams(doc []byte) any {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil || len(m) == 0 {
		return nil
	}
	return lowerKeys(m, 0)
}

func lowerKeys(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k == "MessageBody" {
			v = "HIDDEN_DUE_TO_SECURITY_REASONS"
		}
		if k == "Entries" {
			if list, ok := v.([]any); ok {
				for i, e := range list {
					if em, ok := e.(map[string]any); ok {
						list[i] = lowerKeys(em, depth+1)
					}
				}
			}
		}
		out[lowerFirst(k)] = v
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if strings.HasPrefix(s, "AWS") || strings.HasPrefix(s, "MD5") {
		return strings.ToLower(s[:3]) + s[3:]
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// queueRequest is a request shape that names a queue by its QueueUrl.
type queueRequest interface{ queueURL() *string }

// decodeQueue decodes the request into in and resolves the queue it names.
func (s *Service) decodeQueue(ctx context.Context, rc *reqCtx, in queueRequest) (*queueRecord, error) {
	if err := rc.decode(in); err != nil {
		return nil, err
	}
	return s.resolveQueue(ctx, rc, in.queueURL())
}

// resolveQueue finds the queue a QueueUrl names and records it as a
// resource of the call.
func (s *Service) resolveQueue(ctx context.Context, rc *reqCtx, queueURL *string) (*queueRecord, error) {
	if queueURL == nil || *queueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	account, region, name, ok := parseQueueURL(*queueURL)
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	if account == "" {
		account = rc.call.Account
	}
	if region == "" {
		region = rc.call.Region
	}
	q, err := s.loadQueue(ctx, account, region, name)
	if err != nil {
		return nil, err
	}
	rc.call.Resources = append(rc.call.Resources, service.Resource{Type: "AWS::SQS::Queue", Name: q.arn()})
	if err := s.authorizeCall(rc, q); err != nil {
		return nil, err
	}
	return q, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
