package lambda

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/logs"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// LogWriter stores function output in CloudWatch Logs; *logs.Service
// satisfies it. WriteEvents creates the group and stream when missing.
type LogWriter interface {
	WriteEvents(ctx context.Context, account, region, group, stream string, events []logs.Event) error
}

// Config holds the service's limits; the zero value gives AWS's defaults.
type Config struct {
	// AccountConcurrency is each account's concurrent-execution limit per
	// region. If zero, 1000.
	AccountConcurrency int
	// MinUnreserved is the unreserved concurrency that reserved
	// concurrency may not eat into. If zero, 100 (or AccountConcurrency/10
	// when that is smaller, so small test limits stay usable).
	MinUnreserved int
	// IdleTTL is how long an idle execution environment lives. If zero, funcrt's default.
	IdleTTL time.Duration
	// AsyncWorkers is the number of concurrent async deliveries. If zero, 16.
	AsyncWorkers int
	// AsyncShards is the number of durable async queues; each function is
	// assigned two of them (shuffle sharding). If zero, 16.
	AsyncShards int
	// CgroupParent is passed to funcrt (delegated cgroup v2 directory).
	CgroupParent string
	// Isolation is funcrt's isolation level for execution environments;
	// "" means namespaces where the host allows (see funcrt.Isolation).
	Isolation funcrt.Isolation
	// SandboxPool is how many pre-started sandbox helpers are kept for
	// cold starts (see funcrt.SandboxPool): a burst of up to this many
	// cold starts skips the helper's own start. If zero,
	// funcrt.DefaultSandboxPoolSize; negative disables the pool.
	SandboxPool int
}

func (c Config) withDefaults() Config {
	if c.AccountConcurrency <= 0 {
		c.AccountConcurrency = 1000
	}
	if c.MinUnreserved <= 0 {
		c.MinUnreserved = min(100, max(1, c.AccountConcurrency/10))
	}
	if c.AsyncWorkers <= 0 {
		c.AsyncWorkers = 16
	}
	if c.AsyncShards <= 0 {
		c.AsyncShards = 16
	}
	if c.SandboxPool == 0 {
		c.SandboxPool = funcrt.DefaultSandboxPoolSize
	}
	return c
}

// Deps are the service's dependencies. Meta, Queues, Blobs, Clock and IDs
// are required; the others may be nil.
type Deps struct {
	Meta   storage.Meta
	Queues storage.Queues
	Blobs  storage.Blobs
	Clock  clock.Clock
	IDs    *ids.Generator
	// Identity mints the execution role's temporary credentials; nil:
	// functions get no credentials.
	Identity *identity.Store
	// Logs receives function output; nil: output is only in LogResult.
	Logs LogWriter
	// SQS serves SQS destinations, DLQs and event source mappings; nil:
	// those deliveries fail as for a queue that does not exist.
	SQS SQSClient
	// EventBus serves EventBridge destinations; nil: those deliveries
	// fail as for a bus that does not exist.
	EventBus EventBus
	// Endpoint returns the URL functions use as AWS_ENDPOINT_URL; nil: none.
	Endpoint func() string
	// WorkDir holds unpacked code; "": a directory under os.TempDir().
	WorkDir string
	// Logger: nil discards logs.
	Logger *slog.Logger
	// Registerer receives the metrics; nil: not registered.
	Registerer prometheus.Registerer
	Config     Config
}

// Service is the Lambda service. Create it with New; Start launches the
// async workers and event source pollers; Close stops them and every
// execution environment.
type Service struct {
	deps  Deps
	meta  *cachingMeta // deps.Meta, with the invoke path's hot cache
	cfg   Config
	log   *slog.Logger
	codec protocol.Codec
	mux   *http.ServeMux
	m     *metrics

	rt   *runtimes
	conc *concurrency
	sink *logSink

	fnLocks  sync.Map // fnRef.key() -> *sync.Mutex, serialises control-plane writes
	policies policyCache
	presign  presigner

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	async  *asyncEngine
	esm    *esmEngine
	prov   *provisioner
}

// New returns the Lambda service.
func New(deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.WorkDir == "" {
		deps.WorkDir = filepath.Join(os.TempDir(), "fogbank-lambda")
	}
	if abs, err := filepath.Abs(deps.WorkDir); err == nil {
		deps.WorkDir = abs
	}
	s := &Service{deps: deps, cfg: deps.Config.withDefaults(), log: deps.Logger}
	s.meta = newCachingMeta(deps.Meta)
	s.deps.Meta = s.meta
	s.codec = protocol.Codec{Kind: protocol.RESTJSON, Logger: deps.Logger}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.m = newMetrics(deps.Registerer)
	s.sink = newLogSink(deps.Logs, deps.Logger)
	s.rt = newRuntimes(s)
	if deps.Registerer != nil {
		_ = deps.Registerer.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fogbank_lambda_sandbox_pool_idle",
			Help: "Pre-started sandbox helpers ready for cold starts."}, func() float64 { return float64(s.rt.pool.Idle()) }))
	}
	s.conc = newConcurrency(s)
	s.async = newAsyncEngine(s)
	s.esm = newESMEngine(s)
	s.prov = newProvisioner(s)
	s.mux = s.routes()
	return s
}

