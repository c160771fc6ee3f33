package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/autoscaling"
	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/cloudtrail"
	"github.com/fogbank/fogbank/internal/events"
	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/lambda"
	"github.com/fogbank/fogbank/internal/lambda/sqsbridge"
	"github.com/fogbank/fogbank/internal/logs"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/sigv4"
	"github.com/fogbank/fogbank/internal/sqs"
	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/sts"
	"github.com/fogbank/fogbank/internal/trail"
)

// Server is a running Fogbank: storage, shared engines, services and the
// HTTP front door. Create it with New, then Start; stop it with Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	clock    *clock.Scaled
	ids      *ids.Generator
	backend  storage.Backend
	identity *identity.Store
	trail    *trail.Trail
	verifier *sigv4.Verifier
	metrics  *metrics

	services   []service.Service
	byTarget   map[string]service.Service
	byName     map[string]service.Service
	byVersion  map[string]service.Service
	byEndpoint map[string]service.Service
	unsigned   map[string][]string // service name → Routes().Unsigned

	httpSrv *http.Server
	ln      net.Listener
	started time.Time

	closeOnce sync.Once
	closeErr  error
}

// knownServices lists every service Fogbank serves, for --services
// validation and the health report.
var knownServices = []string{"sts", "cloudtrail", "events", "sqs", "lambda", "logs", "application-autoscaling"}

// New opens storage and builds every service; nothing listens yet.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.setDefaults()
	for _, name := range cfg.Services {
		if !slices.Contains(knownServices, name) {
			return nil, fmt.Errorf("server: unknown service %q (known: %s)", name, strings.Join(knownServices, ", "))
		}
	}
	switch funcrt.Isolation(cfg.LambdaIsolation) {
	case "", funcrt.IsolationNamespaces, funcrt.IsolationProcess:
	default:
		return nil, fmt.Errorf("server: unknown Lambda isolation %q (want namespaces or process)", cfg.LambdaIsolation)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ids: ids.New(cfg.Seed)}
	speed := cfg.ClockSpeed
	if speed <= 0 {
		speed = 1
	}
	s.clock = clock.NewScaled(speed)

	backend, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.backend = backend
	s.identity = identity.NewStore(backend.Meta(), s.clock, s.ids, cfg.DevAnyCredentials)
	if err := s.identity.Bootstrap(ctx); err != nil {
		backend.Close()
		return nil, err
	}
	s.trail = trail.New(backend.Logs(), s.ids, s.log.With("component", "trail"))
	s.verifier = &sigv4.Verifier{Lookup: s.lookupCredentials}
	s.metrics = newMetrics()

	s.services = s.buildServices()
	s.byTarget = map[string]service.Service{}
	s.byName = map[string]service.Service{}
	s.byVersion = map[string]service.Service{}
	s.byEndpoint = map[string]service.Service{}
	s.unsigned = map[string][]string{}
	for _, svc := range s.services {
		s.byName[svc.Name()] = svc
		rt := svc.Routes()
		s.unsigned[svc.Name()] = rt.Unsigned
		for _, p := range rt.TargetPrefixes {
			s.byTarget[p] = svc
		}
		for _, v := range rt.QueryVersions {
			s.byVersion[v] = svc
		}
		if rt.EndpointPrefix != "" {
			s.byEndpoint[rt.EndpointPrefix] = svc
		}
	}
	return s, nil
}

