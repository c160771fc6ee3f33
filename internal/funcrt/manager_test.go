package funcrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
)

var reportRE = regexp.MustCompile(`^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d\d ms\t)?(Status: [a-z]+\t(Error Type: [A-Za-z.]+\t)?)?\n$`)

func TestEchoInvoke(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	res := invoke(t, m, `{"action":"echo","hello":"world"}`)
	if got, want := string(res.Payload), `{"action":"echo","hello":"world"}`; got != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
	if res.FunctionError != "" || res.Status != StatusSuccess {
		t.Errorf("FunctionError=%q Status=%q, want success", res.FunctionError, res.Status)
	}
	if !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("ColdStart=%v InitDuration=%v, want a cold start with init duration", res.ColdStart, res.InitDuration)
	}
	if res.MaxMemoryUsedMB <= 0 || res.MemorySizeMB != 256 {
		t.Errorf("MaxMemoryUsedMB=%d MemorySizeMB=%d", res.MaxMemoryUsedMB, res.MemorySizeMB)
	}
	if want := billedMs(res.Duration + res.InitDuration); res.BilledDurationMs != want {
		t.Errorf("BilledDurationMs=%d, want %d (duration plus init, rounded up)", res.BilledDurationMs, want)
	}
	if res.ExecutedVersion != "$LATEST" {
		t.Errorf("ExecutedVersion=%q", res.ExecutedVersion)
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(res.LogStream) {
		t.Errorf("LogStream=%q is not in Lambda's format", res.LogStream)
	}
	line := res.Report.Line()
	if !reportRE.MatchString(line) || !strings.Contains(line, "Init Duration:") {
		t.Errorf("REPORT line %q is not in Lambda's format", line)
	}
}

