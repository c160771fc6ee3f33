package lambda

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

// FunctionURLPathPrefix is the path form of function URLs, for clients that
// cannot resolve <url-id>.lambda-url.<region>.<host> names:
// <endpoint>/2021-10-31/function-urls/<url-id>/<path> serves the same
// function URL as http://<url-id>.lambda-url.<region>.<host>/<path>.
const FunctionURLPathPrefix = "/2021-10-31/function-urls/"

// Operations served without a signature.
const (
	opInvokeFunctionURL = "InvokeFunctionUrl"
	opPresignedDownload = "GetPresignedCode"
)

// UnsignedOperation reports whether r is one of the Lambda requests that
// need no signature — a function URL request (any auth type; AWS_IAM
// URLs check the caller themselves) or a presigned code download — and
// names its operation. The front door routes such requests here and lets
// unsigned ones through.
func UnsignedOperation(r *http.Request) (string, bool) {
	if IsFunctionURLRequest(r) {
		return opInvokeFunctionURL, true
	}
	if strings.TrimSuffix(r.URL.Path, "/") == presignPath {
		return opPresignedDownload, true
	}
	return "", false
}

// IsFunctionURLRequest reports whether r addresses a function URL, by host
// (<url-id>.lambda-url.<region>.<anything>) or by the path form. The front
// door routes such requests to this service and lets unsigned ones through
// as the unsigned operation InvokeFunctionUrl.
func IsFunctionURLRequest(r *http.Request) bool {
	_, _, ok := urlRequestTarget(r)
	return ok
}

// urlRequestTarget returns the URL id and the raw (escaped) path the
// function sees.
func urlRequestTarget(r *http.Request) (id, rawPath string, ok bool) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if labels := strings.SplitN(host, ".", 4); len(labels) >= 3 && labels[1] == "lambda-url" && labels[0] != "" && labels[2] != "" {
		p := r.URL.EscapedPath()
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // a request line's path always begins with "/"
		}
		return strings.ToLower(labels[0]), p, true
	}
	if p := r.URL.EscapedPath(); strings.HasPrefix(p, FunctionURLPathPrefix) {
		rest := p[len(FunctionURLPathPrefix):]
		id, path, _ := strings.Cut(rest, "/")
		if id == "" {
			return "", "", false
		}
		return strings.ToLower(id), "/" + path, true
	}
	return "", "", false
}

