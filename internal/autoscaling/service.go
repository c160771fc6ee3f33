package autoscaling

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

const (
	targetPrefix = "AnyScaleFrontendService"
	errNamespace = "com.amazonaws.applicationautoscaling"
	signingName  = "application-autoscaling"
)

// Lambda is what the scaler needs from the Lambda service; *lambda.Service
// satisfies it. Errors are Lambda's API errors.
type Lambda interface {
	// ProvisionedConcurrency returns the qualifier's provisioned
	// concurrency configuration (status "" when there is none).
	ProvisionedConcurrency(ctx context.Context, account, region, function, qualifier string) (requested, allocated int, status, reason string, err error)
	// ProvisionedUtilization returns the provisioned environments in use
	// right now, the allocated ones, and their ratio.
	ProvisionedUtilization(ctx context.Context, account, region, function, qualifier string) (busy, allocated int, utilization float64, err error)
	// SetProvisionedConcurrency sets the qualifier's provisioned
	// concurrency as PutProvisionedConcurrencyConfig does (0 deletes it).
	SetProvisionedConcurrency(ctx context.Context, account, region, function, qualifier string, n int) error
}

// Deps are the service's dependencies; Logger may be nil, and Lambda may be
// nil when Lambda is not served (targets are then never scaled).
type Deps struct {
	Meta   storage.Meta
	Clock  clock.Clock
	IDs    *ids.Generator
	Lambda Lambda
	Logger *slog.Logger
	// SampleEvery is how often the scaler samples utilisation; 0 means
	// 10 seconds of clock time.
	SampleEvery time.Duration
}

// Service is the Application Auto Scaling service.
type Service struct {
	deps  Deps
	log   *slog.Logger
	codec protocol.Codec
	ops   map[string]protocol.JSONOp

	sc     *scaler
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns the Application Auto Scaling service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.SampleEvery <= 0 {
		deps.SampleEvery = 10 * time.Second
	}
	s := &Service{deps: deps, log: deps.Logger,
		codec: protocol.Codec{Kind: protocol.AWSJSON11, Namespace: errNamespace, Logger: deps.Logger}}
	s.sc = newScaler(s)
	s.ops = map[string]protocol.JSONOp{
		"RegisterScalableTarget":       {Fn: s.registerScalableTarget},
		"DeregisterScalableTarget":     {Fn: s.deregisterScalableTarget},
		"DescribeScalableTargets":      {ReadOnly: true, Fn: s.describeScalableTargets},
		"PutScalingPolicy":             {Fn: s.putScalingPolicy},
		"DescribeScalingPolicies":      {ReadOnly: true, Fn: s.describeScalingPolicies},
		"DeleteScalingPolicy":          {Fn: s.deleteScalingPolicy},
		"DescribeScalingActivities":    {ReadOnly: true, Fn: s.describeScalingActivities},
		"TagResource":                  {Fn: s.tagResource},
		"UntagResource":                {Fn: s.untagResource},
		"ListTagsForResource":          {ReadOnly: true, Fn: s.listTagsForResource},
		"PutScheduledAction":           {Fn: s.notImplemented("PutScheduledAction")},
		"DeleteScheduledAction":        {Fn: s.notImplemented("DeleteScheduledAction")},
		"DescribeScheduledActions":     {ReadOnly: true, Fn: s.describeScheduledActions},
		"GetPredictiveScalingForecast": {ReadOnly: true, Fn: s.notImplemented("GetPredictiveScalingForecast")},
	}
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return signingName }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{targetPrefix}, EndpointPrefix: signingName}
}

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec.WriteError(w, r, err)
}

// Start implements service.Service: it starts the scaler.
func (s *Service) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.sc.run(ctx)
	}()
	return nil
}

// Close implements service.Service: it stops the scaler and waits for it.
func (s *Service) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// ServeHTTP implements service.Service.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.codec.ServeJSONOps(w, r, s.ops, 1<<20)
}

func (s *Service) notImplemented(name string) func(context.Context, *service.Call, []byte) (any, error) {
	return func(context.Context, *service.Call, []byte) (any, error) {
		return nil, errNotImplemented(name)
	}
}

// describeScheduledActions answers an empty list: scheduled actions cannot
// be created (PutScheduledAction is not implemented), so there are none.
func (s *Service) describeScheduledActions(_ context.Context, _ *service.Call, body []byte) (any, error) {
	var in struct {
		ServiceNamespace string `json:"ServiceNamespace"`
	}
	if err := protocol.UnmarshalJSON(body, &in); err != nil {
		return nil, err
	}
	if err := checkNamespaceEnum(in.ServiceNamespace); err != nil {
		return nil, err
	}
	return map[string]any{"ScheduledActions": []any{}}, nil
}
