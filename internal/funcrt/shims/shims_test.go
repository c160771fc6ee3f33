package shims

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a minimal Lambda Runtime API: /next hands out the queued
// invocations; every post is reported on posts.
type fakeAPI struct {
	srv   *httptest.Server
	invs  chan fakeInv
	posts chan post
	done  chan struct{}
}

type fakeInv struct {
	id, payload, arn, clientCtx, cognito, trace string
	deadline                                    time.Time
}

type post struct {
	kind    string // response, error, init
	id      string
	errType string // Lambda-Runtime-Function-Error-Type
	body    []byte
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{invs: make(chan fakeInv), posts: make(chan post, 16), done: make(chan struct{})}
	mux := http.NewServeMux()
	const prefix = "/2018-06-01/runtime"
	mux.HandleFunc("GET "+prefix+"/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		var inv fakeInv
		select {
		case inv = <-f.invs:
		case <-f.done:
			return
		case <-r.Context().Done():
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
		if inv.trace != "" {
			h.Set("Lambda-Runtime-Trace-Id", inv.trace)
		}
		if inv.clientCtx != "" {
			h.Set("Lambda-Runtime-Client-Context", inv.clientCtx)
		}
		if inv.cognito != "" {
			h.Set("Lambda-Runtime-Cognito-Identity", inv.cognito)
		}
		_, _ = io.WriteString(w, inv.payload)
	})
	record := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			f.posts <- post{kind: kind, id: r.PathValue("id"), errType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), body: b}
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"status":"OK"}`)
		}
	}
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", record("response"))
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", record("error"))
	mux.HandleFunc("POST "+prefix+"/init/error", record("init"))
	f.srv = httptest.NewServer(mux)
	return f
}

// syncBuffer collects the runtime's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shim is one running runtime shim against a fake API.
type shim struct {
	api    *fakeAPI
	out    *syncBuffer
	exited chan struct{}
	cmd    *exec.Cmd
	n      int
}

// output stops the runtime and returns everything it wrote (the copy of
// its output is complete only once it has been waited for).
func (s *shim) output() string {
	_ = s.cmd.Process.Kill()
	<-s.exited
	return s.out.String()
}

// argvOrSkip returns the shim command, skipping the test when the host has
// no interpreter for the runtime.
func argvOrSkip(t *testing.T, runtime string) []string {
	t.Helper()
	argv, err := Argv(runtime, t.TempDir())
	if errors.Is(err, ErrInterpreterNotFound) {
		t.Skipf("no interpreter for %s on PATH: %v", runtime, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

// startShim writes files into a task root and starts the runtime's shim on it.
func startShim(t *testing.T, runtime, handler string, files map[string]string, env ...string) *shim {
	t.Helper()
	argv := argvOrSkip(t, runtime)
	root := t.TempDir()
	writeFiles(t, root, files)
	api := newFakeAPI(t)
	out := &syncBuffer{}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "TZ=:UTC",
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(api.srv.URL, "http://"),
		"_HANDLER=" + handler, "LAMBDA_TASK_ROOT=" + root, "LAMBDA_RUNTIME_DIR=" + root,
		"AWS_LAMBDA_FUNCTION_NAME=fn", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn", "AWS_LAMBDA_LOG_STREAM_NAME=2025/01/01/[$LATEST]0123",
		"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime, "AWS_REGION=us-east-1",
	}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &shim{api: api, out: out, exited: make(chan struct{}), cmd: cmd}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
		close(api.done)
		api.srv.Close()
		if t.Failed() {
			t.Logf("runtime output:\n%s", out.String())
		}
	})
	return s
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// failsafe bounds a wait for the runtime so that a hung shim fails the test
// instead of hanging it; it is not a performance assertion.
const failsafe = 2 * time.Minute

// wait returns the runtime's next post.
func (s *shim) wait(t *testing.T) post {
	t.Helper()
	select {
	case p := <-s.api.posts:
		return p
	case <-s.exited:
		select {
		case p := <-s.api.posts:
			return p
		default:
		}
		t.Fatalf("runtime exited without posting; output:\n%s", s.out.String())
	case <-time.After(failsafe):
		t.Fatalf("no post from the runtime; output:\n%s", s.out.String())
	}
	return post{}
}

// invoke hands the runtime one invocation and returns its answer.
func (s *shim) invoke(t *testing.T, payload string, mod func(*fakeInv)) (fakeInv, post) {
	t.Helper()
	s.n++
	inv := fakeInv{id: fmt.Sprintf("req-%d", s.n), payload: payload, arn: "arn:aws:lambda:us-east-1:000000000000:function:fn",
		deadline: time.Now().Add(time.Minute)}
	if mod != nil {
		mod(&inv)
	}
	select {
	case s.api.invs <- inv:
	case p := <-s.api.posts:
		t.Fatalf("runtime posted %s before taking an invocation: %s", p.kind, p.body)
	case <-s.exited:
		t.Fatalf("runtime exited; output:\n%s", s.out.String())
	case <-time.After(failsafe):
		t.Fatalf("runtime never asked for an invocation; output:\n%s", s.out.String())
	}
	p := s.wait(t)
	if p.id != inv.id && p.kind != "init" {
		t.Fatalf("answer for %q, want %q", p.id, inv.id)
	}
	return inv, p
}

// initError expects the runtime to report an init error without taking an invocation.
func (s *shim) initError(t *testing.T) post {
	t.Helper()
	p := s.wait(t)
	if p.kind != "init" {
		t.Fatalf("got %s post %s, want init error", p.kind, p.body)
	}
	<-s.exited
	return p
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m
}

func wantResponse(t *testing.T, p post) map[string]any {
	t.Helper()
	if p.kind != "response" {
		t.Fatalf("got %s (%s) %s, want a response", p.kind, p.errType, p.body)
	}
	return decode(t, p.body)
}

// wantError checks an error post's type (header and document) and message.
func wantError(t *testing.T, p post, kind, errType, msg string) map[string]any {
	t.Helper()
	if p.kind != kind {
		t.Fatalf("got %s post %s, want %s", p.kind, p.body, kind)
	}
	doc := decode(t, p.body)
	if p.errType != errType || doc["errorType"] != errType {
		t.Fatalf("error type header %q, document %v, want %q", p.errType, doc["errorType"], errType)
	}
	if msg != "" && doc["errorMessage"] != msg {
		t.Fatalf("errorMessage %q, want %q", doc["errorMessage"], msg)
	}
	return doc
}

func withContext(inv *fakeInv) {
	inv.clientCtx = `{"client":{"installation_id":"inst","app_title":"app"},"custom":{"k":"v"},"env":{"platform":"test"}}`
	inv.cognito = `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`
	inv.trace = "Root=1-00000000-000000000000000000000000;Sampled=0"
}

// checkContext checks the context fields a handler echoed under ctx.
func checkContext(t *testing.T, inv fakeInv, got map[string]any) {
	t.Helper()
	want := map[string]any{"request_id": inv.id, "function_name": "fn", "function_version": "$LATEST", "memory": "256",
		"arn": inv.arn, "log_group": "/aws/lambda/fn", "log_stream": "2025/01/01/[$LATEST]0123",
		"custom": map[string]any{"k": "v"}, "app_title": "app", "identity_id": "id-1", "identity_pool": "pool-1",
		"trace": inv.trace}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("context %s = %v, want %v", k, got[k], v)
		}
	}
	rem, ok := got["remaining"].(float64)
	if !ok || rem <= 0 || rem > float64(time.Minute/time.Millisecond) {
		t.Errorf("remaining time %v, want within the 60 s deadline", got["remaining"])
	}
}

const pyApp = `
import logging, os
import helper