// buildServices is the plain list of mounted services, filtered by
// Config.Services. Services get their dependencies explicitly.
func (s *Server) buildServices() []service.Service {
	logger := func(name string) *slog.Logger { return s.log.With("service", name) }
	// Services other services call are built first.
	sqsSvc := sqs.New(sqs.Deps{Meta: s.backend.Meta(), Queues: s.backend.Queues(), Clock: s.clock, IDs: s.ids, Logger: logger("sqs"), Metrics: s.metrics.reg})
	logsSvc := logs.New(logs.Deps{Meta: s.backend.Meta(), Logs: s.backend.Logs(), Clock: s.clock, Logger: logger("logs")})
	lambdaBus := &lambdaEventBus{} // set to the events service below
	lambdaSvc := lambda.New(lambda.Deps{Meta: s.backend.Meta(), Queues: s.backend.Queues(), Blobs: s.backend.Blobs(), Clock: s.clock, IDs: s.ids,
		Identity: s.identity, Logs: logsSvc, SQS: sqsbridge.New(sqsSvc), EventBus: lambdaBus, Endpoint: s.URL, WorkDir: filepath.Join(s.cfg.DataDir, "lambda"),
		Logger: logger("lambda"), Registerer: s.metrics.reg,
		Config: lambda.Config{Isolation: funcrt.Isolation(s.cfg.LambdaIsolation), CgroupParent: s.cfg.LambdaCgroupParent,
			SandboxPool: s.cfg.LambdaSandboxPool}})
	eventsSvc := events.New(events.Deps{Meta: s.backend.Meta(), Queues: s.backend.Queues(), Logs: s.backend.Logs(), Clock: s.clock, IDs: s.ids, Logger: logger("events"), Registerer: s.metrics.reg, Trail: s.trail, DataDir: s.cfg.DataDir, SQS: eventsSQS{sqsSvc}, Lambda: lambdaSvc})
	lambdaBus.ev = eventsSvc
	all := []service.Service{
		sts.New(sts.Deps{Identity: s.identity, Logger: logger("sts")}),
		cloudtrail.New(cloudtrail.Deps{Trail: s.trail, Clock: s.clock, Logger: logger("cloudtrail")}),
		eventsSvc,
		sqsSvc,
		lambdaSvc,
		logsSvc,
		autoscaling.New(autoscaling.Deps{Meta: s.backend.Meta(), Clock: s.clock, IDs: s.ids, Lambda: lambdaSvc, Logger: logger("application-autoscaling")}),
	}
	if len(s.cfg.Services) == 0 {
		return all
	}
	var out []service.Service
	for _, svc := range all {
		if slices.Contains(s.cfg.Services, svc.Name()) {
			out = append(out, svc)
		}
	}
	return out
}

func (s *Server) lookupCredentials(ctx context.Context, akid string) (sigv4.Credentials, error) {
	k, err := s.identity.Lookup(ctx, akid)
	if errors.Is(err, identity.ErrExpired) {
		err = nil // the signature is checked first; authenticate reports the expiry
	}
	if errors.Is(err, identity.ErrUnknownKey) {
		return sigv4.Credentials{}, sigv4.ErrUnknownKey
	}
	if err != nil {
		return sigv4.Credentials{}, err
	}
	return sigv4.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.Secret, SessionToken: k.SessionToken}, nil
}

// Start listens and serves in the background, and starts every service.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Start on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.ln = ln
	s.started = time.Now()
	s.trail.Start()
	for _, svc := range s.services {
		if err := svc.Start(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("server: start %s: %w", svc.Name(), err)
		}
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server: serve", "err", err)
		}
	}()
	s.log.Info("fogbank listening", "addr", ln.Addr().String(), "storage", s.backend.Mode(), "services", s.serviceNames(), "version", s.cfg.Version)
	return nil
}

func (s *Server) serviceNames() []string {
	names := make([]string, 0, len(s.services))
	for _, svc := range s.services {
		names = append(names, svc.Name())
	}
	return names
}

// Addr is the listening address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is http://Addr.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Clock is the server's clock.
func (s *Server) Clock() *clock.Scaled { return s.clock }

// Identity is the account and key store.
func (s *Server) Identity() *identity.Store { return s.identity }

// Trail is the activity trail.
func (s *Server) Trail() *trail.Trail { return s.trail }

// Backend is the storage back end.
func (s *Server) Backend() storage.Backend { return s.backend }

// Registry is the Prometheus registry of the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Shutdown stops accepting requests, waits for in-flight ones (bounded by
// ctx and Config.ShutdownTimeout), stops services, flushes the trail and
// closes storage. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
		var errs []error
		if s.httpSrv != nil {
			if err := s.httpSrv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("server: http shutdown: %w", err))
			}
		}
		for i := len(s.services) - 1; i >= 0; i-- {
			if err := s.services[i].Close(); err != nil {
				errs = append(errs, fmt.Errorf("server: close %s: %w", s.services[i].Name(), err))
			}
		}
		if s.ln != nil {
			s.trail.Close()
		}
		if err := s.backend.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: close storage: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
