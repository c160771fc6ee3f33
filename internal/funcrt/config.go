package funcrt

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
)

// Lambda limits and defaults this package applies.
const (
	// MaxPayloadSize is the largest response (and synchronous request)
	// payload in bytes: 6 MiB plus 100 bytes, the figure Lambda's errors quote.
	MaxPayloadSize = 6*1024*1024 + 100
	// DefaultInitTimeout is Lambda's limit on the init phase.
	DefaultInitTimeout = 10 * time.Second
	// DefaultIdleTTL is how long an idle on-demand environment is kept.
	DefaultIdleTTL = 10 * time.Minute
	// LogTailSize is how many bytes of an invocation's log output Result.LogTail keeps.
	LogTailSize = 4096
	// maxLogLine is the longest log line passed to the sink; longer output is split.
	maxLogLine = 256 * 1024
)

// Credentials are the temporary credentials the function's SDK picks up
// from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Config describes one function version; a Manager runs environments for
// exactly one Config. The zero value is not valid: FunctionName, Version,
// MemoryMB, Timeout and CodeDir are required.
type Config struct {
	// FunctionName is the function's name (AWS_LAMBDA_FUNCTION_NAME).
	FunctionName string
	// Version is "$LATEST" or a published version number.
	Version string
	// FunctionARN is the unqualified or version ARN; it is the default
	// Lambda-Runtime-Invoked-Function-Arn when a Request has none.
	FunctionARN string
	// Region fills AWS_REGION and AWS_DEFAULT_REGION. If empty, "us-east-1".
	Region string
	// MemoryMB is the configured memory size (128–10240 in Lambda).
	MemoryMB int
	// Timeout is the invocation timeout (1 s–900 s in Lambda).
	Timeout time.Duration
	// Handler is passed as _HANDLER.
	Handler string
	// Runtime is the Lambda runtime identifier, e.g. "provided.al2023" or
	// "python3.12". For runtimes other than provided.* it also sets
	// AWS_EXECUTION_ENV=AWS_Lambda_<runtime>.
	Runtime string
	// CodeDir is the unpacked deployment package (Lambda's /var/task).
	CodeDir string
	// LayerDirs are unpacked layers in configuration order; later layers
	// overwrite earlier ones' files as in Lambda's /opt.
	LayerDirs []string
	// Bootstrap is the command that starts the runtime. If empty, the
	// first of CodeDir/bootstrap and <opt>/bootstrap that exists is run, as
	// for Lambda's OS-only runtimes. Managed-runtime shims set it.
	Bootstrap []string
	// RuntimeDir is LAMBDA_RUNTIME_DIR. If empty, CodeDir is used.
	RuntimeDir string
	// Env holds the function's own environment variables. Reserved keys
	// (see IsReservedEnvKey) cannot override the platform's values.
	Env map[string]string
	// Credentials are exported to the function as its role's credentials.
	Credentials Credentials
	// EndpointURL, if set, becomes AWS_ENDPOINT_URL so that SDK calls from
	// inside the function reach Fogbank.
	EndpointURL string
	// LogGroupName is AWS_LAMBDA_LOG_GROUP_NAME. If empty, "/aws/lambda/<FunctionName>".
	LogGroupName string
	// RuntimeVersion is shown in the INIT_START line. If empty it is derived
	// from Runtime (e.g. "provided:al2023.v1").
	RuntimeVersion string
}

// Isolation selects how environments are separated from the host.
type Isolation string

// Isolation levels.
const (
	// IsolationNamespaces (the default) runs each environment's bootstrap in
	// new PID, IPC, UTS and mount namespaces (plus a user namespace when
	// Fogbank is not root) with its own /proc, where the host allows it, and
	// falls back to IsolationProcess where it does not (see Manager.Sandbox
	// and the package documentation).
	IsolationNamespaces Isolation = "namespaces"
	// IsolationProcess runs each environment as a plain process group with a
	// private TMPDIR (see the package documentation for what is isolated).
	IsolationProcess Isolation = "process"
)

