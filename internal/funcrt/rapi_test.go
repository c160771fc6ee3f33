package funcrt

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type apiClient struct {
	t    *testing.T
	base string
}

func (c apiClient) do(method, path, body string, hdr map[string]string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func newTestAPI(t *testing.T) (*runtimeAPI, apiClient) {
	a, err := newRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a, apiClient{t: t, base: "http://" + a.addr() + "/2018-06-01/runtime"}
}

func testInvocation(id string) *invocation {
	return &invocation{id: id, payload: []byte(`{"k":1}`), deadline: time.UnixMilli(1700000000123),
		arn: "arn:aws:lambda:us-east-1:111111111111:function:fn", traceID: "Root=1-abc", done: make(chan struct{})}
}

const transitionMsg = `{"errorMessage":"State transition from %s to %s failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}`

func TestRuntimeAPIStateMachine(t *testing.T) {
	a, c := newTestAPI(t)

	// Before the first /next the runtime may only fetch or report an init error.
	code, _, body := c.do("POST", "/invocation/x/response", "{}", nil)
	if want := strings.NewReplacer("%s to %s", "Started to InvocationResponse").Replace(transitionMsg); code != 403 || body != want {
		t.Errorf("response before next: %d %s", code, body)
	}
	code, _, body = c.do("POST", "/invocation/x/error", "{}", nil)
	if code != 403 || !strings.Contains(body, "from Started to InvocationErrorResponse") {
		t.Errorf("error before next: %d %s", code, body)
	}

	inv := testInvocation("req-1")
	inv.clientCtx = `{"custom":{}}`
	inv.cognito = `{"cognitoIdentityId":"a","cognitoIdentityPoolId":"b"}`
	go func() {
		<-a.initDone
		a.dispatch(inv)
	}()
	code, hdr, body := c.do("GET", "/invocation/next", "", nil)
	if code != 200 || body != `{"k":1}` {
		t.Fatalf("next: %d %s", code, body)
	}
	for k, v := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "req-1",
		"Lambda-Runtime-Deadline-Ms":          "1700000000123",
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:111111111111:function:fn",
		"Lambda-Runtime-Trace-Id":             "Root=1-abc",
		"Lambda-Runtime-Client-Context":       `{"custom":{}}`,
		"Lambda-Runtime-Cognito-Identity":     `{"cognitoIdentityId":"a","cognitoIdentityPoolId":"b"}`,
		"Content-Type":                        "application/json",
	} {
		if got := hdr.Get(k); got != v {
			t.Errorf("next header %s = %q, want %q", k, got, v)
		}
	}

	code, _, body = c.do("POST", "/init/error", "{}", nil)
	if code != 403 || !strings.Contains(body, "from Ready to InitError") {
		t.Errorf("init error after next: %d %s", code, body)
	}
	code, _, body = c.do("POST", "/invocation/req-2/response", "{}", nil)
	if code != 400 || body != `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` {
		t.Errorf("wrong request id: %d %s", code, body)
	}
	code, _, body = c.do("POST", "/invocation/req-1/response", `"ok"`, nil)
	if code != 202 || body != `{"status":"OK"}` {
		t.Errorf("response: %d %s", code, body)
	}
	<-inv.done
	if string(inv.out.payload) != `"ok"` || inv.out.isError {
		t.Errorf("outcome %+v", inv.out)
	}
	code, _, body = c.do("POST", "/invocation/req-1/response", `"again"`, nil)
	if want := strings.NewReplacer("%s to %s", "RuntimeResponseSentState to InvocationResponse").Replace(transitionMsg); code != 403 || body != want {
		t.Errorf("second response: %d %s", code, body)
	}

	// Error post: type from the header, document passed through.
	inv2 := testInvocation("req-2")
	a.dispatch(inv2)
	if code, _, _ := c.do("GET", "/invocation/next", "", nil); code != 200 {
		t.Fatalf("next: %d", code)
	}
	code, _, _ = c.do("POST", "/invocation/req-2/error", `{"errorMessage":"m","errorType":"T","stackTrace":[]}`,
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Custom.Type"})
	<-inv2.done
	if code != 202 || !inv2.out.isError || inv2.out.errType != "Custom.Type" || string(inv2.out.payload) != `{"errorMessage":"m","errorType":"T","stackTrace":[]}` {
		t.Errorf("error post: %d %+v", code, inv2.out)
	}
}

func TestRuntimeAPIErrorTypeFromBody(t *testing.T) {
	for _, tc := range []struct {
		name, hdr, body, wantType, wantPayload string
	}{
		{"type from document", "", `{"errorMessage":"x","errorType":"errorString"}`, "errorString", `{"errorMessage":"x","errorType":"errorString"}`},
		{"no body", "Runtime.Custom", "", "Runtime.Custom", `{"errorMessage":"","errorType":"Runtime.Custom"}`},
		{"nothing", "", "", "Runtime.Unknown", `{"errorMessage":"","errorType":"Runtime.Unknown"}`},
		{"not json", "", "plain text", "", "plain text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := errorOutcome(tc.hdr, []byte(tc.body), false)
			if o.errType != tc.wantType || string(o.payload) != tc.wantPayload || !o.isError {
				t.Errorf("errorOutcome = %+v (%s)", o, o.payload)
			}
		})
	}
}