func TestColdThenWarm(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	first := invoke(t, m, `{"action":"count"}`)
	second := invoke(t, m, `{"action":"count"}`)
	var a, b struct{ Count, Pid int }
	if err := json.Unmarshal(first.Payload, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(second.Payload, &b); err != nil {
		t.Fatal(err)
	}
	if a.Pid != b.Pid || b.Count != 2 {
		t.Errorf("second invoke pid %d count %d, want the same process (%d) on its second invocation", b.Pid, b.Count, a.Pid)
	}
	if !first.ColdStart || second.ColdStart {
		t.Errorf("ColdStart first=%v second=%v, want true then false", first.ColdStart, second.ColdStart)
	}
	if second.InitDuration != 0 || strings.Contains(second.Report.Line(), "Init Duration") {
		t.Errorf("warm invoke reports init: %v %q", second.InitDuration, second.Report.Line())
	}
	if second.BilledDurationMs != billedMs(second.Duration) {
		t.Errorf("warm BilledDurationMs=%d, want %d", second.BilledDurationMs, billedMs(second.Duration))
	}
	if st := m.Stats(); st.Environments != 1 || st.Idle != 1 || st.Busy != 0 {
		t.Errorf("Stats = %+v, want one idle environment", st)
	}
}

func TestHandledError(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	res := invoke(t, m, `{"action":"error","message":"boom"}`)
	if res.FunctionError != FunctionErrorUnhandled || res.Status != StatusError {
		t.Errorf("FunctionError=%q Status=%q", res.FunctionError, res.Status)
	}
	msg, typ := errorDocument(t, res.Payload)
	if msg != "boom" || typ != "errorString" || res.ErrorType != "errorString" {
		t.Errorf("error document %q/%q, ErrorType %q; want boom/errorString", msg, typ, res.ErrorType)
	}
	// A reported error keeps the environment.
	again := invoke(t, m, `{"action":"echo"}`)
	if again.ColdStart {
		t.Error("environment was discarded after a handled error")
	}
}

func TestPanicAndExit(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	res := invoke(t, m, `{"action":"panic","message":"oh no"}`)
	msg, _ := errorDocument(t, res.Payload)
	if res.FunctionError != FunctionErrorUnhandled || msg != "oh no" {
		t.Errorf("panic: FunctionError=%q payload %s", res.FunctionError, res.Payload)
	}
	// aws-lambda-go exits after reporting a panic: the next invoke is cold.
	if next := invoke(t, m, `{"action":"echo"}`); !next.ColdStart {
		t.Error("invoke after a panic reused the exited environment")
	}

	for _, tc := range []struct {
		code int
		want string
	}{
		{1, "Runtime exited with error: exit status 1"},
		{0, "Runtime exited without providing a reason"},
	} {
		res := invoke(t, m, fmt.Sprintf(`{"action":"exit","code":%d}`, tc.code))
		msg, typ := errorDocument(t, res.Payload)
		if want := "RequestId: " + res.RequestID + " Error: " + tc.want; msg != want || typ != "Runtime.ExitError" {
			t.Errorf("exit %d: %q/%q, want %q/Runtime.ExitError", tc.code, msg, typ, want)
		}
		if res.FunctionError != FunctionErrorUnhandled || res.ErrorType != "Runtime.ExitError" {
			t.Errorf("exit %d: FunctionError=%q ErrorType=%q", tc.code, res.FunctionError, res.ErrorType)
		}
		if line := res.Report.Line(); !strings.HasSuffix(line, "Status: error\tError Type: Runtime.ExitError\t\n") || !reportRE.MatchString(line) {
			t.Errorf("exit %d: REPORT %q", tc.code, line)
		}
		if !strings.Contains(string(res.LogTail), "RequestId: "+res.RequestID+" Error: "+tc.want+"\nRuntime.ExitError\n") {
			t.Errorf("exit %d: log tail lacks the error lines: %q", tc.code, res.LogTail)
		}
	}
}

func TestTimeoutKillsEnvironment(t *testing.T) {
	cfg := testConfig(t)
	cfg.Timeout = time.Second
	sink := &memSink{}
	m := newManager(t, cfg, Options{Sink: sink})
	invoke(t, m, `{"action":"count"}`)
	p := struct{ Pid int }{onlyEnvPid(t, m)}

	start := time.Now()
	res := invoke(t, m, `{"action":"sleep","ms":5000}`)
	elapsed := time.Since(start)
	if elapsed < time.Second || elapsed > 3*time.Second {
		t.Errorf("timed-out invoke took %v, want about 1s", elapsed)
	}
	msg, typ := errorDocument(t, res.Payload)
	if want := "RequestId: " + res.RequestID + " Error: Task timed out after 1.00 seconds"; msg != want || typ != "Sandbox.Timedout" {
		t.Errorf("timeout document %q/%q, want %q/Sandbox.Timedout", msg, typ, want)
	}
	if res.Status != StatusTimeout || res.FunctionError != FunctionErrorUnhandled || res.Duration < time.Second {
		t.Errorf("Status=%q FunctionError=%q Duration=%v", res.Status, res.FunctionError, res.Duration)
	}
	if !strings.HasSuffix(res.Report.Line(), "Status: timeout\t\n") {
		t.Errorf("REPORT %q lacks Status: timeout", res.Report.Line())
	}
	tl := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ` + res.RequestID + ` Task timed out after 1\.00 seconds$`)
	if !tl.Match(res.LogTail) {
		t.Errorf("log tail lacks the timeout line: %q", res.LogTail)
	}
	waitFor(t, "the timed-out process to die", func() bool { return syscall.Kill(p.Pid, 0) != nil })
	if next := invoke(t, m, `{"action":"echo"}`); !next.ColdStart {
		t.Error("timed-out environment was reused")
	}
}

func TestThrottle(t *testing.T) {
	m := newManager(t, testConfig(t), Options{MaxEnvironments: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		invoke(t, m, `{"action":"sleep","ms":1500}`)
	}()
	waitFor(t, "the first invocation to hold the environment", func() bool { return m.Stats().Busy == 1 })
	_, err := m.Invoke(context.Background(), Request{Payload: []byte(`{}`)})
	var te *ThrottleError
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &te) || te.Limit != 1 {
		t.Errorf("second concurrent invoke: err = %v, want a ThrottleError with limit 1", err)
	}
	wg.Wait()
	if res := invoke(t, m, `{}`); res.ColdStart {
		t.Error("after the busy invocation ended its environment was not reused")
	}
}

func TestEnvironmentVariables(t *testing.T) {
	cfg := testConfig(t)
	cfg.Env = map[string]string{"MY_VAR": "my value", "AWS_REGION": "evil-1", "_HANDLER": "evil", "LANG": "C"}
	cfg.Credentials = Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", SessionToken: "token"}
	cfg.EndpointURL = "http://127.0.0.1:4566"
	m := newManager(t, cfg, Options{})
	ctx := context.Background()
	res, err := m.Invoke(ctx, Request{Payload: []byte(`{"action":"env"}`), RequestID: "8a6f1c4e-1111-4222-8333-444455556666",
		InvokedFunctionARN: cfg.FunctionARN + ":$LATEST", ClientContext: `{"custom":{"k":"v"}}`, CognitoIdentityID: "cog-id"})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Env           map[string]string `json:"env"`
		RequestID     string            `json:"request_id"`
		ARN           string            `json:"arn"`
		ClientContext map[string]string `json:"client_context"`
		CognitoID     string            `json:"cognito_id"`
		DeadlineMs    int64             `json:"deadline_ms"`
		FunctionName  string            `json:"function_name"`
		MemoryMB      int               `json:"memory_mb"`
		Cwd           string            `json:"cwd"`
		TmpDir        string            `json:"tmpdir"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "fn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME":      res.LogStream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"LAMBDA_TASK_ROOT":                cfg.CodeDir,
		"LAMBDA_RUNTIME_DIR":              cfg.CodeDir,
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LANG":                            "C",
		"AWS_ACCESS_KEY_ID":               "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":           "secret",
		"AWS_SESSION_TOKEN":               "token",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
		"MY_VAR":                          "my value",
	}
	for k, v := range want {
		if out.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, out.Env[k], v)
		}
	}
	for _, k := range []string{"PATH", "LD_LIBRARY_PATH", "_X_AMZN_TRACE_ID"} {
		if out.Env[k] == "" {
			t.Errorf("%s is not set", k)
		}
	}
	if _, ok := out.Env["AWS_EXECUTION_ENV"]; ok {
		t.Error("AWS_EXECUTION_ENV is set for an OS-only runtime")
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(out.Env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", out.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if out.RequestID != "8a6f1c4e-1111-4222-8333-444455556666" || out.ARN != cfg.FunctionARN+":$LATEST" {
		t.Errorf("context request id %q arn %q", out.RequestID, out.ARN)
	}
	if out.ClientContext["k"] != "v" || out.CognitoID != "cog-id" {
		t.Errorf("client context %v cognito %q", out.ClientContext, out.CognitoID)
	}
	if out.FunctionName != "fn" || out.MemoryMB != 256 || out.Cwd != cfg.CodeDir {
		t.Errorf("function name %q memory %d cwd %q", out.FunctionName, out.MemoryMB, out.Cwd)
	}
	if d := time.Until(time.UnixMilli(out.DeadlineMs)); d <= 0 || d > cfg.Timeout {
		t.Errorf("deadline is %v away, want within the %v timeout", d, cfg.Timeout)
	}
	if out.TmpDir == os.TempDir() || !strings.HasPrefix(out.TmpDir, filepath.Join(m.opts.TempDir, envTmpPrefix)) {
		t.Errorf("TMPDIR %q is not the environment's private directory", out.TmpDir)
	}
}

