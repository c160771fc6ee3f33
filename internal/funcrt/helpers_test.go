package funcrt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The aws-lambda-go test handler (testdata/handler) is built once, on
// first use, so that fuzz workers and unit tests do not pay for it.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// testPool, when FUNCRT_TEST_SANDBOX_POOL is set, is given to every
// Manager newManager creates without a pool of its own: the whole suite
// then runs with pooled sandbox helpers.
var testPool *SandboxPool

func TestMain(m *testing.M) {
	if os.Getenv("FUNCRT_TEST_SANDBOX_POOL") != "" {
		testPool = NewSandboxPool(DefaultSandboxPoolSize, nil)
	}
	code := m.Run()
	_ = testPool.Close()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// handlerBin returns the path of the built test handler.
func handlerBin(t testing.TB) string {
	t.Helper()
	if prebuilt := os.Getenv("FOGBANK_TEST_HANDLER"); prebuilt != "" {
		return prebuilt // e.g. when the tests run as a user without the go tool's caches
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "funcrt-test-bin-"); buildErr != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go tool is not on PATH: %w", err)
			return
		}
		out, err := exec.Command(goBin, "build", "-o", filepath.Join(binDir, "bootstrap"), "./testdata/handler").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the test handler: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "bootstrap")
}

// codeDir returns a fresh code directory holding the test handler as bootstrap.
func codeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(handlerBin(t)) // a copy: tests change its mode
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testConfig(t testing.TB) Config {
	return Config{
		FunctionName: "fn",
		Version:      "$LATEST",
		FunctionARN:  "arn:aws:lambda:us-east-1:111111111111:function:fn",
		Region:       "eu-west-1",
		MemoryMB:     256,
		Timeout:      5 * time.Second,
		Handler:      "bootstrap",
		Runtime:      "provided.al2023",
		CodeDir:      codeDir(t),
	}
}

func newManager(t testing.TB, cfg Config, opts Options) *Manager {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	if opts.SandboxPool == nil {
		opts.SandboxPool = testPool
	}
	m, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func invoke(t testing.TB, m *Manager, payload string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := m.Invoke(ctx, Request{Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	return res
}

// errorDocument decodes a Lambda error document.
func errorDocument(t testing.TB, b []byte) (msg, typ string) {
	t.Helper()
	var d struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("error document %q: %v", b, err)
	}
	return d.ErrorMessage, d.ErrorType
}

// memSink records log events.
type memSink struct {
	mu     sync.Mutex
	events []LogEvent
}

func (s *memSink) WriteLog(e LogEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *memSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.events))
	for i, e := range s.events {
		out[i] = e.Message
	}
	return out
}

// indexOf returns the index of the first message with the prefix, or -1.
func indexOf(msgs []string, prefix string) int {
	for i, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			return i
		}
	}
	return -1
}

// onlyEnvPid returns the host PID of m's only environment. (The function's
// own os.Getpid is 1 in a PID namespace.)
func onlyEnvPid(t testing.TB, m *Manager) int {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.all) != 1 {
		t.Fatalf("%d environments, want 1", len(m.all))
	}
	for e := range m.all {
		if e.pid <= 1 {
			t.Fatalf("environment pid %d", e.pid)
		}
		return e.pid
	}
	return 0
}

// waitFor polls cond (real time) until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