func TestRuntimeAPIResponseTooLarge(t *testing.T) {
	a, c := newTestAPI(t)
	inv := testInvocation("big")
	go func() {
		<-a.initDone
		a.dispatch(inv)
	}()
	if code, _, _ := c.do("GET", "/invocation/next", "", nil); code != 200 {
		t.Fatal(code)
	}
	code, _, body := c.do("POST", "/invocation/big/response", strings.Repeat("a", MaxPayloadSize+1), nil)
	if code != 413 || body != `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}` {
		t.Errorf("oversized response: %d %s", code, body)
	}
	<-inv.done
	if inv.out.errType != "Function.ResponseSizeTooLarge" {
		t.Errorf("outcome %+v", inv.out)
	}
	// The invocation is over: the runtime may fetch the next one.
	inv2 := testInvocation("after")
	a.dispatch(inv2)
	if code, hdr, _ := c.do("GET", "/invocation/next", "", nil); code != 200 || hdr.Get(hdrRequestID) != "after" {
		t.Errorf("next after too large: %d", code)
	}
}

func TestRuntimeAPIErrorTrailers(t *testing.T) {
	a, c := newTestAPI(t)
	inv := testInvocation("s")
	go func() {
		<-a.initDone
		a.dispatch(inv)
	}()
	c.do("GET", "/invocation/next", "", nil)
	// A streamed response that fails midway reports its error in trailers,
	// as aws-lambda-go does.
	doc := `{"errorMessage":"stream broke","errorType":"readError"}`
	req, _ := http.NewRequest("POST", c.base+"/invocation/s/response", io.MultiReader(strings.NewReader("partial")))
	req.ContentLength = -1
	req.Trailer = http.Header{hdrErrorType: {"readError"}, trlErrorBody: {base64.StdEncoding.EncodeToString([]byte(doc))}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-inv.done
	if !inv.out.isError || inv.out.errType != "readError" || !bytes.Equal(inv.out.payload, []byte(doc)) {
		t.Errorf("outcome %+v %s", inv.out, inv.out.payload)
	}
}

func TestRuntimeAPIInitError(t *testing.T) {
	a, c := newTestAPI(t)
	code, _, body := c.do("POST", "/init/error", `{"errorMessage":"bad","errorType":"E"}`, map[string]string{hdrErrorType: "Runtime.Bad"})
	if code != 202 || body != `{"status":"OK"}` {
		t.Errorf("init error: %d %s", code, body)
	}
	<-a.initFailed
	if a.initOut.errType != "Runtime.Bad" || string(a.initOut.payload) != `{"errorMessage":"bad","errorType":"E"}` {
		t.Errorf("init outcome %+v", a.initOut)
	}
	code, _, body = c.do("GET", "/invocation/next", "", nil)
	if code != 403 || !strings.Contains(body, "from InitError to Ready") {
		t.Errorf("next after init error: %d %s", code, body)
	}
	if code, _, _ := c.do("GET", "/invocation/nope", "", nil); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}

func FuzzRuntimeAPIRequestID(f *testing.F) {
	f.Add("req-1", `"ok"`)
	f.Add("../next", "")
	f.Add("%2e%2e", "{}")
	a, err := newRuntimeAPI()
	if err != nil {
		f.Fatal(err)
	}
	defer a.close()
	go func() { <-a.initDone; a.dispatch(testInvocation("req-1")) }()
	resp, err := http.Get("http://" + a.addr() + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		f.Fatal(err)
	}
	resp.Body.Close()
	f.Fuzz(func(t *testing.T, id, body string) {
		req, err := http.NewRequest("POST", "http://"+a.addr()+"/2018-06-01/runtime/invocation/"+id+"/error", strings.NewReader(body))
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 202, 400, 403, 404, 405, 301, 307:
		default:
			t.Errorf("id %q: status %d", id, resp.StatusCode)
		}
		if resp.StatusCode == 202 && id != "req-1" {
			t.Errorf("id %q accepted for invocation req-1", id)
		}
	})
}
