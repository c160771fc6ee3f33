package sqs

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/iampolicy"
	"github.com/fogbank/fogbank/internal/protocol"
)

// Queue policies. Fogbank has no identity policies yet, so a caller in the
// queue's own account is allowed unless the queue's Policy explicitly
// denies it; a caller from another account (or a service acting for one)
// needs an Allow in the Policy, as on AWS where identity and resource
// policy must both allow across accounts.

// shareable maps the operations a queue policy can grant to other accounts
// to the IAM action they need (batch operations use the single action's
// permission). The others ("Cross-account permissions don't apply to this
// action": CreateQueue, DeleteQueue, SetQueueAttributes, AddPermission,
// tags, move tasks, ...) are the owner's alone.
var shareable = map[string]string{
	"SendMessage":                  "SendMessage",
	"SendMessageBatch":             "SendMessage",
	"ReceiveMessage":               "ReceiveMessage",
	"DeleteMessage":                "DeleteMessage",
	"DeleteMessageBatch":           "DeleteMessage",
	"ChangeMessageVisibility":      "ChangeMessageVisibility",
	"ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
	"GetQueueAttributes":           "GetQueueAttributes",
	"GetQueueUrl":                  "GetQueueUrl",
	"ListDeadLetterSourceQueues":   "ListDeadLetterSourceQueues",
	"PurgeQueue":                   "PurgeQueue",
}

// iamAction returns the IAM action an operation is authorized as.
func iamAction(op string) string {
	if a, ok := shareable[op]; ok {
		return "sqs:" + a
	}
	return "sqs:" + op
}

// Sender says on whose behalf another service sends to a queue, so that
// the queue's Policy decides as it does on AWS. The zero Sender is a
// trusted in-process caller and is not checked (callers that predate
// queue policies).
type Sender struct {
	// Account is the account of the sending resource (the rule's, the
	// function's). A Sender from the queue's own account is allowed unless
	// the Policy denies it; from another account it needs an Allow.
	Account string
	// ServicePrincipal is the service acting on its own behalf
	// ("events.amazonaws.com", "lambda.amazonaws.com").
	ServicePrincipal string
	// SourceARN is the resource the message comes from (the rule or
	// function ARN); policies see it as aws:SourceArn, and Account as
	// aws:SourceAccount.
	SourceARN string
	// RoleARN is an execution role the service assumed to deliver (a
	// cross-account EventBridge target's RoleArn). The principal is then a
	// session of that role instead of the service principal.
	RoleARN string
}

// IsZero reports whether s names nobody (a trusted in-process caller).
func (s Sender) IsZero() bool { return s == Sender{} }

// principal returns the IAM principal and condition context of s.
func (s Sender) principal() (iampolicy.Principal, map[string][]string) {
	ctx := map[string][]string{}
	if s.SourceARN != "" {
		ctx["aws:SourceArn"] = []string{s.SourceARN}
	}
	if s.Account != "" {
		ctx["aws:SourceAccount"] = []string{s.Account}
	}
	if s.RoleARN != "" {
		account, role := s.Account, s.RoleARN
		if parts := strings.SplitN(role, ":", 6); len(parts) == 6 {
			account = parts[4]
			role = parts[5]
		}
		name := role[strings.LastIndexByte(role, '/')+1:]
		session := s.ServicePrincipal
		if session == "" {
			session = "fogbank"
		}
		return iampolicy.Principal{Account: account, Type: iampolicy.TypeAssumedRole, RoleARN: s.RoleARN,
			ARN: "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + strings.TrimSuffix(session, ".amazonaws.com")}, ctx
	}
	return iampolicy.Principal{ServicePrincipal: s.ServicePrincipal}, ctx
}

// policyCache keeps the parsed Policy of each queue, by queue ARN.
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	doc string
	p   *iampolicy.Policy
}

// policy returns q's parsed Policy, nil when it has none. A stored policy
// that no longer parses (written before validation existed) allows nothing
// and denies nothing.
func (s *Service) policy(q *queueRecord) *iampolicy.Policy {
	doc := q.Attrs[attrPolicy]
	if doc == "" {
		return nil
	}
	arn := q.arn()
	s.policies.mu.Lock()
	defer s.policies.mu.Unlock()
	if c, ok := s.policies.m[arn]; ok && c.doc == doc {
		return c.p
	}
	p, err := iampolicy.Parse([]byte(doc))
	if err != nil {
		s.log.Warn("sqs: stored queue policy does not parse", "queue", arn, "err", err)
		p = &iampolicy.Policy{}
	}
	if s.policies.m == nil {
		s.policies.m = map[string]cachedPolicy{}
	}
	s.policies.m[arn] = cachedPolicy{doc: doc, p: p}
	return p
}