// writeURLError writes a function URL error as Lambda's URL front end does:
// a JSON {"Message": ...} body.
func writeURLError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"Message": msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// urlEvent is the payload format 2.0 event a function URL invocation sends.
type urlEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        urlRequestContext `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type urlRequestContext struct {
	AccountID    string         `json:"accountId"`
	APIID        string         `json:"apiId"`
	Authorizer   *urlAuthorizer `json:"authorizer,omitempty"`
	DomainName   string         `json:"domainName"`
	DomainPrefix string         `json:"domainPrefix"`
	HTTP         urlHTTP        `json:"http"`
	RequestID    string         `json:"requestId"`
	RouteKey     string         `json:"routeKey"`
	Stage        string         `json:"stage"`
	Time         string         `json:"time"`
	TimeEpoch    int64          `json:"timeEpoch"`
}

type urlAuthorizer struct {
	IAM urlIAM `json:"iam"`
}

type urlIAM struct {
	AccessKey       string `json:"accessKey"`
	AccountID       string `json:"accountId"`
	CallerID        string `json:"callerId"`
	CognitoIdentity any    `json:"cognitoIdentity"`
	PrincipalOrgID  any    `json:"principalOrgId"`
	UserARN         string `json:"userArn"`
	UserID          string `json:"userId"`
}

type urlHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// isTextContent reports whether a request body of this type is passed as
// text; other bodies (and any with a Content-Encoding) are base64-encoded.
func isTextContent(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), mt == "application/json", mt == "application/javascript",
		mt == "application/xml", strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// urlEventFrom builds the 2.0 event of a request.
func urlEventFrom(r *http.Request, call *service.Call, id, rawPath string, body []byte) urlEvent {
	ev := urlEvent{Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[lk] = strings.Join(vs, ",")
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, "80"
	}
	ev.Headers["host"] = r.Host
	if _, ok := ev.Headers["x-forwarded-for"]; !ok {
		ev.Headers["x-forwarded-for"] = call.SourceIP
	}
	ev.Headers["x-forwarded-proto"] = call.Scheme
	ev.Headers["x-forwarded-port"] = port
	if _, ok := ev.Headers["x-amzn-trace-id"]; !ok {
		ev.Headers["x-amzn-trace-id"] = "Root=1-" + strconv.FormatInt(call.Time.Unix(), 16) + "-" + strings.ReplaceAll(call.RequestID, "-", "")[:24]
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		var s string
		if r.Header.Get("Content-Encoding") == "" && isTextContent(r.Header.Get("Content-Type")) {
			s = string(body)
		} else {
			s = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
		ev.Body = &s
	}
	ev.RequestContext = urlRequestContext{AccountID: "anonymous", APIID: id, DomainName: host, DomainPrefix: id,
		HTTP:      urlHTTP{Method: r.Method, Path: rawPath, Protocol: r.Proto, SourceIP: call.SourceIP, UserAgent: r.UserAgent()},
		RequestID: call.RequestID, RouteKey: "$default", Stage: "$default",
		Time: call.Time.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: call.Time.UnixMilli()}
	if call.Account != "" {
		id := call.Identity
		ev.RequestContext.AccountID = call.Account
		ev.RequestContext.Authorizer = &urlAuthorizer{IAM: urlIAM{AccessKey: id.AccessKeyID, AccountID: call.Account,
			CallerID: id.PrincipalID, UserARN: id.ARN, UserID: id.PrincipalID}}
	}
	return ev
}

// urlResponse is a function's answer mapped to HTTP.
type urlResponse struct {
	status  int
	header  http.Header
	body    []byte
	cookies []string
}

// mapURLResponse interprets a function's response as Lambda does for
// payload format 2.0: an object with statusCode is a structured response
// (statusCode, headers, cookies, body, isBase64Encoded); anything else is
// a 200 application/json answer whose body is the response (a JSON string
// is sent unquoted).
func mapURLResponse(payload []byte) (urlResponse, error) {
	out := urlResponse{status: http.StatusOK, header: http.Header{}}
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) == nil {
		if sc, ok := probe["statusCode"]; ok {
			var st struct {
				StatusCode      int               `json:"statusCode"`
				Headers         map[string]string `json:"headers"`
				Cookies         []string          `json:"cookies"`
				Body            *string           `json:"body"`
				IsBase64Encoded bool              `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(payload, &st); err != nil || st.StatusCode < 100 || st.StatusCode > 599 {
				return out, errors.New("lambda: function URL response: bad statusCode " + string(sc))
			}
			out.status = st.StatusCode
			for k, v := range st.Headers {
				out.header.Set(k, v)
			}
			if out.header.Get("Content-Type") == "" {
				out.header.Set("Content-Type", "application/json")
			}
			out.cookies = st.Cookies
			if st.Body != nil {
				if st.IsBase64Encoded {
					b, err := base64.StdEncoding.DecodeString(*st.Body)
					if err != nil {
						return out, errors.New("lambda: function URL response: body is not valid base64")
					}
					out.body = b
				} else {
					out.body = []byte(*st.Body)
				}
			}
			return out, nil
		}
	}
	out.header.Set("Content-Type", "application/json")
	var str string
	if len(payload) > 0 && payload[0] == '"' && json.Unmarshal(payload, &str) == nil {
		out.body = []byte(str)
	} else {
		out.body = payload
	}
	return out, nil
}

// corsOrigin returns the Access-Control-Allow-Origin value for origin, or "".
func corsOrigin(c *urlCors, origin string) string {
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if c.AllowCredentials != nil && *c.AllowCredentials {
				return origin
			}
			return "*"
		}
		if strings.EqualFold(o, origin) {
			return origin
		}
	}
	return ""
}

