package server

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/lambda"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/sigv4"
	"github.com/fogbank/fogbank/internal/storage"
)

// Handler returns the front door's HTTP handler.
func (s *Server) Handler() http.Handler {
	admin := s.adminMux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fogbank/") || r.URL.Path == "/metrics" {
			if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Credential") == "" {
				admin.ServeHTTP(w, r)
				return
			}
		}
		s.serveAWS(w, r)
	})
}

// requestIDHeader is x-amzn-RequestId in canonical form (set directly, it
// costs no canonicalisation per request).
const requestIDHeader = "X-Amzn-Requestid"

// corsExpose lists response headers browser SDKs need to read.
const corsExpose = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, x-amz-request-id, x-amz-id-2, " +
	"x-amz-version-id, x-amz-delete-marker, x-amz-function-error, x-amz-log-result, x-amz-executed-version, " +
	"x-amzn-query-error, ETag, Date, Content-Length"

func (s *Server) serveAWS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := s.ids.UUID()
	h := w.Header()
	h[requestIDHeader] = []string{reqID}
	// Function URLs answer CORS from their own configuration (lambda package).
	if r.Header.Get("Origin") != "" && !lambda.IsFunctionURLRequest(r) {
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", corsExpose)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, PATCH, OPTIONS")
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			} else {
				h.Set("Access-Control-Allow-Headers", "*")
			}
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusOK)
			return
		}
	}

	// The call and the response writer share one allocation.
	st := &requestState{
		srv:   s,
		start: start,
		call: service.Call{
			RequestID: reqID,
			Time:      s.clock.Now().UTC(),
			SourceIP:  clientIP(r),
			UserAgent: r.UserAgent(),
			Host:      r.Host,
			Scheme:    "http",
			Region:    s.cfg.Region,
		},
	}
	st.sw = statusWriter{ResponseWriter: w, contentLength: -1, req: st}
	call, sw := &st.call, &st.sw
	if r.TLS != nil {
		call.Scheme = "https"
	}
	r = r.WithContext(service.WithCall(r.Context(), call))

	svc, op, rerr := s.route(r)
	if rerr != nil {
		writeRouteError(sw, r, rerr)
		st.observe()
		return
	}
	call.Service = svc.Name()
	call.Operation = op

	if err := s.authenticate(r, svc, call, op); err != nil {
		svc.WriteError(sw, r, err)
		st.observe()
		return
	}
	if call.Account != "" {
		// The storage writes this call makes share the embedded store's
		// commits fairly with other accounts' (see storage.WithFairnessKey).
		r = r.WithContext(storage.WithFairnessKey(r.Context(), call.Account))
	}

	svc.ServeHTTP(sw, r)

	st.observe()
	if !call.NoTrail && call.Operation != "" && call.Account != "" {
		s.trail.Record(call)
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) { // the arguments cost allocations
		s.log.Debug("request", "request_id", reqID, "service", svc.Name(), "operation", call.Operation,
			"account", call.Account, "status", sw.code(), "error", call.ErrorCode, "duration", time.Since(start))
	}
}

// requestState is the front door's per-request state (one allocation).
type requestState struct {
	srv      *Server
	start    time.Time
	call     service.Call
	sw       statusWriter
	observed bool
}

// observe counts the request in the metrics, once: when its response is
// complete (see statusWriter) or when the handler returns.
func (st *requestState) observe() {
	if st.observed {
		return
	}
	st.observed = true
	svc := st.call.Service
	if svc == "" {
		svc = "unknown"
	}
	st.srv.metrics.observe(svc, st.call.Operation, st.sw.code(), time.Since(st.start))
}

// respondEarly reports whether a complete response may be sent before
// the handler returns, and does the bookkeeping a client may observe
// first. Only calls without a trail record qualify: a call's trail record
// is queued before its answer is sent, so that a client that flushes the
// trail after an answer finds the call in it.
func (st *requestState) respondEarly() bool {
	if !st.call.NoTrail {
		return false
	}
	st.observe()
	return true
}

// routeError is an AWS-shaped answer for a request no service takes.
type routeError struct {
	kind protocol.Kind
	err  *protocol.Error
}