logger = logging.getLogger()
logger.setLevel(logging.INFO)
count = 0

def handler(event, context):
    global count
    count += 1
    print("hello from python", event.get("n"))
    print("multi\nline")
    logger.info("via logging\nsecond line")
    cc = context.client_context
    return {"event": event, "count": count, "helper": helper.VALUE, "ctx": {
        "request_id": context.aws_request_id, "function_name": context.function_name,
        "function_version": context.function_version, "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn, "log_group": context.log_group_name,
        "log_stream": context.log_stream_name, "remaining": context.get_remaining_time_in_millis(),
        "custom": cc.custom if cc else None, "app_title": cc.client.app_title if cc and cc.client else None,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "trace": os.environ.get("_X_AMZN_TRACE_ID")}}
`

func TestPythonInvokeContextAndLogs(t *testing.T) {
	opt := t.TempDir()
	writeFiles(t, opt, map[string]string{"python/helper.py": "VALUE = 'from layer'\n"})
	s := startShim(t, "python3.12", "app.handler", map[string]string{"app.py": pyApp}, "FOGBANK_OPT_DIR="+opt)
	for i := 1; i <= 2; i++ {
		inv, p := s.invoke(t, fmt.Sprintf(`{"n":%d}`, i), withContext)
		got := wantResponse(t, p)
		if got["count"] != float64(i) || got["helper"] != "from layer" || fmt.Sprint(got["event"]) != fmt.Sprintf("map[n:%d]", i) {
			t.Fatalf("invocation %d answered %s", i, p.body)
		}
		checkContext(t, inv, got["ctx"].(map[string]any))
	}
	out := s.output()
	for _, want := range []string{"hello from python 1\n", "hello from python 2\n", "multi\nline\n", "\treq-2\tvia logging\rsecond line\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "[INFO]\t") {
		t.Errorf("logging records not in Lambda's text format:\n%s", out)
	}
}

func TestPythonSubmoduleAndDecimal(t *testing.T) {
	s := startShim(t, "python3.12", "pkg/mod.handler", map[string]string{
		"pkg/__init__.py": "",
		"pkg/mod.py":      "import decimal\ndef handler(e, c):\n    return {'n': decimal.Decimal('3'), 'f': decimal.Decimal('1.5')}\n",
	})
	_, p := s.invoke(t, `{}`, nil)
	if got := wantResponse(t, p); got["n"] != float64(3) || got["f"] != 1.5 {
		t.Fatalf("answer %s", p.body)
	}
}

func TestPythonHandlerError(t *testing.T) {
	s := startShim(t, "python3.12", "boom.handler", map[string]string{
		"boom.py": "def handler(event, context):\n    raise ValueError('bad value')\n",
	})
	inv, p := s.invoke(t, `{}`, nil)
	doc := wantError(t, p, "error", "ValueError", "bad value")
	if doc["requestId"] != inv.id {
		t.Errorf("requestId %v, want %s", doc["requestId"], inv.id)
	}
	trace := fmt.Sprint(doc["stackTrace"])
	if !strings.Contains(trace, "boom.py") || !strings.Contains(trace, "raise ValueError('bad value')") || strings.Contains(trace, "bootstrap.py") {
		t.Errorf("stackTrace %s", trace)
	}
	// The environment survives a handler error.
	_, p = s.invoke(t, `{}`, nil)
	wantError(t, p, "error", "ValueError", "bad value")
	if out := s.output(); !strings.Contains(out, "[ERROR] ValueError: bad value\rTraceback (most recent call last):\r") {
		t.Errorf("error not logged as Lambda does:\n%q", out)
	}
}

func TestPythonMarshalError(t *testing.T) {
	s := startShim(t, "python3.12", "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return object()\n"})
	_, p := s.invoke(t, `{}`, nil)
	wantError(t, p, "error", "Runtime.MarshalError", "Unable to marshal response: Object of type object is not JSON serializable")
}

func TestPythonHandlerNotFound(t *testing.T) {
	// As in Lambda, a missing function is reported at invocation, not init.
	s := startShim(t, "python3.12", "app.nothere", map[string]string{"app.py": "def handler(e, c):\n    return 1\n"})
	inv, p := s.invoke(t, `{}`, nil)
	doc := wantError(t, p, "error", "Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'app'")
	if doc["requestId"] != inv.id || fmt.Sprint(doc["stackTrace"]) != "[]" {
		t.Errorf("document %s", p.body)
	}
}

func TestPythonInitErrors(t *testing.T) {
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
		errType, msg  string
	}{
		{"missing module", "nomod.handler", nil, "Runtime.ImportModuleError", "Unable to import module 'nomod': No module named 'nomod'"},
		{"missing dependency", "app.handler", map[string]string{"app.py": "import notinstalled\n"},
			"Runtime.ImportModuleError", "Unable to import module 'app': No module named 'notinstalled'"},
		{"malformed", "nodot", nil, "Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"},
		{"builtin", "sys.handler", nil, "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"},
		{"syntax", "bad.handler", map[string]string{"bad.py": "def handler(:\n"}, "Runtime.UserCodeSyntaxError", ""},
		{"raises", "app.handler", map[string]string{"app.py": "raise Exception('Runtime startup fails')\n"}, "Exception", "Runtime startup fails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startShim(t, "python3.12", tc.handler, tc.files)
			doc := wantError(t, s.initError(t), "init", tc.errType, tc.msg)
			if doc["requestId"] != "" {
				t.Errorf("requestId %v, want empty at init", doc["requestId"])
			}
			if tc.errType == "Runtime.UserCodeSyntaxError" && !strings.HasPrefix(doc["errorMessage"].(string), "Syntax error in module 'bad': ") {
				t.Errorf("errorMessage %v", doc["errorMessage"])
			}
		})
	}
}

const nodeContextBody = `
  console.log('hello from node', event.n, {a: 1});
  console.error('bad\nthing');
  const cc = context.clientContext;
  return {event, count: ++count, ctx: {
    request_id: context.awsRequestId, function_name: context.functionName, function_version: context.functionVersion,
    memory: context.memoryLimitInMB, arn: context.invokedFunctionArn, log_group: context.logGroupName,
    log_stream: context.logStreamName, remaining: context.getRemainingTimeInMillis(),
    custom: cc && cc.custom, app_title: cc && cc.client && cc.client.app_title,
    identity_id: context.identity && context.identity.cognitoIdentityId,
    identity_pool: context.identity && context.identity.cognitoIdentityPoolId,
    trace: process.env._X_AMZN_TRACE_ID}};