// Options tune a Manager; the zero value is usable.
type Options struct {
	// MaxEnvironments caps concurrently existing environments (= concurrent
	// invocations). Invoke returns a *ThrottleError when all are busy. If
	// zero, 1000 (Lambda's default account concurrency).
	MaxEnvironments int
	// IdleTTL is how long an idle on-demand environment lives before it is
	// reaped. If zero, DefaultIdleTTL. Provisioned environments are never reaped.
	IdleTTL time.Duration
	// InitTimeout bounds the init phase. If zero, DefaultInitTimeout.
	InitTimeout time.Duration
	// Isolation is the isolation level. If empty, IsolationNamespaces.
	Isolation Isolation
	// TempDir is where per-environment directories are created. If empty, os.TempDir().
	TempDir string
	// CgroupParent, when set, is a delegated cgroup v2 directory (memory and
	// pids controllers enabled in its cgroup.subtree_control) under which one
	// child cgroup per environment is created. It is ignored, with a warning,
	// when /sys/fs/cgroup is not cgroup2.
	CgroupParent string
	// DisableCgroupV1 turns off the per-environment memory cgroup created
	// in this process's cgroup v1 memory hierarchy when CgroupParent is not
	// in use (the memory limit is then best effort, see DisableMemoryPolling).
	DisableCgroupV1 bool
	// DisableMemoryPolling turns off the best-effort memory limit used when
	// no cgroup limits the environment.
	DisableMemoryPolling bool
	// Sink receives every log line (function output and platform lines). If
	// nil, logs are only kept for Result.LogTail.
	Sink LogSink
	// Clock drives idle reaping and log timestamps. If nil, clock.Real{}.
	Clock clock.Clock
	// Logger receives operational logs. If nil, logs are discarded.
	Logger *slog.Logger
	// SandboxPool, if not nil, supplies pre-started sandbox helpers to the
	// environments' cold starts under IsolationNamespaces (see
	// SandboxPool). It is shared by all the Managers of a process and
	// closed by its owner, after them. If nil, every cold start starts its
	// own helper.
	SandboxPool *SandboxPool
}

// LogSink receives log lines. WriteLog is called from the environment's
// capture goroutine, in order for one log stream, possibly concurrently for
// different streams; it must not block for long (buffer if it must).
type LogSink interface {
	WriteLog(e LogEvent)
}

// LogEvent is one log line of one environment.
type LogEvent struct {
	FunctionName string
	LogGroup     string
	// LogStream is the environment's stream, named as Lambda names it:
	// "YYYY/MM/DD/[<version>]<32 hex digits>".
	LogStream string
	Time      time.Time
	// Message is the line including its trailing newline, as Lambda stores it.
	Message string
}

// Request is one invocation.
type Request struct {
	// RequestID is the invocation id. If empty, a random UUID is used.
	RequestID string
	// Payload is the event (JSON bytes). At most MaxPayloadSize bytes; if
	// empty, "{}" is delivered, as Lambda does.
	Payload []byte
	// InvokedFunctionARN is the ARN the caller used (qualified or not). If
	// empty, Config.FunctionARN.
	InvokedFunctionARN string
	// TraceID is the X-Ray trace header value. If empty, one is generated.
	TraceID string
	// ClientContext is the decoded client context JSON (the Lambda API takes
	// it base64-encoded in X-Amz-Client-Context).
	ClientContext string
	// CognitoIdentityID and CognitoIdentityPoolID, when either is set, are
	// sent as the Lambda-Runtime-Cognito-Identity JSON.
	CognitoIdentityID     string
	CognitoIdentityPoolID string
	// DeferReport lets Invoke return as soon as the runtime has answered:
	// the function's remaining output, the END and REPORT lines and the
	// Max Memory Used sample are written to the sink afterwards, before the
	// environment starts its next invocation. The Result then has no
	// LogTail, MaxMemoryUsedMB and Report.MaxMemoryUsedMB are zero, and
	// the REPORT line is not in it. Invocations that end in a timeout, a
	// crash or a failed init are reported in full either way.
	DeferReport bool
}

// Function error values of Result.FunctionError, as Lambda sends them in
// X-Amz-Function-Error.
const (
	// FunctionErrorUnhandled is what Lambda reports today for every function
	// error: errors posted by the runtime, timeouts, crashes, init failures.
	FunctionErrorUnhandled = "Unhandled"
	// FunctionErrorHandled is the legacy value (Node.js callback errors on
	// retired runtimes). This package never produces it; it is defined so
	// callers can name it.
	FunctionErrorHandled = "Handled"
)

// Invocation statuses (Result.Status and the REPORT line).
const (
	StatusSuccess = "success"
	StatusError   = "error"
	StatusTimeout = "timeout"
)