func TestLogCapture(t *testing.T) {
	sink := &memSink{}
	m := newManager(t, testConfig(t), Options{Sink: sink})
	res := invoke(t, m, `{"action":"log","lines":["first line","second line"]}`)
	msgs := sink.messages()
	start := indexOf(msgs, "START RequestId: "+res.RequestID+" Version: $LATEST\n")
	end := indexOf(msgs, "END RequestId: "+res.RequestID+"\n")
	report := indexOf(msgs, "REPORT RequestId: "+res.RequestID+"\t")
	initStart := indexOf(msgs, "INIT_START Runtime Version: provided:al2023.v1\tRuntime Version ARN: arn:aws:lambda:eu-west-1::runtime:")
	initLine := indexOf(msgs, "init: hello from init\n")
	if initStart != 0 || initLine < 0 || !(initLine < start && start < end && end == report-1) {
		t.Fatalf("platform lines out of order (init_start %d init %d start %d end %d report %d): %q", initStart, initLine, start, end, report, msgs)
	}
	body := msgs[start+1 : end]
	for _, want := range []string{"first line\n", "stderr: first line\n", "second line\n", "stderr: second line\n", "no newline at end\n"} {
		if indexOf(body, want) < 0 {
			t.Errorf("function output %q missing between START and END: %q", want, body)
		}
	}
	if indexOf(body, "first line\n") > indexOf(body, "second line\n") {
		t.Errorf("stdout lines out of order: %q", body)
	}
	if !reportRE.MatchString(msgs[report]) {
		t.Errorf("REPORT %q", msgs[report])
	}
	for _, e := range sink.events {
		if e.FunctionName != "fn" || e.LogGroup != "/aws/lambda/fn" || e.LogStream != res.LogStream || e.Time.IsZero() {
			t.Fatalf("event metadata %+v", e)
		}
	}
	tail := string(res.LogTail)
	if !strings.HasPrefix(tail, "START RequestId: "+res.RequestID) || !strings.HasSuffix(tail, msgs[report]) || !strings.Contains(tail, "second line\n") {
		t.Errorf("log tail %q", tail)
	}
	if strings.Contains(tail, "init: hello") {
		t.Error("log tail includes init output before START")
	}

	// The tail keeps only the last 4 KiB.
	long := make([]string, 100)
	for i := range long {
		long[i] = fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 60))
	}
	b, _ := json.Marshal(map[string]any{"action": "log", "lines": long})
	res = invoke(t, m, string(b))
	if len(res.LogTail) != LogTailSize || !strings.HasSuffix(string(res.LogTail), res.Report.Line()) {
		t.Errorf("long log tail is %d bytes ending %q", len(res.LogTail), res.LogTail[len(res.LogTail)-80:])
	}
}

