package funcrt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Runtime API (2018-06-01) paths, headers and answers. The state machine and
// the error answers follow Lambda's Runtime API: a call that does not fit
// the runtime's state is 403 InvalidStateTransition, a request id that is
// not the invocation in flight is 400 InvalidRequestID, an oversized
// response is 413 RequestEntityTooLarge, a successful post is 202 {"status":"OK"}.
const (
	rapiPrefix = "/2018-06-01/runtime"

	hdrRequestID     = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID       = "Lambda-Runtime-Trace-Id"
	hdrClientContext = "Lambda-Runtime-Client-Context"
	hdrCognito       = "Lambda-Runtime-Cognito-Identity"
	hdrErrorType     = "Lambda-Runtime-Function-Error-Type"
	trlErrorBody     = "Lambda-Runtime-Function-Error-Body"
)

type apiState int

const (
	stStarted apiState = iota
	stReady
	stInvocationResponse
	stInvocationErrorResponse
	stResponseSent
	stInitError
)

// String returns the state names Lambda's Runtime API puts in its
// InvalidStateTransition messages.
func (s apiState) String() string {
	switch s {
	case stStarted:
		return "Started"
	case stReady:
		return "Ready"
	case stInvocationResponse:
		return "InvocationResponse"
	case stInvocationErrorResponse:
		return "InvocationErrorResponse"
	case stResponseSent:
		return "RuntimeResponseSentState"
	case stInitError:
		return "InitError"
	}
	return "Unknown"
}

// outcome is what the runtime answered for an invocation (or at init).
type outcome struct {
	payload []byte
	errType string
	isError bool
}

// invocation is one event handed to a runtime.
type invocation struct {
	id        string
	payload   []byte
	deadline  time.Time
	arn       string
	traceID   string
	clientCtx string
	cognito   string

	delivered bool          // guarded by runtimeAPI.mu
	done      chan struct{} // closed when out is set
	out       outcome
}

// runtimeAPI is one environment's Runtime API endpoint.
type runtimeAPI struct {
	ln  net.Listener
	srv *http.Server

	mu         sync.Mutex
	state      apiState
	pending    *invocation
	avail      chan struct{} // closed (and replaced) when an invocation is dispatched
	initDone   chan struct{} // closed at the first /next
	initFailed chan struct{} // closed at /init/error
	initOut    outcome
	closed     chan struct{}
	closeOnce  sync.Once
}

func newRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("funcrt: runtime api listen: %w", err)
	}
	a := &runtimeAPI{
		ln:         ln,
		avail:      make(chan struct{}),
		initDone:   make(chan struct{}),
		initFailed: make(chan struct{}),
		closed:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+rapiPrefix+"/invocation/next", a.handleNext)
	mux.HandleFunc("POST "+rapiPrefix+"/invocation/{id}/response", a.handleResponse)
	mux.HandleFunc("POST "+rapiPrefix+"/invocation/{id}/error", a.handleError)
	mux.HandleFunc("POST "+rapiPrefix+"/init/error", a.handleInitError)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (a *runtimeAPI) addr() string { return a.ln.Addr().String() }

func (a *runtimeAPI) close() {
	a.closeOnce.Do(func() {
		close(a.closed)
		_ = a.srv.Close()
	})
}

// dispatch makes inv the invocation the next /next returns.
func (a *runtimeAPI) dispatch(inv *invocation) {
	a.mu.Lock()
	a.pending = inv
	close(a.avail)
	a.avail = make(chan struct{})
	a.mu.Unlock()
}

// withdraw takes back inv if the runtime has not received it yet; it
// reports whether it did.
func (a *runtimeAPI) withdraw(inv *invocation) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == inv && !inv.delivered {
		a.pending = nil
		return true
	}
	return false
}

// completeLocked records the answer for the invocation in flight.
func (a *runtimeAPI) completeLocked(inv *invocation, o outcome) {
	inv.out = o
	close(inv.done)
	if a.pending == inv {
		a.pending = nil
	}
	a.state = stResponseSent
}

