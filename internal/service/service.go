package service

import (
	"context"
	"net/http"
	"time"
)

// Service is one AWS service mounted on the front door. The server routes a
// request to it, authenticates it, puts a *Call in the request context and
// calls ServeHTTP; the service decodes the operation, records it in the Call
// and writes the response through internal/protocol.
type Service interface {
	// Name is the SigV4 signing name ("sqs", "sts", "events", ...).
	Name() string
	// Routes lists what identifies this service's requests.
	Routes() Routes
	http.Handler
	// WriteError renders err in the protocol the request r uses (the front
	// door calls it for failures before the service is reached, such as
	// authentication errors).
	WriteError(w http.ResponseWriter, r *http.Request, err error)
	// Start begins background work (pollers, schedulers); it must not block.
	Start(ctx context.Context) error
	// Close stops background work and waits for it.
	Close() error
}

// Routes are the keys the front door uses to route a request to a service,
// in the order of design-notes section 5.
type Routes struct {
	// TargetPrefixes are X-Amz-Target prefixes before the ".", e.g. "AmazonSQS".
	TargetPrefixes []string
	// QueryVersions are awsQuery Version values, e.g. "2012-11-05".
	QueryVersions []string
	// PathPrefixes route unsigned or un-scoped REST requests by path
	// ("/2015-03-31/functions"); signed requests route by credential scope.
	PathPrefixes []string
	// EndpointPrefix is the host label clients use ("sqs" in
	// sqs.us-east-1.amazonaws.com); it routes by Host when nothing else does.
	EndpointPrefix string
	// Unsigned lists operations that need no signature (e.g. AssumeRoleWithWebIdentity);
	// matched against the X-Amz-Target operation or query Action.
	Unsigned []string
}

// Identity is the authenticated caller, as CloudTrail's userIdentity shows it.
type Identity struct {
	// Type is "Root", "IAMUser" or "AssumedRole".
	Type        string
	PrincipalID string
	ARN         string
	AccountID   string
	AccessKeyID string
	// SessionIssuerARN is the role ARN for an AssumedRole identity.
	SessionIssuerARN string
	// SessionToken is non-empty for temporary credentials.
	SessionToken string
}

// Call is the state of one API request as it passes through the front door
// and a service. The server creates it; the service fills in Operation and
// the trail fields. A Call is used by one request goroutine at a time.
type Call struct {
	RequestID string
	// Service is the signing name of the service that handles the call.
	Service string
	// Operation is the AWS operation name ("SendMessage"); set by the service
	// (the server pre-fills it from X-Amz-Target or Action when it can).
	Operation string
	Account   string
	Region    string
	Identity  Identity
	// Time is when the request arrived, on the injected clock.
	Time      time.Time
	SourceIP  string
	UserAgent string
	// Host is the Host header the client used; Scheme is "http" or "https".
	// Services build URLs (queue URLs, code locations) from them.
	Host, Scheme string

	// ReadOnly marks operations that change nothing (CloudTrail readOnly).
	ReadOnly bool
	// RequestParameters and ResponseElements go into the trail record
	// (secrets already redacted by the service). Nil is rendered as null.
	RequestParameters any
	ResponseElements  any
	// ErrorCode and ErrorMessage are set when the call failed (the protocol
	// package sets them when it writes an error).
	ErrorCode, ErrorMessage string
	// Resources are the resources the call touched (CloudTrail "resources").
	Resources []Resource
	// NoTrail suppresses the trail record (admin or internal calls).
	NoTrail bool
}

type callKey struct{}

// WithCall returns a context carrying c.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the Call in ctx, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// BaseURL returns scheme://host of the call, as the client addressed the server.
func (c *Call) BaseURL() string {
	s := c.Scheme
	if s == "" {
		s = "http"
	}
	return s + "://" + c.Host
}

// Resource names one resource a call touched.
type Resource struct {
	Type string // e.g. "AWS::SQS::Queue"
	Name string // ARN or name
}