// Name implements service.Service.
func (s *Service) Name() string { return "lambda" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{
		PathPrefixes: []string{"/2014-11-13/", "/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/",
			"/2018-10-31/", "/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-10-31/", "/2021-11-15/"},
		EndpointPrefix: "lambda",
		// Function URLs with AuthType NONE and presigned code downloads are
		// requested without a signature (see UnsignedOperation).
		Unsigned: []string{opInvokeFunctionURL, opPresignedDownload},
	}
}

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec.WriteError(w, r, err)
}

// ServeHTTP implements service.Service.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsFunctionURLRequest(r) {
		s.serveFunctionURL(w, r)
		return
	}
	if r.URL.Path == presignPath {
		call := service.CallFrom(r.Context())
		call.Operation, call.NoTrail = opPresignedDownload, true
		s.servePresigned(w, r)
		return
	}
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimRight(p, "/")
		r.URL.RawPath = ""
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Service) unknownOperation(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	call.NoTrail = true
	s.codec.WriteError(w, r, &protocol.Error{Code: "UnknownOperationException", Status: http.StatusNotFound,
		Message: "Unknown operation " + r.Method + " " + r.URL.Path})
}

// Start implements service.Service.
func (s *Service) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.deps.WorkDir, 0o755); err != nil {
		return err
	}
	s.sink.start(&s.wg, s.ctx)
	s.async.start()
	s.esm.start()
	return nil
}

// Close implements service.Service.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	s.esm.wait()
	s.async.wait()
	s.rt.closeAll()
	s.sink.flushAll(context.Background())
	return nil
}

// lockFn serialises control-plane writes to one function.
func (s *Service) lockFn(ref fnRef) func() {
	v, _ := s.fnLocks.LoadOrStore(ref.key(), &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// handler adapts an operation function to http.Handler: it sets the
// operation name and renders errors.
type opFunc func(w http.ResponseWriter, r *http.Request, call *service.Call) error

func (s *Service) op(name string, readOnly bool, f opFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := service.CallFrom(r.Context())
		call.Operation = name
		call.ReadOnly = readOnly
		if err := f(w, r, call); err != nil {
			s.codec.WriteError(w, r, err)
		}
	})
}