// authorize decides whether principal may run op on q. sameAccount callers
// need no Allow (they would have an identity policy on AWS); others do;
// an explicit Deny stops both.
func (s *Service) authorize(q *queueRecord, op string, p iampolicy.Principal, sameAccount bool, ctx map[string][]string) error {
	action := iamAction(op)
	pol := s.policy(q)
	if sameAccount && pol == nil {
		return nil
	}
	if !sameAccount {
		if _, ok := shareable[op]; !ok {
			return errAccessDenied(callerARN(p), action, q.arn(), false)
		}
	}
	d := iampolicy.Evaluate(pol, iampolicy.Request{Principal: p, Action: action, Resource: q.arn(), Context: ctx})
	switch {
	case d == iampolicy.ExplicitDeny:
		return errAccessDenied(callerARN(p), action, q.arn(), true)
	case d == iampolicy.Allowed || sameAccount:
		return nil
	}
	return errAccessDenied(callerARN(p), action, q.arn(), false)
}

// authorizeCall checks an API caller against q for the call's operation.
func (s *Service) authorizeCall(rc *reqCtx, q *queueRecord) error {
	return s.authorizeCallOp(rc, q, rc.call.Operation)
}

// authorizeCallOp checks an API caller against q for operation op.
func (s *Service) authorizeCallOp(rc *reqCtx, q *queueRecord, op string) error {
	call := rc.call
	id := call.Identity
	account := id.AccountID
	if account == "" {
		account = call.Account
	}
	p := iampolicy.Principal{Account: account, ARN: id.ARN, Type: id.Type, RoleARN: id.SessionIssuerARN}
	sameAccount := account == q.Account
	if sameAccount && q.Attrs[attrPolicy] == "" {
		return nil // the common case: no context to build
	}
	t := call.Time
	if t.IsZero() {
		t = s.now()
	}
	ctx := map[string][]string{
		"aws:SecureTransport": {strconv.FormatBool(call.Scheme == "https")},
		"aws:CurrentTime":     {t.UTC().Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(t.Unix(), 10)},
	}
	if ip := sourceIP(call.SourceIP); ip != "" {
		ctx["aws:SourceIp"] = []string{ip}
	}
	if call.UserAgent != "" {
		ctx["aws:UserAgent"] = []string{call.UserAgent}
	}
	return s.authorize(q, op, p, sameAccount, ctx)
}

// authorizeSender checks an in-process sender against q.
func (s *Service) authorizeSender(q *queueRecord, op string, from Sender) error {
	if from.IsZero() {
		return nil
	}
	p, ctx := from.principal()
	return s.authorize(q, op, p, from.Account == q.Account, ctx)
}

func sourceIP(s string) string {
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return s
}

func callerARN(p iampolicy.Principal) string {
	switch {
	case p.ARN != "":
		return p.ARN
	case p.ServicePrincipal != "":
		return p.ServicePrincipal
	}
	return "anonymous"
}

// codeAccessDenied is the JSON shape name; query clients and the
// X-Amzn-Query-Error header see "AccessDenied". JSON bodies carry the
// coral namespace (com.amazon.coral.service#AccessDeniedException).
const codeAccessDenied = "AccessDeniedException"

// errAccessDenied is SQS's answer to a request no policy allows, in IAM's
// wording (measured on AWS: the action is written in lower case).
func errAccessDenied(caller, action, resource string, explicit bool) *protocol.Error {
	a := strings.ToLower(action)
	msg := "User: " + caller + " is not authorized to perform: " + a + " on resource: " + resource
	if explicit {
		msg += " with an explicit deny in a resource-based policy"
	} else {
		msg += " because no resource-based policy allows the " + a + " action"
	}
	return &protocol.Error{Code: codeAccessDenied, QueryCode: "AccessDenied", Status: http.StatusForbidden, Message: msg}
}