`

func TestNodeInvokeContextAndLogs(t *testing.T) {
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
	}{
		{"commonjs", "index.handler", map[string]string{"index.js": "let count = 0;\nexports.handler = async (event, context) => {" + nodeContextBody + "};\n"}},
		{"esm mjs", "index.handler", map[string]string{"index.mjs": "let count = 0;\nexport const handler = async (event, context) => {" + nodeContextBody + "};\n"}},
		{"esm package type", "src/app.handler", map[string]string{"package.json": `{"type":"module"}`,
			"src/app.js": "let count = 0;\nexport async function handler(event, context) {" + nodeContextBody + "}\n"}},
		{"cjs nested export", "lib.handlers.main", map[string]string{
			"lib.cjs": "let count = 0;\nmodule.exports = {handlers: {main: async (event, context) => {" + nodeContextBody + "}}};\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startShim(t, "nodejs20.x", tc.handler, tc.files)
			for i := 1; i <= 2; i++ {
				inv, p := s.invoke(t, fmt.Sprintf(`{"n":%d}`, i), withContext)
				got := wantResponse(t, p)
				if got["count"] != float64(i) || fmt.Sprint(got["event"]) != fmt.Sprintf("map[n:%d]", i) {
					t.Fatalf("invocation %d answered %s", i, p.body)
				}
				checkContext(t, inv, got["ctx"].(map[string]any))
			}
			out := s.output()
			for _, want := range []string{"\treq-1\tINFO\thello from node 1 { a: 1 }\n", "\treq-2\tERROR\tbad\rthing\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestNodeCallbackStyle(t *testing.T) {
	// With callbackWaitsForEmptyEventLoop (the default) the answer is sent
	// when the event loop is empty, so the timer's change is in it; without,
	// it is sent at once.
	s := startShim(t, "nodejs20.x", "index.handler", map[string]string{"index.js": `