func (s *Server) route(r *http.Request) (service.Service, string, *routeError) {
	// Function URLs (<url-id>.lambda-url.<region>.<host>, or a path form)
	// and presigned code downloads go to Lambda as operations listed in its
	// Routes.Unsigned; a signed request is still verified (AuthType AWS_IAM).
	if svc, ok := s.byName["lambda"]; ok {
		if op, ok := lambda.UnsignedOperation(r); ok {
			return svc, op, nil
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		prefix, op, _ := strings.Cut(t, ".")
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			prefix, op = t[:i], t[i+1:]
		}
		if svc, ok := s.byTarget[prefix]; ok {
			return svc, op, nil
		}
		// Some targets carry a dotted namespace; try the first segment too.
		if p, _, ok := strings.Cut(t, "."); ok {
			if svc, ok := s.byTarget[p]; ok {
				return svc, op, nil
			}
		}
		return nil, "", &routeError{protocol.AWSJSON11, notServed(serviceOfTarget(prefix))}
	}
	if r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		name := "unknown"
		if len(parts) >= 2 && parts[0] == "service" {
			name = parts[1]
		}
		return nil, "", &routeError{protocol.AWSJSON10, notServed(name + " (rpcv2Cbor)")}
	}
	if scope, ok := sigv4.ParseScope(r); ok {
		if svc, ok := s.byName[scope.Service]; ok {
			return svc, s.queryAction(r), nil
		}
		return nil, "", &routeError{guessKind(r), notServed(scope.Service)}
	}
	// Unsigned: query Version, then host, then path.
	if isForm(r) || queryValue(r.URL.RawQuery, "Action", false) != "" {
		vals := r.URL.Query()
		if isForm(r) {
			if v, err := protocol.ParseQuery(r); err == nil {
				vals = v
			}
		}
		if svc, ok := s.byVersion[vals.Get("Version")]; ok {
			return svc, vals.Get("Action"), nil
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if label, _, ok := strings.Cut(host, "."); ok {
		if svc, ok := s.byEndpoint[label]; ok {
			return svc, "", nil
		}
	}
	for _, svc := range s.services {
		for _, p := range svc.Routes().PathPrefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				return svc, "", nil
			}
		}
	}
	return nil, "", &routeError{guessKind(r), &protocol.Error{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: 403}}
}

// queryAction is the awsQuery Action of a request: the URL query's, else
// the form body's ("" when the form is malformed, as protocol.ParseQuery
// rejects it). The body is read into memory and r.Body replaced.
func (s *Server) queryAction(r *http.Request) string {
	if a := queryValue(r.URL.RawQuery, "Action", false); a != "" {
		return a
	}
	if isForm(r) {
		b, err := protocol.ReadBody(r, 0)
		if err != nil {
			return ""
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		return queryValue(string(b), "Action", true)
	}
	return ""
}

// queryValue is url.ParseQuery(raw) followed by Get(key), without
// building the map: the first value of key, or "". Lenient, as
// URL.Query: malformed pairs are skipped. Strict, as protocol.ParseQuery:
// any malformed pair makes the whole query "".
func queryValue(raw, key string, strict bool) string {
	if !strings.Contains(raw, key) && strings.IndexByte(raw, '%') < 0 {
		return "" // key cannot be there, even escaped
	}
	found, value := false, ""
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		var kerr, verr error
		if strings.Contains(pair, ";") { // url.ParseQuery refuses semicolons
			kerr = errors.New("semicolon")
		} else if k, kerr = url.QueryUnescape(k); kerr == nil {
			v, verr = url.QueryUnescape(v)
		}
		if kerr != nil || verr != nil {
			if strict {
				return ""
			}
			continue
		}
		if k == key && !found {
			found, value = true, v
		}
	}
	return value
}

// formType is the media type of awsQuery request bodies.
const formType = "application/x-www-form-urlencoded"

func isForm(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	return isFormType(r.Header.Get("Content-Type"))
}

// isFormType reports whether the media type of a Content-Type value is
// the form type, as mime.ParseMediaType reads it (case-insensitive,
// parameters and surrounding space ignored), without parsing parameters.
func isFormType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), formType)
}

func guessKind(r *http.Request) protocol.Kind {
	if isForm(r) || queryValue(r.URL.RawQuery, "Action", false) != "" {
		return protocol.AWSQuery
	}
	return protocol.AWSJSON11
}

var targetServices = map[string]string{
	"DynamoDB_20120810": "dynamodb", "TrentService": "kms", "secretsmanager": "secretsmanager",
	"AmazonSSM": "ssm", "Logs_20140328": "logs", "AWSStepFunctions": "states", "AWSEvents": "events",
	"AmazonSQS": "sqs", "Kinesis_20131202": "kinesis", "GraniteServiceVersion20100801": "monitoring",
}

func serviceOfTarget(prefix string) string {
	if n, ok := targetServices[prefix]; ok {
		return n
	}
	return prefix
}

