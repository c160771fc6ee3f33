// Package testenv starts a whole Fogbank server in-process for integration
// tests: random loopback port, temporary data directory, and an aws.Config
// that real AWS SDK for Go v2 clients use unchanged. The storage back end
// is chosen by FOGBANK_TEST_STORAGE ("embedded" default, "postgres",
// "nats"), so one suite runs on every back end.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"

	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/server"
	"github.com/fogbank/fogbank/internal/storage/natsstore"
)

// Env is a running server and what tests need to talk to it.
type Env struct {
	Server  *server.Server
	URL     string
	DataDir string
	// Config is an SDK config for the default account (test/test).
	Config aws.Config
	// Account is the default account id.
	Account string
}

// Option adjusts the server config before start.
type Option func(*server.Config)

// WithConfig applies f to the server config.
func WithConfig(f func(*server.Config)) Option { return Option(f) }

// WithDataDir uses dir instead of a fresh temporary directory (restart tests).
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// StorageFromEnv returns the --storage value FOGBANK_TEST_STORAGE selects:
// "" / "embedded", "postgres" (FOGBANK_TEST_POSTGRES or the local default),
// "nats" (FOGBANK_TEST_NATS or the local default), or a URL as is.
func StorageFromEnv() string {
	switch v := os.Getenv("FOGBANK_TEST_STORAGE"); v {
	case "", "embedded":
		return "embedded"
	case "postgres":
		if u := os.Getenv("FOGBANK_TEST_POSTGRES"); u != "" {
			return u
		}
		return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	case "nats":
		if u := os.Getenv("FOGBANK_TEST_NATS"); u != "" {
			return u
		}
		return "nats://127.0.0.1:4222"
	default:
		return v
	}
}

// Start runs a server for the test and stops it at cleanup.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := server.Config{
		Listen:  "127.0.0.1:0",
		DataDir: t.TempDir(),
		Storage: StorageFromEnv(),
		Logger:  testLogger(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Namespace == "" {
		// One namespace per data dir: a restart test that reuses the dir
		// (WithDataDir) sees its state on a distributed engine too.
		sum := sha256.Sum256([]byte(cfg.DataDir))
		cfg.Namespace = "t" + hex.EncodeToString(sum[:6])
	}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("testenv: new server: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatalf("testenv: listen: %v", err)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		t.Fatalf("testenv: serve: %v", err)
	}
	env := &Env{Server: srv, URL: srv.URL(), DataDir: cfg.DataDir, Account: identity.DefaultAccount}
	env.Config = env.ConfigFor(identity.DefaultAccessKey, identity.DefaultSecret, "")
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("testenv: shutdown: %v", err)
		}
		if err := dropNamespace(cfg); err != nil {
			t.Logf("testenv: drop namespace %s: %v", cfg.Namespace, err)
		}
	})
	return env
}

// dropNamespace removes what a test server left on a shared engine.
// Restart tests reuse a namespace through WithConfig and clean up last.
func dropNamespace(cfg server.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch s := cfg.Storage; {
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		conn, err := pgx.Connect(ctx, s)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{cfg.Namespace}.Sanitize()+" CASCADE")
		return err
	case strings.HasPrefix(s, "nats://"):
		st, err := natsstore.Open(ctx, s, natsstore.Options{Prefix: cfg.Namespace})
		if err != nil {
			return err
		}
		defer st.Close()
		return st.Destroy(ctx)
	}
	return nil
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("FOGBANK_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// ConfigFor returns an SDK config that signs with the given credentials.
func (e *Env) ConfigFor(akid, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint:     aws.String(e.URL),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: 60 * time.Second},
	}
}

// NewAccount creates an account with a fresh root key and returns its id
// and an SDK config for it.
func (e *Env) NewAccount(t testing.TB, id string) aws.Config {
	t.Helper()
	ctx := context.Background()
	if _, err := e.Server.Identity().CreateAccount(ctx, id); err != nil {
		t.Fatalf("testenv: create account: %v", err)
	}
	k, err := e.Server.Identity().CreateKey(ctx, id, "")
	if err != nil {
		t.Fatalf("testenv: create key: %v", err)
	}
	return e.ConfigFor(k.AccessKeyID, k.Secret, "")
}

// Admin calls an admin endpoint and decodes the JSON answer into out (may be nil).
func (e *Env) Admin(t testing.TB, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testenv: admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("testenv: admin %s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// FlushTrail waits until every call made so far is in the trail.
func (e *Env) FlushTrail(t testing.TB) {
	t.Helper()
	if err := e.Server.Trail().Flush(context.Background()); err != nil {
		t.Fatalf("testenv: flush trail: %v", err)
	}
}

// Eventually polls cond every 10ms until it is true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: timed out: "+format, args...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RepoRoot returns the directory holding go.mod, walking up from the
// working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(dir + "/go.mod"); err == nil {
			return dir, nil
		}
		i := strings.LastIndexByte(dir, '/')
		if i <= 0 {
			return "", fmt.Errorf("testenv: no go.mod above the working directory")
		}
		dir = dir[:i]
	}
}