func TestPayloadLimits(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	res := invoke(t, m, `{"action":"big","size":7000000}`)
	msg, typ := errorDocument(t, res.Payload)
	if msg != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." || typ != "Function.ResponseSizeTooLarge" {
		t.Errorf("too large response: %q/%q", msg, typ)
	}
	if res.FunctionError != FunctionErrorUnhandled {
		t.Errorf("FunctionError = %q", res.FunctionError)
	}
	ok := invoke(t, m, fmt.Sprintf(`{"action":"big","size":%d}`, 6*1024*1024))
	if ok.FunctionError != "" || len(ok.Payload) != 6*1024*1024+2 {
		t.Errorf("6 MiB response: FunctionError %q, %d bytes", ok.FunctionError, len(ok.Payload))
	}
	_, err := m.Invoke(context.Background(), Request{Payload: make([]byte, MaxPayloadSize+1)})
	if !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("oversized request: err = %v", err)
	}
}

func TestIdleReaping(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m := newManager(t, testConfig(t), Options{Clock: clk, IdleTTL: time.Minute})
	res := invoke(t, m, `{"action":"count"}`)
	p := struct{ Pid int }{onlyEnvPid(t, m)}
	if !strings.HasPrefix(res.LogStream, "2026/01/02/") {
		t.Errorf("log stream %q does not use the injected clock's date", res.LogStream)
	}
	if err := m.Prewarm(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Environments != 2 || st.Provisioned != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	waitFor(t, "the reaper to wait on the clock", func() bool { return clk.Waiters() > 0 })
	clk.Advance(30 * time.Second)
	if st := m.Stats(); st.Environments != 2 {
		t.Fatalf("environment reaped before its TTL: %+v", st)
	}
	clk.Advance(30 * time.Second)
	waitFor(t, "the idle on-demand environment to be reaped", func() bool { return m.Stats().Environments == 1 })
	waitFor(t, "the reaped process to die", func() bool { return syscall.Kill(p.Pid, 0) != nil })
	clk.Advance(time.Hour)
	if st := m.Stats(); st.Environments != 1 || st.Provisioned != 1 {
		t.Errorf("provisioned environment reaped: %+v", st)
	}
}

func TestPrewarm(t *testing.T) {
	m := newManager(t, testConfig(t), Options{MaxEnvironments: 3})
	if err := m.Prewarm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Environments != 2 || st.Idle != 2 || st.Provisioned != 2 {
		t.Fatalf("Stats after Prewarm(2) = %+v", st)
	}
	res := invoke(t, m, `{"action":"env"}`)
	var out struct{ Env map[string]string }
	_ = json.Unmarshal(res.Payload, &out)
	if res.ColdStart || out.Env["AWS_LAMBDA_INITIALIZATION_TYPE"] != "provisioned-concurrency" {
		t.Errorf("invoke on a provisioned environment: cold %v, init type %q", res.ColdStart, out.Env["AWS_LAMBDA_INITIALIZATION_TYPE"])
	}
	if err := m.Prewarm(context.Background(), 4); !errors.Is(err, ErrThrottled) {
		t.Errorf("Prewarm beyond the limit: %v", err)
	}
	if err := m.Prewarm(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Provisioned != 1 || st.Environments != 2 {
		t.Errorf("Stats after Prewarm(1) = %+v", st)
	}
}

func TestInitFailures(t *testing.T) {
	t.Run("missing bootstrap", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.CodeDir = t.TempDir()
		m := newManager(t, cfg, Options{})
		res := invoke(t, m, `{}`)
		msg, typ := errorDocument(t, res.Payload)
		if want := "RequestId: " + res.RequestID + " Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"; msg != want || typ != "Runtime.InvalidEntrypoint" {
			t.Errorf("%q/%q", msg, typ)
		}
		if !strings.Contains(string(res.LogTail), "END RequestId: "+res.RequestID) {
			t.Errorf("log tail %q", res.LogTail)
		}
		if st := m.Stats(); st.Environments != 0 || st.Busy != 0 {
			t.Errorf("Stats after failed init = %+v", st)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		cfg := testConfig(t)
		if err := os.Chmod(filepath.Join(cfg.CodeDir, "bootstrap"), 0o644); err != nil {
			t.Fatal(err)
		}
		m := newManager(t, cfg, Options{})
		res := invoke(t, m, `{}`)
		msg, typ := errorDocument(t, res.Payload)
		if want := "RequestId: " + res.RequestID + " Error: fork/exec /var/task/bootstrap: permission denied"; msg != want || typ != "Runtime.InvalidEntrypoint" {
			t.Errorf("%q/%q", msg, typ)
		}
	})
	t.Run("init error posted", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Env = map[string]string{"TEST_INIT": "fail"}
		sink := &memSink{}
		m := newManager(t, cfg, Options{Sink: sink})
		res := invoke(t, m, `{}`)
		if string(res.Payload) != `{"errorMessage":"init boom","errorType":"InitBoom"}` || res.ErrorType != "Runtime.InitBoom" || res.FunctionError != FunctionErrorUnhandled {
			t.Errorf("payload %s type %q", res.Payload, res.ErrorType)
		}
		if indexOf(sink.messages(), "INIT_REPORT Init Duration: ") < 0 {
			t.Errorf("no INIT_REPORT line: %q", sink.messages())
		}
		if err := m.Prewarm(context.Background(), 1); err == nil {
			t.Error("Prewarm succeeded with a failing init")
		}
	})
	t.Run("exit during init", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Env = map[string]string{"TEST_INIT": "exit"}
		m := newManager(t, cfg, Options{})
		res := invoke(t, m, `{}`)
		msg, typ := errorDocument(t, res.Payload)
		if want := "RequestId: " + res.RequestID + " Error: Runtime exited with error: exit status 3"; msg != want || typ != "Runtime.ExitError" {
			t.Errorf("%q/%q", msg, typ)
		}
	})
	t.Run("init timeout", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Env = map[string]string{"TEST_INIT": "hang"}
		m := newManager(t, cfg, Options{InitTimeout: 300 * time.Millisecond})
		res := invoke(t, m, `{}`)
		_, typ := errorDocument(t, res.Payload)
		if typ != "Sandbox.Timedout" || res.Status != StatusError {
			t.Errorf("type %q status %q", typ, res.Status)
		}
	})
}