func (s *Service) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/", s.unknownOperation)
	h := func(pattern, name string, ro bool, f opFunc) { m.Handle(pattern, s.op(name, ro, f)) }
	// Functions.
	h("POST /2015-03-31/functions", "CreateFunction", false, s.createFunction)
	h("GET /2015-03-31/functions", "ListFunctions", true, s.listFunctions)
	h("GET /2015-03-31/functions/{name}", "GetFunction", true, s.getFunction)
	h("DELETE /2015-03-31/functions/{name}", "DeleteFunction", false, s.deleteFunction)
	h("GET /2015-03-31/functions/{name}/configuration", "GetFunctionConfiguration", true, s.getFunctionConfiguration)
	h("PUT /2015-03-31/functions/{name}/configuration", "UpdateFunctionConfiguration", false, s.updateFunctionConfiguration)
	h("PUT /2015-03-31/functions/{name}/code", "UpdateFunctionCode", false, s.updateFunctionCode)
	h("GET /2015-03-31/functions/{name}/code-download", "GetFunctionCodeDownload", true, s.downloadCode)
	h("POST /2015-03-31/functions/{name}/invocations", "Invoke", false, s.invoke)
	h("POST /2014-11-13/functions/{name}/invoke-async", "InvokeAsync", false, s.invokeAsyncLegacy)
	// Versions and aliases.
	h("POST /2015-03-31/functions/{name}/versions", "PublishVersion", false, s.publishVersion)
	h("GET /2015-03-31/functions/{name}/versions", "ListVersionsByFunction", true, s.listVersions)
	h("POST /2015-03-31/functions/{name}/aliases", "CreateAlias", false, s.createAlias)
	h("GET /2015-03-31/functions/{name}/aliases", "ListAliases", true, s.listAliases)
	h("GET /2015-03-31/functions/{name}/aliases/{alias}", "GetAlias", true, s.getAlias)
	h("PUT /2015-03-31/functions/{name}/aliases/{alias}", "UpdateAlias", false, s.updateAlias)
	h("DELETE /2015-03-31/functions/{name}/aliases/{alias}", "DeleteAlias", false, s.deleteAlias)
	// Concurrency.
	h("PUT /2017-10-31/functions/{name}/concurrency", "PutFunctionConcurrency", false, s.putConcurrency)
	h("DELETE /2017-10-31/functions/{name}/concurrency", "DeleteFunctionConcurrency", false, s.deleteConcurrency)
	h("GET /2019-09-30/functions/{name}/concurrency", "GetFunctionConcurrency", true, s.getConcurrency)
	h("PUT /2019-09-30/functions/{name}/provisioned-concurrency", "PutProvisionedConcurrencyConfig", false, s.putProvisioned)
	h("GET /2019-09-30/functions/{name}/provisioned-concurrency", "GetProvisionedConcurrencyConfig", true, s.getProvisioned)
	h("DELETE /2019-09-30/functions/{name}/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig", false, s.deleteProvisioned)
	h("GET /2016-08-19/account-settings", "GetAccountSettings", true, s.getAccountSettings)
	// Event invoke configs.
	h("PUT /2019-09-25/functions/{name}/event-invoke-config", "PutFunctionEventInvokeConfig", false, s.putEventInvokeConfig)
	h("POST /2019-09-25/functions/{name}/event-invoke-config", "UpdateFunctionEventInvokeConfig", false, s.updateEventInvokeConfig)
	h("GET /2019-09-25/functions/{name}/event-invoke-config", "GetFunctionEventInvokeConfig", true, s.getEventInvokeConfig)
	h("DELETE /2019-09-25/functions/{name}/event-invoke-config", "DeleteFunctionEventInvokeConfig", false, s.deleteEventInvokeConfig)
	h("GET /2019-09-25/functions/{name}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", true, s.listEventInvokeConfigs)
	// Event source mappings.
	h("POST /2015-03-31/event-source-mappings", "CreateEventSourceMapping", false, s.createESM)
	h("GET /2015-03-31/event-source-mappings", "ListEventSourceMappings", true, s.listESMs)
	h("GET /2015-03-31/event-source-mappings/{uuid}", "GetEventSourceMapping", true, s.getESM)
	h("PUT /2015-03-31/event-source-mappings/{uuid}", "UpdateEventSourceMapping", false, s.updateESM)
	h("DELETE /2015-03-31/event-source-mappings/{uuid}", "DeleteEventSourceMapping", false, s.deleteESM)
	// Function URLs.
	h("POST /2021-10-31/functions/{name}/url", "CreateFunctionUrlConfig", false, s.createURL)
	h("GET /2021-10-31/functions/{name}/url", "GetFunctionUrlConfig", true, s.getURL)
	h("PUT /2021-10-31/functions/{name}/url", "UpdateFunctionUrlConfig", false, s.updateURL)
	h("DELETE /2021-10-31/functions/{name}/url", "DeleteFunctionUrlConfig", false, s.deleteURL)
	h("GET /2021-10-31/functions/{name}/urls", "ListFunctionUrlConfigs", true, s.listURLs)
	// Layers.
	h("GET /2018-10-31/layers", "ListLayers", true, s.layersRoot)
	h("POST /2018-10-31/layers/{layer}/versions", "PublishLayerVersion", false, s.publishLayerVersion)
	h("GET /2018-10-31/layers/{layer}/versions", "ListLayerVersions", true, s.listLayerVersions)
	h("GET /2018-10-31/layers/{layer}/versions/{version}", "GetLayerVersion", true, s.getLayerVersion)
	h("DELETE /2018-10-31/layers/{layer}/versions/{version}", "DeleteLayerVersion", false, s.deleteLayerVersion)
	h("POST /2018-10-31/layers/{layer}/versions/{version}/policy", "AddLayerVersionPermission", false, s.addLayerPermission)
	h("GET /2018-10-31/layers/{layer}/versions/{version}/policy", "GetLayerVersionPolicy", true, s.getLayerPolicy)
	h("DELETE /2018-10-31/layers/{layer}/versions/{version}/policy/{sid}", "RemoveLayerVersionPermission", false, s.removeLayerPermission)
	// Tags.
	h("POST /2017-03-31/tags/{arn}", "TagResource", false, s.tagResource)
	h("GET /2017-03-31/tags/{arn}", "ListTags", true, s.listTags)
	h("DELETE /2017-03-31/tags/{arn}", "UntagResource", false, s.untagResource)
	// Permissions.
	h("POST /2015-03-31/functions/{name}/policy", "AddPermission", false, s.addPermission)
	h("GET /2015-03-31/functions/{name}/policy", "GetPolicy", true, s.getPolicy)
	h("DELETE /2015-03-31/functions/{name}/policy/{sid}", "RemovePermission", false, s.removePermission)
	return m
}
