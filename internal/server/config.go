package server

import (
	"log/slog"
	"time"
)

// Config configures a Server. The zero value of each field has the stated
// default.
type Config struct {
	// Listen is the TCP address; "" means 127.0.0.1:4566.
	Listen string
	// DataDir holds embedded storage; "" means ./.fogbank.
	DataDir string
	// Storage selects the back end: "" or "embedded" (SQLite in DataDir),
	// "postgres://…" (PostgreSQL), "nats://…" (external NATS JetStream) or
	// "nats-embedded" (JetStream in-process, in DataDir).
	Storage string
	// Namespace isolates installations sharing one distributed engine: the
	// PostgreSQL schema, or the NATS stream/subject prefix. "" means
	// "fogbank". Letters, digits, '-' and '_' only.
	Namespace string
	// Sync is the embedded SQLite fsync policy: "full" (default: nothing
	// acknowledged is lost on power loss), "normal" (may lose the last
	// transactions on power loss, never on a process crash) or "off".
	Sync string
	// Region is the region of requests that carry none; "" means us-east-1.
	Region string
	// ClockSpeed runs the clock this many times faster than real time
	// (0 or 1: real speed). The clock can also be advanced by hand.
	ClockSpeed float64
	// DevAnyCredentials accepts any access key without checking signatures
	// (a 12-digit key acts as that account). Off by default.
	DevAnyCredentials bool
	// Services limits the mounted services to these names; empty: all.
	Services []string
	// Seed makes generated identifiers deterministic when non-zero.
	Seed uint64
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// ShutdownTimeout bounds the wait for in-flight requests; 0 means 10s.
	ShutdownTimeout time.Duration
	// Version is reported by health and logs.
	Version string
	// LambdaIsolation is how Lambda execution environments are isolated:
	// "" or "namespaces" (Linux namespaces where the host allows, else a
	// plain process) or "process" (a plain process group; faster cold
	// starts).
	LambdaIsolation string
	// LambdaCgroupParent is a delegated cgroup v2 directory under which
	// each execution environment gets a memory-limited child cgroup.
	LambdaCgroupParent string
	// LambdaSandboxPool is how many pre-started sandbox helpers Lambda
	// keeps for cold starts with namespace isolation; 0 means the default
	// (funcrt.DefaultSandboxPoolSize), negative disables the pool.
	LambdaSandboxPool int
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4566"
	}
	if c.DataDir == "" {
		c.DataDir = ".fogbank"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
}
