package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	goodCred = "AKIDEXAMPLE/20240101/us-east-1/sqs/aws4_request"
	goodDate = "20240101T000000Z"
	zeroSig  = "0000000000000000000000000000000000000000000000000000000000000000"
)

// rawRequest builds a server-side request by hand.
func rawRequest(method, target string, hdr map[string]string) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	return &http.Request{Method: method, RequestURI: target, URL: u, Host: "localhost:4566", Header: h,
		Body: http.NoBody}
}

func authz(cred, signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=" + signed + ", Signature=" + sig
}

// TestVerifyErrors checks the code, status and exact AWS message of each
// rejection that happens before (or instead of) signature comparison.
func TestVerifyErrors(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		hdr        map[string]string
		validReg   func(string) bool
		wantKind   Kind
		wantCode   string
		wantStatus int
		wantMsg    string
	}{
		{
			name: "no authentication", target: "/",
			wantKind: KindMissingAuth, wantCode: "MissingAuthenticationToken", wantStatus: 403,
			wantMsg: "Request is missing Authentication Token",
		},
		{
			name: "bearer token", target: "/", hdr: map[string]string{"Authorization": "Bearer token"},
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "'token' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer token'.",
		},
		{
			name: "space after Credential=", target: "/",
			hdr:      map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential= " + goodCred + ", SignedHeaders=host, Signature=ab", "X-Amz-Date": goodDate},
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "'" + goodCred + "' not a valid key=value pair (missing equal-sign) in Authorization header: " +
				"'AWS4-HMAC-SHA256 Credential= " + goodCred + ", SignedHeaders=host, Signature=ab'.",
		},
		{
			name: "jwt", target: "/", hdr: map[string]string{"Authorization": "eyJhbGciOi.eyJzdWIi.sig"},
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either " +
				"a 'X-Amz-Date' or a 'Date' header. Authorization=eyJhbGciOi.eyJzdWIi.sig",
		},
		{
			name: "missing signature", target: "/",
			hdr:      map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host", "X-Amz-Date": goodDate},
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=host",
		},
		{
			name: "bad date", target: "/",
			hdr:      map[string]string{"Authorization": authz(goodCred, "host", zeroSig), "X-Amz-Date": "201"},
			wantKind: KindBadDate, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		{
			name: "host not signed", target: "/",
			hdr:      map[string]string{"Authorization": authz(goodCred, "x-amz-date", zeroSig), "X-Amz-Date": goodDate},
			wantKind: KindHostNotSigned, wantCode: "SignatureDoesNotMatch", wantStatus: 403,
			wantMsg: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "algorithm", target: "/",
			hdr: map[string]string{"Authorization": strings.Replace(authz(goodCred, "host", zeroSig), "SHA256", "SHA25", 1),
				"X-Amz-Date": goodDate},
			wantKind: KindUnsupportedAlgorithm, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now).",
		},
		{
			name: "credential elements", target: "/",
			hdr:      map[string]string{"Authorization": authz("a/b/c/d", "host", zeroSig), "X-Amz-Date": goodDate},
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'",
		},
		{
			name: "scope", target: "/",
			hdr: map[string]string{"Authorization": authz("AKIDEXAMPLE/20231231/mars-1/sqs/aws5_request", "host", zeroSig),
				"X-Amz-Date": goodDate},
			validReg: func(r string) bool { return r == "us-east-1" },
			wantKind: KindScope, wantCode: "SignatureDoesNotMatch", wantStatus: 403,
			wantMsg: "Credential should be scoped to a valid region, not 'mars-1'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
				"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: " +
				"'20231231' != '20240101', from '20240101T000000Z'.",
		},
		{
			name: "unknown key", target: "/",
			hdr: map[string]string{"Authorization": authz("NOPE/20240101/us-east-1/sqs/aws4_request", "host", zeroSig),
				"X-Amz-Date": goodDate},
			wantKind: KindUnknownKey, wantCode: "InvalidClientTokenId", wantStatus: 403,
			wantMsg: "The security token included in the request is invalid.",
		},
		{
			name: "both styles", target: "/?X-Amz-Algorithm=AWS4-HMAC-SHA256",
			hdr:      map[string]string{"Authorization": authz(goodCred, "host", zeroSig), "X-Amz-Date": goodDate},
			wantKind: KindBothAuth, wantCode: "SignatureDoesNotMatch", wantStatus: 400,
			wantMsg: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
		},
		{
			name: "presign missing parameters", target: "/?X-Amz-Credential=" + url.QueryEscape(goodCred) + "&X-Amz-Signature=",
			wantKind: KindIncomplete, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include " +
				"'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string " +
				"parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
		},
		{
			name:     "presign algorithm",
			target:   "/?X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=" + url.QueryEscape(goodCred) + "&X-Amz-Signature=ab&X-Amz-SignedHeaders=host&X-Amz-Date=" + goodDate,
			wantKind: KindUnsupportedAlgorithm, wantCode: "IncompleteSignature", wantStatus: 400,
			wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now).",
		},
		{
			name: "s3 without x-amz-content-sha256", target: "/bucket/key",
			hdr: map[string]string{"Authorization": authz("AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request", "host;x-amz-date", zeroSig),
				"X-Amz-Date": goodDate},
			wantKind: KindMissingContentSHA256, wantCode: "InvalidRequest", wantStatus: 400,
			wantMsg: "Missing required header for this request: x-amz-content-sha256",
		},
		{
			name: "invalid x-amz-content-sha256", target: "/",
			hdr: map[string]string{"Authorization": authz(goodCred, "host;x-amz-date", zeroSig),
				"X-Amz-Date": goodDate, "X-Amz-Content-Sha256": "abc"},
			wantKind: KindInvalidContentSHA256, wantCode: "InvalidArgument", wantStatus: 400,
			wantMsg: msgInvalidContent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(signTime)
			v.ValidRegion = tt.validReg
			_, err := v.Verify(rawRequest(http.MethodGet, tt.target, tt.hdr))
			e := wantKind(t, err, tt.wantKind)
			got := [3]any{e.Code, e.Status, e.Message}
			want := [3]any{tt.wantCode, tt.wantStatus, tt.wantMsg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if e.Error() != "sigv4: "+e.Code+": "+e.Message {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestDateHeaderFallback(t *testing.T) {
	// Without X-Amz-Date the Date header dates the request; the string to
	// sign carries it in ISO-8601 basic format.
	r := rawRequest(http.MethodGet, "/", map[string]string{
		"Authorization": authz(goodCred, "date;host", zeroSig),
		"Date":          "Mon, 01 Jan 2024 00:00:00 GMT",
	})
	_, err := newTestVerifier(signTime).Verify(r)
	e := wantKind(t, err, KindSignatureMismatch)
	if !strings.HasPrefix(e.StringToSign, "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/sqs/aws4_request\n") ||
		!strings.Contains(e.CanonicalRequest, "\ndate:Mon, 01 Jan 2024 00:00:00 GMT\nhost:localhost:4566\n") {
		t.Errorf("canonical request:\n%s\nstring to sign:\n%s", e.CanonicalRequest, e.StringToSign)
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in   string
		want authHeader
	}{
		{"AWS4-HMAC-SHA256 Credential=A/B/C/D/E, SignedHeaders=host;x-amz-date, Signature=abc",
			authHeader{"AWS4-HMAC-SHA256", "A/B/C/D/E", "host;x-amz-date", "abc", true, true, true}},
		{"AWS4-HMAC-SHA256 Credential=A/B/C/D/E,SignedHeaders=host,Signature=abc",
			authHeader{"AWS4-HMAC-SHA256", "A/B/C/D/E", "host", "abc", true, true, true}},
		{"  AWS4-HMAC-SHA256   Signature=x ,, Credential=c  ",
			authHeader{algorithm: "AWS4-HMAC-SHA256", credential: "c", signature: "x", hasCredential: true, hasSignature: true}},
		{"AWS4-HMAC-SHA256 SignedHeaders=", authHeader{algorithm: "AWS4-HMAC-SHA256", hasSignedHeaders: true}},
		{"AWS4-HMAC-SHA256", authHeader{algorithm: "AWS4-HMAC-SHA256"}},
	}
	for _, tt := range tests {
		got, err := parseAuthorization(tt.in)
		if err != nil {
			t.Errorf("parseAuthorization(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(authHeader{})); diff != "" {
			t.Errorf("parseAuthorization(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name   string
		target string
		hdr    map[string]string
		want   Scope
		ok     bool
	}{
		{"header", "/", map[string]string{"Authorization": authz(goodCred, "host", zeroSig)},
			Scope{"AKIDEXAMPLE", "20240101", "us-east-1", "sqs", false}, true},
		{"query", "/?X-Amz-Credential=AKID%2F20240101%2Feu-west-1%2Fs3%2Faws4_request", nil,
			Scope{"AKID", "20240101", "eu-west-1", "s3", true}, true},
		{"sigv2", "/", map[string]string{"Authorization": "AWS AKID:c2ln"}, Scope{}, false},
		{"short scope", "/", map[string]string{"Authorization": authz("A/B/C", "host", zeroSig)}, Scope{}, false},
		{"unsigned", "/?Action=ListQueues", nil, Scope{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseScope(rawRequest(http.MethodGet, tt.target, tt.hdr))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: ParseScope = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"//":                "/",
		"/./":               "/",
		"/example/..":       "/",
		"/a/b/../..":        "/",
		"/../a":             "/a",
		"//example//":       "/example/",
		"/./example":        "/example",
		"/a/./b/../c/":      "/a/c/",
		"/a/b/.":            "/a/b/",
		"/a%2Fb/c":          "/a%2Fb/c",
		"/space here/x.txt": "/space here/x.txt",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"acl", "acl="},
		{"x=a+b&y=%20c", "x=a%20b&y=%20c"},
		{"k=%7E%2a*!", "k=~%2A%2A%21"},
		{"bad=%zz", "bad=%25zz"},
		{"&&a=1&&", "a=1"},
		{"X-Amz-Signature=s&a=1", "a=1"},
	}
	for _, tt := range tests {
		if got := canonicalQuery(parseQuery(tt.raw), qSignature); got != tt.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestRequestTarget(t *testing.T) {
	for _, tt := range []struct{ uri, path, query string }{
		{"/a%20b?x=1", "/a%20b", "x=1"},
		{"http://host:80/p?q", "/p", "q"},
		{"https://host", "/", ""},
		{"?x", "/", "x"},
	} {
		r := &http.Request{RequestURI: tt.uri}
		if p, q := requestTarget(r); p != tt.path || q != tt.query {
			t.Errorf("requestTarget(%q) = %q, %q", tt.uri, p, q)
		}
	}
}

func TestVerifierRequiresLookup(t *testing.T) {
	var v Verifier
	if _, err := v.Verify(rawRequest(http.MethodGet, "/", nil)); err == nil {
		t.Fatal("Verify without Lookup succeeded")
	}
	v.Lookup = func(context.Context, string) (Credentials, error) { return Credentials{}, nil }
	v.Now = func() time.Time { return signTime }
	if _, err := v.Verify(rawRequest(http.MethodGet, "/", nil)); err == nil {
		t.Fatal("unsigned request verified")
	}
}
