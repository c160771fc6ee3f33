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
	ops   map[string]protocol.JSONOp
}

// New returns the CloudWatch Logs service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{deps: deps, log: deps.Logger,
		codec: protocol.Codec{Kind: protocol.AWSJSON11, Namespace: namespace, Logger: deps.Logger}}
	s.ops = map[string]protocol.JSONOp{
		"CreateLogGroup":        {Fn: s.createLogGroup},
		"DeleteLogGroup":        {Fn: s.deleteLogGroup},
		"DescribeLogGroups":     {ReadOnly: true, Fn: s.describeLogGroups},
		"CreateLogStream":       {Fn: s.createLogStream},
		"DeleteLogStream":       {Fn: s.deleteLogStream},
		"DescribeLogStreams":    {ReadOnly: true, Fn: s.describeLogStreams},
		"PutLogEvents":          {Fn: s.putLogEvents},
		"GetLogEvents":          {ReadOnly: true, Fn: s.getLogEvents},
		"FilterLogEvents":       {ReadOnly: true, Fn: s.filterLogEvents},
		"PutRetentionPolicy":    {Fn: s.putRetentionPolicy},
		"DeleteRetentionPolicy": {Fn: s.deleteRetentionPolicy},
		"TagResource":           {Fn: s.tagResource},
		"UntagResource":         {Fn: s.untagResource},
		"ListTagsForResource":   {ReadOnly: true, Fn: s.listTagsForResource},
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
	s.codec.ServeJSONOps(w, r, s.ops, 8<<20)
}