func (a *runtimeAPI) handleNext(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	switch a.state {
	case stStarted:
		a.state = stReady
		close(a.initDone)
	case stResponseSent:
		a.state = stReady
	case stReady:
	default:
		st := a.state
		a.mu.Unlock()
		forbidden(w, st, stReady)
		return
	}
	for a.pending == nil {
		ch := a.avail
		a.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		case <-a.closed:
			return
		}
		a.mu.Lock()
	}
	inv := a.pending
	inv.delivered = true
	a.state = stReady
	a.mu.Unlock()

	h := w.Header()
	h.Set(hdrRequestID, inv.id)
	h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, inv.arn)
	h.Set(hdrTraceID, inv.traceID)
	if inv.clientCtx != "" {
		h.Set(hdrClientContext, inv.clientCtx)
	}
	if inv.cognito != "" {
		h.Set(hdrCognito, inv.cognito)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// beginAnswer moves the runtime from Ready to the answering state for the
// invocation id, or writes the refusal and returns nil.
func (a *runtimeAPI) beginAnswer(w http.ResponseWriter, id string, to apiState) *invocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != stReady {
		st := a.state
		forbidden(w, st, to)
		return nil
	}
	inv := a.pending
	if inv == nil || !inv.delivered || inv.id != id {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return nil
	}
	a.state = to
	return inv
}

// abortAnswer returns to Ready when the runtime's post broke off.
func (a *runtimeAPI) abortAnswer() {
	a.mu.Lock()
	if a.state == stInvocationResponse || a.state == stInvocationErrorResponse {
		a.state = stReady
	}
	a.mu.Unlock()
}

func (a *runtimeAPI) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := a.beginAnswer(w, r.PathValue("id"), stInvocationResponse)
	if inv == nil {
		return
	}
	body, tooLarge, err := readLimited(r.Body)
	if err != nil {
		a.abortAnswer()
		return
	}
	if tooLarge {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayloadSize)
		a.mu.Lock()
		a.completeLocked(inv, outcome{payload: errorDoc(msg, errTypeResponseTooLarge), errType: errTypeResponseTooLarge, isError: true})
		a.mu.Unlock()
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxPayloadSize))
		return
	}
	o := outcome{payload: body}
	// A streamed response that failed midway carries its error in trailers.
	if et := r.Trailer.Get(hdrErrorType); et != "" {
		o = outcome{errType: et, isError: true, payload: errorDoc("", et)}
		if eb, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trlErrorBody)); err == nil && len(eb) > 0 {
			o.payload = eb
		}
	}
	a.mu.Lock()
	a.completeLocked(inv, o)
	a.mu.Unlock()
	writeAccepted(w)
}

func (a *runtimeAPI) handleError(w http.ResponseWriter, r *http.Request) {
	inv := a.beginAnswer(w, r.PathValue("id"), stInvocationErrorResponse)
	if inv == nil {
		return
	}
	body, tooLarge, err := readLimited(r.Body)
	if err != nil {
		a.abortAnswer()
		return
	}
	o := errorOutcome(r.Header.Get(hdrErrorType), body, tooLarge)
	a.mu.Lock()
	a.completeLocked(inv, o)
	a.mu.Unlock()
	writeAccepted(w)
}

func (a *runtimeAPI) handleInitError(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if a.state != stStarted {
		st := a.state
		a.mu.Unlock()
		forbidden(w, st, stInitError)
		return
	}
	a.state = stInitError
	a.mu.Unlock()
	body, tooLarge, _ := readLimited(r.Body)
	a.mu.Lock()
	a.initOut = errorOutcome(r.Header.Get(hdrErrorType), body, tooLarge)
	close(a.initFailed)
	a.mu.Unlock()
	writeAccepted(w)
}

// errorOutcome builds the outcome of an error post: the body is the error
// document as the runtime sent it; the type comes from the header, else
// from the document's errorType.
func errorOutcome(hdrType string, body []byte, tooLarge bool) outcome {
	o := outcome{isError: true, errType: hdrType, payload: body}
	if tooLarge {
		o.payload = nil
	}
	if o.errType == "" && len(o.payload) > 0 {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(o.payload, &doc) == nil {
			o.errType = doc.ErrorType
		}
	}
	if len(o.payload) == 0 {
		// Lambda builds the document from the header when there is no body.
		et := o.errType
		if et == "" {
			et = errTypeUnknown
		}
		o.payload = errorDoc("", et)
		if o.errType == "" {
			o.errType = et
		}
	}
	return o
}

// readLimited reads at most MaxPayloadSize bytes, reporting whether the body was longer.
func readLimited(r io.Reader) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPayloadSize+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > MaxPayloadSize {
		return nil, true, nil
	}
	return b, false, nil
}

// errorDoc is Lambda's error document {"errorMessage":...,"errorType":...}.
func errorDoc(msg, typ string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}

func forbidden(w http.ResponseWriter, from, to apiState) {
	writeAPIError(w, http.StatusForbidden, "InvalidStateTransition",
		fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", from, to))
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorDoc(msg, typ))
}

var acceptedBody = []byte(`{"status":"OK"}`)

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody)
}