func TestMemoryLimitBestEffort(t *testing.T) {
	cfg := testConfig(t)
	cfg.MemoryMB = 128
	m := newManager(t, cfg, Options{DisableCgroupV1: true})
	res := invoke(t, m, `{"action":"alloc","alloc_mb":200,"ms":2000}`)
	msg, typ := errorDocument(t, res.Payload)
	if typ != "Runtime.OutOfMemory" || msg != "RequestId: "+res.RequestID+" Error: Runtime exited with error: signal: killed" {
		t.Errorf("over the memory limit: %q/%q", msg, typ)
	}
	if res.MaxMemoryUsedMB < 128 {
		t.Errorf("MaxMemoryUsedMB = %d, want at least the limit", res.MaxMemoryUsedMB)
	}
	small := invoke(t, m, `{"action":"alloc","alloc_mb":20,"ms":50}`)
	if small.FunctionError != "" || small.MaxMemoryUsedMB < 20 {
		t.Errorf("20 MB allocation: FunctionError %q MaxMemoryUsedMB %d", small.FunctionError, small.MaxMemoryUsedMB)
	}
}

func TestContextCancelDiscardsEnvironment(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	invoke(t, m, `{}`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := m.Invoke(ctx, Request{Payload: []byte(`{"action":"sleep","ms":3000}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if st := m.Stats(); st.Environments != 0 {
		t.Errorf("Stats = %+v, want the cancelled environment discarded", st)
	}
}

func TestClosedManager(t *testing.T) {
	tmp := t.TempDir()
	cfg := testConfig(t)
	cfg.LayerDirs = []string{t.TempDir()}
	m, err := New(cfg, Options{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	invoke(t, m, `{}`)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Invoke(context.Background(), Request{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v", err)
	}
	// The environments' directories, the one made ahead of need and the
	// merged layers go with the Manager.
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) != 0 {
		t.Errorf("left behind in the temp dir: %v %v", ents, err)
	}
	if _, err := New(cfg, Options{TempDir: filepath.Join(tmp, "missing")}); err == nil {
		t.Error("New accepted a missing temp dir")
	}
}

// TestEnvironmentTmpDir checks that a cold start after the first one gets
// the temporary directory made ahead of need, new and empty, and that each
// environment's directory goes with it.
func TestEnvironmentTmpDir(t *testing.T) {
	tmp := t.TempDir()
	m := newManager(t, testConfig(t), Options{TempDir: tmp})
	tmpDirOf := func() string {
		var out struct {
			TmpDir string `json:"tmpdir"`
		}
		res := invoke(t, m, `{"action":"env"}`)
		if err := json.Unmarshal(res.Payload, &out); err != nil || !res.ColdStart {
			t.Fatalf("%v: cold %v %s", err, res.ColdStart, res.Payload)
		}
		m.mu.Lock() // the next invocation is a cold start again
		for _, e := range m.idle {
			m.dropLocked(e)
		}
		m.idle = nil
		m.mu.Unlock()
		return out.TmpDir
	}
	first := tmpDirOf()
	var spare string
	waitFor(t, "a temporary directory made ahead of need", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		spare = m.spareTmp
		return spare != ""
	})
	if ents, err := os.ReadDir(spare); err != nil || len(ents) != 0 || filepath.Dir(spare) != tmp {
		t.Fatalf("spare directory %s: %v %v", spare, ents, err)
	}
	if second := tmpDirOf(); second != spare || second == first {
		t.Errorf("second environment's TMPDIR %s, want the spare %s (first %s)", second, spare, first)
	}
	waitFor(t, "the first environment's directory to be removed", func() bool {
		_, err := os.Stat(first)
		return os.IsNotExist(err)
	})
}

func TestLayers(t *testing.T) {
	cfg := testConfig(t)
	l1, l2 := t.TempDir(), t.TempDir()
	for _, f := range []struct{ dir, name, body string }{
		{l1, "bin/tool", "one"}, {l1, "lib/a.txt", "a1"}, {l2, "lib/a.txt", "a2"}, {l2, "python/m.py", "m"},
	} {
		p := filepath.Join(f.dir, f.name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f.body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg.LayerDirs = []string{l1, l2}
	m := newManager(t, cfg, Options{})
	res := invoke(t, m, `{"action":"env"}`)
	var out struct{ Env map[string]string }
	_ = json.Unmarshal(res.Payload, &out)
	opt := out.Env["FOGBANK_OPT_DIR"]
	if opt == "" || !strings.Contains(out.Env["PATH"], opt+"/bin") || !strings.Contains(out.Env["LD_LIBRARY_PATH"], opt+"/lib") {
		t.Fatalf("opt dir %q not on PATH %q / LD_LIBRARY_PATH %q", opt, out.Env["PATH"], out.Env["LD_LIBRARY_PATH"])
	}
	for name, want := range map[string]string{"bin/tool": "one", "lib/a.txt": "a2", "python/m.py": "m"} {
		b, err := os.ReadFile(filepath.Join(opt, name))
		if err != nil || string(b) != want {
			t.Errorf("/opt/%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

func TestDeadIdleEnvironmentIsReplaced(t *testing.T) {
	m := newManager(t, testConfig(t), Options{})
	for i := 0; i < 5; i++ {
		invoke(t, m, `{"action":"count"}`)
		p := struct{ Pid int }{onlyEnvPid(t, m)}
		// The idle environment dies behind the manager's back; the next
		// invocation must not be charged with that crash.
		if err := syscall.Kill(p.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Wait until it is dead (a zombie or reaped): a process dying at the
		// very moment an invocation is handed to it is indistinguishable
		// from a crash in the handler, here as in Lambda.
		waitFor(t, "the killed process to die", func() bool {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
			if err != nil {
				return true
			}
			f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
		})
		next := invoke(t, m, `{"action":"echo"}`)
		if next.FunctionError != "" || !next.ColdStart {
			t.Fatalf("invoke after the idle environment died: FunctionError %q cold %v payload %s", next.FunctionError, next.ColdStart, next.Payload)
		}
	}
}

// TestDeferReport checks that a deferred report still reaches the sink
// with the memory sample, in order: the function's output, END and REPORT
// of one invocation before the next invocation's START; and that a
// handled error is deferred too.
func TestDeferReport(t *testing.T) {
	sink := &memSink{}
	m := newManager(t, testConfig(t), Options{Sink: sink})
	invoke(t, m, `{"action":"echo"}`) // cold start, reported in full
	var ids []string
	for _, p := range []string{`{"action":"log","lines":["deferred line"]}`, `{"action":"error"}`, `{"action":"echo"}`} {
		res, err := m.Invoke(context.Background(), Request{Payload: []byte(p), DeferReport: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.LogTail != nil || res.MaxMemoryUsedMB != 0 || res.ColdStart || res.Report.RequestID != res.RequestID || res.BilledDurationMs < 1 {
			t.Fatalf("deferred result %+v", res)
		}
		ids = append(ids, res.RequestID)
	}
	if st := m.Stats(); st.Environments != 1 {
		t.Fatalf("deferred reports started extra environments: %+v", st)
	}
	last := ids[len(ids)-1]
	waitFor(t, "the last deferred REPORT", func() bool {
		return indexOf(sink.messages(), "REPORT RequestId: "+last+"\t") >= 0
	})
	msgs := sink.messages()
	prevReport := -1
	for i, id := range ids {
		start := indexOf(msgs, "START RequestId: "+id+" Version: $LATEST\n")
		end := indexOf(msgs, "END RequestId: "+id+"\n")
		report := indexOf(msgs, "REPORT RequestId: "+id+"\t")
		if !(prevReport < start && start < end && end == report-1) {
			t.Fatalf("invocation %d: lines out of order (start %d end %d report %d, previous report %d): %q", i, start, end, report, prevReport, msgs)
		}
		if !reportRE.MatchString(msgs[report]) || strings.Contains(msgs[report], "Max Memory Used: 0 MB") {
			t.Errorf("deferred REPORT %q", msgs[report])
		}
		if i == 0 && indexOf(msgs[start:end], "deferred line\n") < 0 {
			t.Errorf("function output missing between START and END: %q", msgs[start:end])
		}
		prevReport = report
	}
}