func notServed(name string) *protocol.Error {
	return &protocol.Error{Code: "NotImplemented", Status: http.StatusNotImplemented,
		Message: "Fogbank does not serve the '" + name + "' service yet; see docs/compatibility.md"}
}

func writeRouteError(w http.ResponseWriter, r *http.Request, e *routeError) {
	protocol.Codec{Kind: e.kind}.WriteError(w, r, e.err)
}

// authenticate verifies the request signature and fills in the caller.
func (s *Server) authenticate(r *http.Request, svc service.Service, call *service.Call, op string) error {
	if op != "" {
		for _, u := range s.unsigned[svc.Name()] {
			if u == op && r.Header.Get("Authorization") == "" {
				call.Account = ""
				return nil
			}
		}
	}
	var akid string
	if s.identity.AnyCredentials() {
		scope, ok := sigv4.ParseScope(r)
		if !ok {
			return authError(r, &sigv4.Error{Kind: sigv4.KindMissingAuth, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: 403})
		}
		akid = scope.AccessKeyID
		if scope.Region != "" {
			call.Region = scope.Region
		}
		// Buffer the body so services can read it as usual.
	} else {
		res, err := s.verifier.Verify(r)
		if err != nil {
			var se *sigv4.Error
			if errors.As(err, &se) {
				return authError(r, se)
			}
			return err
		}
		akid = res.AccessKeyID
		if res.Region != "" {
			call.Region = res.Region
		}
	}
	key, err := s.identity.Lookup(r.Context(), akid)
	if errors.Is(err, identity.ErrExpired) {
		e := &protocol.Error{Code: "ExpiredToken", Message: "The security token included in the request is expired", Status: 403}
		if !isForm(r) && queryValue(r.URL.RawQuery, "Action", false) == "" {
			e.Code, e.QueryCode = "ExpiredTokenException", "ExpiredToken"
		}
		return e
	}
	if err != nil {
		return authError(r, &sigv4.Error{Kind: sigv4.KindUnknownKey, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403})
	}
	call.Identity = key.Identity()
	call.Account = key.Account
	return nil
}

// authError maps a verification failure to the code the request's protocol
// family uses: query services say SignatureDoesNotMatch and
// InvalidClientTokenId, JSON services InvalidSignatureException and
// UnrecognizedClientException.
func authError(r *http.Request, e *sigv4.Error) *protocol.Error {
	pe := &protocol.Error{Code: e.Code, Message: e.Message, Status: e.Status}
	if pe.Status == 0 {
		pe.Status = 403
	}
	if isForm(r) || queryValue(r.URL.RawQuery, "Action", false) != "" {
		return pe
	}
	switch e.Kind {
	case sigv4.KindMissingAuth:
		pe.Code, pe.Message = "MissingAuthenticationTokenException", "Missing Authentication Token"
	case sigv4.KindUnknownKey, sigv4.KindInvalidToken:
		pe.Code = "UnrecognizedClientException"
	case sigv4.KindSignatureMismatch, sigv4.KindSkew, sigv4.KindExpired, sigv4.KindNotYetValid:
		pe.Code = "InvalidSignatureException"
	case sigv4.KindIncomplete, sigv4.KindHostNotSigned, sigv4.KindScope, sigv4.KindBadDate, sigv4.KindUnsupportedAlgorithm:
		pe.Code = "IncompleteSignatureException"
	}
	pe.QueryCode = e.Code
	return pe
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter records the status code written. For calls that qualify
// (requestState.respondEarly: no trail record), it flushes the response
// as soon as the body declared by Content-Length is complete, so that the
// client has it while the service and the front door finish (deferred
// work, logs). Otherwise the response is sent when the handler returns.
type statusWriter struct {
	http.ResponseWriter
	status int
	// contentLength is the declared body length once the header is
	// written (-1: none or unknown); written counts the body bytes.
	contentLength, written int64
	// req is the request's state (nil: never respond early).
	req *requestState
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if code >= 200 {
			w.contentLength = declaredLength(w.ResponseWriter.Header())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.contentLength = declaredLength(w.ResponseWriter.Header())
	}
	n, err := w.ResponseWriter.Write(b)
	if w.contentLength > 0 && n > 0 {
		w.written += int64(n)
		if w.written == w.contentLength && err == nil && w.req != nil && w.req.respondEarly() {
			w.Flush()
		}
	}
	return n, err
}

// declaredLength is the Content-Length of a response header, or -1.
func declaredLength(h http.Header) int64 {
	v := h["Content-Length"]
	if len(v) != 1 {
		return -1
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// Flush supports streaming responses.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