// serveCORS adds a function URL's CORS headers and answers preflight
// requests; it reports whether the request was answered.
func serveCORS(w http.ResponseWriter, r *http.Request, c *urlCors) bool {
	origin := r.Header.Get("Origin")
	if c == nil || origin == "" {
		return false
	}
	h := w.Header()
	allow := corsOrigin(c, origin)
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		h.Add("Vary", "Origin")
		if c.AllowCredentials != nil && *c.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if !preflight && len(c.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
		}
	}
	if !preflight {
		return false
	}
	if allow != "" {
		reqMethod := r.Header.Get("Access-Control-Request-Method")
		if slices.Contains(c.AllowMethods, "*") {
			h.Set("Access-Control-Allow-Methods", reqMethod)
		} else if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		}
		if slices.Contains(c.AllowHeaders, "*") {
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
		} else if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if c.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
		}
	}
	w.WriteHeader(http.StatusOK)
	return true
}

// urlAllowed applies the function URL's auth type: AWS_IAM needs a signed
// request from the function's account, or from a principal its resource
// policy names; NONE needs a policy statement that lets "*" call
// lambda:InvokeFunctionUrl, as Lambda requires.
func urlAllowed(call *service.Call, u urlRecord, res resolved) bool {
	if u.AuthType == "AWS_IAM" {
		if call.Account == "" {
			return false
		}
		if call.Account == res.ref.Account {
			return true
		}
	}
	for _, st := range res.fn.Policy {
		if st.Qualifier != u.Qualifier {
			continue
		}
		var doc struct {
			Effect    string
			Action    string
			Principal json.RawMessage
		}
		if json.Unmarshal(st.Statement, &doc) != nil || doc.Effect != "Allow" {
			continue
		}
		if doc.Action != "lambda:InvokeFunctionUrl" && doc.Action != "lambda:*" {
			continue
		}
		var p string
		if json.Unmarshal(doc.Principal, &p) == nil && p == "*" {
			return true
		}
		var m map[string]string
		if u.AuthType == "AWS_IAM" && json.Unmarshal(doc.Principal, &m) == nil {
			if a := m["AWS"]; a == "arn:aws:iam::"+call.Account+":root" || a == call.Identity.ARN {
				return true
			}
		}
	}
	return false
}

// serveFunctionURL serves one request to a function URL: it finds the URL
// configuration, applies CORS and the auth type, invokes the function
// with a 2.0 event and maps its answer to the HTTP response.
func (s *Service) serveFunctionURL(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	call.Operation = opInvokeFunctionURL
	call.NoTrail = true
	ctx := r.Context()
	id, rawPath, _ := urlRequestTarget(r)
	idr, _, err := hotJSON[urlIDRecord](ctx, s.meta, nsURLIDs, id)
	if err != nil {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	ref := fnRef(idr)
	u, _, err := hotJSON[urlRecord](ctx, s.meta, nsURLs, urlKey(ref))
	if err != nil || u.URLID != id {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	if serveCORS(w, r, u.Cors) {
		return
	}
	res, err := s.resolveHot(ctx, ref)
	if err != nil || !urlAllowed(call, u, res) {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	body, err := protocol.ReadBody(r, maxSyncPayload)
	if err != nil {
		writeURLError(w, http.StatusRequestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	payload, err := json.Marshal(urlEventFrom(r, call, id, rawPath, body))
	if err != nil {
		writeURLError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if len(payload) > maxSyncPayload {
		writeURLError(w, http.StatusRequestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if err := s.pickVersion(ctx, &res); err != nil {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	out, err := s.run(ctx, res, payload, invokeOpts{requestID: call.RequestID})
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == "TooManyRequestsException" {
			writeURLError(w, http.StatusTooManyRequests, "Rate Exceeded.")
			return
		}
		s.log.Warn("lambda: function URL invoke failed", "function", ref.Name, "err", err)
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	if out.FunctionError != "" {
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	resp, err := mapURLResponse(out.Payload)
	if err != nil {
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	for _, c := range resp.cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
