package logs

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

const (
	targetPrefix = "Logs_20140328"
	namespace    = "com.amazonaws.logs"
)

// Deps are the service's dependencies; all but Logger are required.
type Deps struct {
	Meta   storage.Meta
	Logs   storage.Logs
	Clock  clock.Clock
	Logger *slog.Logger
}

// Service is the CloudWatch Logs service.
type Service struct {
	deps  Deps
	log   *slog.Logger
	codec protocol.Codec
	ops   map[string]op
}

type op struct {
	readOnly bool
	fn       func(ctx context.Context, call *service.Call, body []byte) (any, error)
}

// New returns the CloudWatch Logs service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{deps: deps, log: deps.Logger,
		codec: protocol.Codec{Kind: protocol.AWSJSON11, Namespace: namespace, Logger: deps.Logger}}
	s.ops = map[string]op{
		"CreateLogGroup":        {false, s.createLogGroup},
		"DeleteLogGroup":        {false, s.deleteLogGroup},
		"DescribeLogGroups":     {true, s.describeLogGroups},
		"CreateLogStream":       {false, s.createLogStream},
		"DeleteLogStream":       {false, s.deleteLogStream},
		"DescribeLogStreams":    {true, s.describeLogStreams},
		"PutLogEvents":          {false, s.putLogEvents},
		"GetLogEvents":          {true, s.getLogEvents},
		"FilterLogEvents":       {true, s.filterLogEvents},
		"PutRetentionPolicy":    {false, s.putRetentionPolicy},
		"DeleteRetentionPolicy": {false, s.deleteRetentionPolicy},
		"TagResource":           {false, s.tagResource},
		"UntagResource":         {false, s.untagResource},
		"ListTagsForResource":   {true, s.listTagsForResource},
	}
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return "logs" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{targetPrefix}, EndpointPrefix: "logs"}
}

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec.WriteError(w, r, err)
}

// Start implements service.Service.
func (s *Service) Start(context.Context) error { return nil }

// Close implements service.Service.
func (s *Service) Close() error { return nil }

// ServeHTTP implements service.Service.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	o, ok := s.ops[call.Operation]
	if !ok {
		s.codec.WriteError(w, r, protocol.UnknownOperation(call.Operation))
		return
	}
	call.ReadOnly = o.readOnly
	body, err := protocol.ReadBody(r, 8<<20)
	if err != nil {
		s.codec.WriteError(w, r, err)
		return
	}
	out, err := o.fn(r.Context(), call, body)
	if err != nil {
		s.codec.WriteError(w, r, err)
		return
	}
	s.codec.WriteJSON(w, http.StatusOK, out)
}