exports.handler = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = !event.noWait;
  const out = {n: event.n};
  callback(null, out);
  setTimeout(() => { out.late = true; }, 5);
};
exports.silent = (event, context, callback) => {};
exports.fails = (event, context, callback) => callback('plain string failure');
exports.done = (event, context) => { context.succeed({legacy: true}); };
`})
	_, p := s.invoke(t, `{"n":1}`, nil)
	if got := wantResponse(t, p); got["late"] != true {
		t.Errorf("waiting callback answered %s, want the timer's change", p.body)
	}
	_, p = s.invoke(t, `{"n":2,"noWait":true}`, nil)
	if got := wantResponse(t, p); got["late"] != nil || got["n"] != float64(2) {
		t.Errorf("non-waiting callback answered %s", p.body)
	}

	s = startShim(t, "nodejs20.x", "index.silent", map[string]string{"index.js": "exports.silent = (event, context, callback) => {};\n"})
	if _, p := s.invoke(t, `{}`, nil); p.kind != "response" || string(p.body) != "null" {
		t.Errorf("handler without answer: %s %s, want null", p.kind, p.body)
	}
	s = startShim(t, "nodejs20.x", "index.fails", map[string]string{"index.js": "exports.fails = (e, c, cb) => cb('plain string failure');\n"})
	_, p = s.invoke(t, `{}`, nil)
	wantError(t, p, "error", "string", "plain string failure")
	s = startShim(t, "nodejs20.x", "index.done", map[string]string{"index.js": "exports.done = (e, c) => { c.succeed({legacy: true}); };\n"})
	if _, p := s.invoke(t, `{}`, nil); string(p.body) != `{"legacy":true}` {
		t.Errorf("context.succeed answered %s", p.body)
	}
}

func TestNodeHandlerError(t *testing.T) {
	s := startShim(t, "nodejs20.x", "index.handler", map[string]string{"index.mjs": `
