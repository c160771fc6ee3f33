package sigv4

import (
	"net/http"
	"strings"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	scopeTerm     = "aws4_request"
	amzDateFormat = "20060102T150405Z"

	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
	qContentSHA256 = "X-Amz-Content-Sha256"
)

// authHeader holds the parameters of an Authorization header, unvalidated.
type authHeader struct {
	algorithm     string
	credential    string
	signedHeaders string
	signature     string
	// has* record presence (a parameter may be present but empty).
	hasCredential, hasSignedHeaders, hasSignature bool
}

// parseAuthorization splits an Authorization header the way AWS does: the
// algorithm up to the first space, then key=value pairs separated by commas
// and/or whitespace. A token without '=' is an IncompleteSignature error
// naming it. Missing parameters are not an error here.
func parseAuthorization(h string) (authHeader, *Error) {
	var a authHeader
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	a.algorithm = alg
	// Tokens are separated by runs of ',', ' ' and '\t' (all ASCII, so a
	// byte scan splits exactly as strings.FieldsFunc would, without a slice).
	for rest != "" {
		var tok string
		if i := strings.IndexAny(rest, ", \t"); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, ""
		}
		if tok == "" {
			continue
		}
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return a, newError(KindIncomplete, http.StatusBadRequest, "IncompleteSignature",
				"'"+tok+"' not a valid key=value pair (missing equal-sign) in Authorization header: '"+h+"'.")
		}
		switch k {
		case "Credential":
			a.credential, a.hasCredential = v, true
		case "SignedHeaders":
			a.signedHeaders, a.hasSignedHeaders = v, true
		case "Signature":
			a.signature, a.hasSignature = v, true
		}
	}
	return a, nil
}

// credential is a parsed X-Amz-Credential / Credential= value.
type credential struct {
	accessKeyID, date, region, service, term string
}

// parseCredential splits "AKID/YYYYMMDD/region/service/aws4_request". AWS
// ignores trailing slashes; anything but exactly five elements is an error.
func parseCredential(s string) (credential, bool) {
	s = strings.TrimRight(s, "/")
	var parts [5]string
	for i := range 4 {
		j := strings.IndexByte(s, '/')
		if j < 0 {
			return credential{}, false
		}
		parts[i], s = s[:j], s[j+1:]
	}
	if strings.IndexByte(s, '/') >= 0 {
		return credential{}, false
	}
	return credential{parts[0], parts[1], parts[2], parts[3], s}, true
}

// splitSignedHeaders splits "a;b;c", dropping empty names.
func splitSignedHeaders(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.Split(s, ";")
	n := 0
	for _, h := range out {
		if h != "" {
			out[n] = h
			n++
		}
	}
	return out[:n]
}

// ParseScope extracts the credential scope from the Authorization header or
// the X-Amz-Credential query parameter without verifying anything, for routing
// by service. ok is false when the request carries no parseable SigV4
// credential (unsigned, SigV2, or a malformed scope); Verify then reports the
// precise error.
func ParseScope(r *http.Request) (Scope, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if !strings.HasPrefix(strings.TrimSpace(h), "AWS4-") {
			return Scope{}, false
		}
		a, err := parseAuthorization(h)
		if err != nil || !a.hasCredential {
			return Scope{}, false
		}
		c, ok := parseCredential(a.credential)
		if !ok {
			return Scope{}, false
		}
		return Scope{AccessKeyID: c.accessKeyID, Date: c.date, Region: c.region, Service: c.service}, true
	}
	_, rawQuery := requestTarget(r)
	if !strings.Contains(rawQuery, "Credential") { // cheap pre-check before decoding

		return Scope{}, false
	}
	v, ok := lookupQuery(parseQuery(rawQuery), qCredential)
	if !ok {
		return Scope{}, false
	}
	c, ok := parseCredential(v)
	if !ok {
		return Scope{}, false
	}
	return Scope{AccessKeyID: c.accessKeyID, Date: c.date, Region: c.region, Service: c.service, Presigned: true}, true
}