// Result is the outcome of one invocation. A function failure is a Result
// with FunctionError set, not a Go error.
type Result struct {
	RequestID string
	// Payload is the function's response, or the error document.
	Payload []byte
	// FunctionError is "" on success, else FunctionErrorUnhandled.
	FunctionError string
	// ErrorType is the error's type (Lambda-Runtime-Function-Error-Type or
	// the error document's errorType; Sandbox.Timedout, Runtime.ExitError, ...).
	ErrorType string
	// Status is StatusSuccess, StatusError or StatusTimeout.
	Status string
	// LogTail is the last LogTailSize bytes of this invocation's log
	// output, START to REPORT (X-Amz-Log-Result before base64).
	LogTail []byte
	// Duration is the time from dispatch to the runtime's answer.
	Duration time.Duration
	// BilledDurationMs is Duration (plus InitDuration on a cold start) in
	// whole milliseconds, rounded up.
	BilledDurationMs int64
	// MemorySizeMB is the configured memory.
	MemorySizeMB int
	// MaxMemoryUsedMB is the environment's peak memory so far.
	MaxMemoryUsedMB int
	// ColdStart is true when this invocation started a new environment.
	ColdStart bool
	// InitDuration is the init phase of a successful cold start, else zero.
	InitDuration time.Duration
	// ExecutedVersion is Config.Version.
	ExecutedVersion string
	// LogStream is the environment's log stream.
	LogStream string
	// Report is the REPORT line's data (without MaxMemoryUsedMB under
	// Request.DeferReport).
	Report Report
}

func (c *Config) validate() error {
	switch {
	case c.FunctionName == "":
		return fmt.Errorf("funcrt: config: function name is required")
	case c.Version == "":
		return fmt.Errorf("funcrt: config: version is required")
	case c.MemoryMB <= 0:
		return fmt.Errorf("funcrt: config: memory size must be positive")
	case c.Timeout <= 0:
		return fmt.Errorf("funcrt: config: timeout must be positive")
	case c.CodeDir == "":
		return fmt.Errorf("funcrt: config: code directory is required")
	}
	st, err := os.Stat(c.CodeDir)
	if err != nil {
		return fmt.Errorf("funcrt: config: code directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("funcrt: config: code directory %s is not a directory", c.CodeDir)
	}
	for _, l := range c.LayerDirs {
		if st, err := os.Stat(l); err != nil || !st.IsDir() {
			return fmt.Errorf("funcrt: config: layer directory %s is not a directory", l)
		}
	}
	return nil
}

func (c *Config) region() string {
	if c.Region == "" {
		return "us-east-1"
	}
	return c.Region
}

func (c *Config) logGroup() string {
	if c.LogGroupName == "" {
		return "/aws/lambda/" + c.FunctionName
	}
	return c.LogGroupName
}

func (c *Config) runtimeDir() string {
	if c.RuntimeDir == "" {
		return c.CodeDir
	}
	return c.RuntimeDir
}

// isOSOnlyRuntime reports whether the runtime is one of Lambda's OS-only
// ("provided") runtimes, which set no AWS_EXECUTION_ENV.
func isOSOnlyRuntime(rt string) bool {
	return rt == "" || strings.HasPrefix(rt, "provided")
}

func (c *Config) runtimeVersion() string {
	if c.RuntimeVersion != "" {
		return c.RuntimeVersion
	}
	rt := c.Runtime
	if rt == "" {
		rt = "provided.al2023"
	}
	// Lambda writes "provided:al2023.v16", "python:3.12.v40".
	if i := strings.IndexByte(rt, '.'); i > 0 && strings.HasPrefix(rt, "provided") {
		return rt[:i] + ":" + rt[i+1:] + ".v1"
	}
	for i, r := range rt {
		if r >= '0' && r <= '9' {
			return rt[:i] + ":" + rt[i:] + ".v1"
		}
	}
	return rt + ".v1"
}

func (o *Options) withDefaults() Options {
	out := *o
	if out.MaxEnvironments <= 0 {
		out.MaxEnvironments = 1000
	}
	if out.IdleTTL <= 0 {
		out.IdleTTL = DefaultIdleTTL
	}
	if out.InitTimeout <= 0 {
		out.InitTimeout = DefaultInitTimeout
	}
	if out.Isolation == "" {
		out.Isolation = IsolationNamespaces
	}
	if out.TempDir == "" {
		out.TempDir = os.TempDir()
	}
	if out.Clock == nil {
		out.Clock = clock.Real{}
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}

// logicalPath maps a host path under the code or opt directory to the path
// Lambda would show (/var/task/..., /opt/...), for error messages.
func logicalPath(p, codeDir, optDir string) string {
	if rel, err := filepath.Rel(codeDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Join("/var/task", rel)
	}
	if optDir != "" {
		if rel, err := filepath.Rel(optDir, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.Join("/opt", rel)
		}
	}
	return p
}