export const handler = async () => { throw new TypeError('bad input'); };
`})
	_, p := s.invoke(t, `{}`, nil)
	doc := wantError(t, p, "error", "TypeError", "bad input")
	trace, _ := doc["trace"].([]any)
	if len(trace) < 2 || trace[0] != "TypeError: bad input" || !strings.Contains(fmt.Sprint(trace[1]), "index.mjs") {
		t.Errorf("trace %v", doc["trace"])
	}
	_, p = s.invoke(t, `{}`, nil)
	wantError(t, p, "error", "TypeError", "bad input")
	if out := s.output(); !strings.Contains(out, "\treq-1\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"bad input\",\"stack\":[") {
		t.Errorf("error not logged as Lambda does:\n%s", out)
	}
}

func TestNodeUnhandledRejection(t *testing.T) {
	s := startShim(t, "nodejs20.x", "index.handler", map[string]string{"index.js": `
exports.handler = async () => {
  Promise.reject(new Error('nobody caught me'));
  await new Promise((r) => setTimeout(r, 50));
  return 'too late';
};
`})
	_, p := s.invoke(t, `{}`, nil)
	wantError(t, p, "error", "Runtime.UnhandledPromiseRejection", "Error: nobody caught me")
	<-s.exited // the runtime ends after such an error, as Lambda's does
}

func TestNodeInitErrors(t *testing.T) {
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
		errType, msg  string
	}{
		{"missing module", "nofile.handler", nil, "Runtime.ImportModuleError", "Error: Cannot find module 'nofile'\nRequire stack:\n- /var/runtime/index.mjs"},
		{"missing export", "index.nothere", map[string]string{"index.js": "exports.handler = async () => 1;\n"},
			"Runtime.HandlerNotFound", "index.nothere is undefined or not exported"},
		{"not a function", "index.value", map[string]string{"index.mjs": "export const value = 3;\n"},
			"Runtime.HandlerNotFound", "index.value is not a function"},
		{"malformed", "index", map[string]string{"index.js": ""}, "Runtime.MalformedHandlerName", "Bad handler"},
		{"syntax", "index.handler", map[string]string{"index.js": "exports.handler = async () => {\n"}, "Runtime.UserCodeSyntaxError", ""},
		{"missing dependency", "index.handler", map[string]string{"index.js": "require('left-pad');\n"}, "Runtime.ImportModuleError", ""},
		{"throws", "index.handler", map[string]string{"index.mjs": "throw new RangeError('startup fails');\n"}, "RangeError", "startup fails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startShim(t, "nodejs20.x", tc.handler, tc.files)
			p := s.initError(t)
			doc := wantError(t, p, "init", tc.errType, tc.msg)
			msg, _ := doc["errorMessage"].(string)
			switch tc.name {
			case "syntax":
				if !strings.HasPrefix(msg, "SyntaxError: ") {
					t.Errorf("errorMessage %q", msg)
				}
			case "missing dependency":
				if !strings.HasPrefix(msg, "Error: Cannot find module 'left-pad'") {
					t.Errorf("errorMessage %q", msg)
				}
			}
			if _, ok := doc["trace"].([]any); !ok {
				t.Errorf("no trace array: %s", p.body)
			}
			if !strings.Contains(s.output(), "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\""+tc.errType+"\"") {
				t.Errorf("init error not logged as Lambda does:\n%s", s.out.String())
			}
		})
	}
}

func TestArgvWritesShimOnce(t *testing.T) {
	argv := argvOrSkip(t, "python3.12")
	if !filepath.IsAbs(argv[0]) {
		t.Fatalf("interpreter %q is not an absolute path", argv[0])
	}
	dir := filepath.Dir(filepath.Dir(argv[len(argv)-1]))
	again, err := Argv("python3.13", dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(again[len(again)-1])
	if err != nil || string(b) != pythonShim {
		t.Fatalf("shim file %s: %v", again[len(again)-1], err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("shim directory holds %d entries, want 1 (content-addressed)", len(entries))
	}
}

func TestArgvMissingInterpreter(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Argv("python3.12", t.TempDir())
	var ie *InterpreterError
	if !errors.Is(err, ErrInterpreterNotFound) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InterpreterError", err)
	}
	if !strings.Contains(err.Error(), "no python3.12 or python3 interpreter") {
		t.Errorf("message %q", err)
	}
	if _, err := Argv("nodejs22.x", t.TempDir()); !errors.Is(err, ErrInterpreterNotFound) || !strings.Contains(err.Error(), "no node interpreter") {
		t.Errorf("node: %v", err)
	}
	if _, err := Argv("provided.al2023", t.TempDir()); !errors.Is(err, ErrUnsupportedRuntime) {
		t.Errorf("provided: %v", err)
	}
}

func TestArgvResolvesVersionManagerShims(t *testing.T) {
	exe := argvOrSkip(t, "python3.12")[0]
	bin := t.TempDir()
	// A pyenv-like shim for the exact version that fails (version not
	// selected), and one for python3 that execs the real interpreter.
	writeFiles(t, bin, map[string]string{
		"python3.12": "#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n",
		"python3":    "#!/bin/sh\nexec " + exe + " \"$@\"\n",
	})
	for _, n := range []string{"python3.12", "python3"} {
		if err := os.Chmod(filepath.Join(bin, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	argv, err := Argv("python3.12", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if argv[0] != exe {
		t.Fatalf("interpreter %q: the shim was not resolved", argv[0])
	}
}

func TestLanguageOf(t *testing.T) {
	for rt, want := range map[string]Language{"python3.12": Python, "python3.8": Python, "nodejs20.x": Node,
		"nodejs24.x": Node, "provided.al2023": "", "java21": "", "": ""} {
		if got := LanguageOf(rt); got != want {
			t.Errorf("LanguageOf(%q) = %q, want %q", rt, got, want)
		}
	}
}
