package sigv4

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// requestTarget returns the path and raw query exactly as the client sent
// them. r.RequestURI is the unmodified request-target on server requests, so
// it is preferred over r.URL (which middleware may rewrite); requests built
// on the client side (RequestURI empty) fall back to r.URL.
func requestTarget(r *http.Request) (path, rawQuery string) {
	uri := r.RequestURI
	if uri == "" {
		if r.URL == nil {
			return "/", ""
		}
		path = r.URL.EscapedPath()
		if r.URL.Opaque != "" {
			path = r.URL.Opaque
		}
		if path == "" {
			path = "/"
		}
		return path, r.URL.RawQuery
	}
	// Absolute-form request-target (proxies): drop scheme and authority.
	if i := strings.Index(uri, "://"); i > 0 && !strings.Contains(uri[:i], "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = "/"
		}
	}
	path, rawQuery, _ = strings.Cut(uri, "?")
	if path == "" {
		path = "/"
	}
	return path, rawQuery
}

// unreserved reports whether c is left unencoded by AWS URI encoding.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperhex = "0123456789ABCDEF"

// appendAWSEncode appends s URI-encoded the AWS way: every byte except the
// unreserved set (and '/', when keepSlash) becomes %XX with upper-case hex.
func appendAWSEncode(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperhex[c>>4], upperhex[c&15])
	}
	return dst
}

// encodedAsIs reports whether AWS URI encoding leaves s unchanged.
func encodedAsIs(s string, keepSlash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && !(keepSlash && c == '/') {
			return false
		}
	}
	return true
}

// encodeString returns s URI-encoded the AWS way (s itself when nothing
// needs encoding).
func encodeString(s string, keepSlash bool) string {
	if encodedAsIs(s, keepSlash) {
		return s
	}
	return string(appendAWSEncode(make([]byte, 0, len(s)+len(s)/2), s, keepSlash))
}

// normalizePath removes "." and ".." segments and empty segments (repeated
// slashes), keeping a trailing slash, as the SigV4 test suite's normalized
// cases require ("//example//" → "/example/", "/example/.." → "/").
func normalizePath(p string) string {
	if isNormalPath(p) {
		return p
	}
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	last := segs[len(segs)-1]
	trailing := len(segs) > 1 && (last == "" || last == "." || last == "..")
	res := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		res += "/"
	}
	return res
}

// isNormalPath reports whether normalizePath(p) == p: p starts with '/'
// and has no empty, "." or ".." segment except an empty last one (a
// trailing slash).
func isNormalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 1; i < len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p) - i
		}
		seg := p[i : i+j]
		if seg == "." || seg == ".." || seg == "" && i+j < len(p) {
			return false
		}
		i += j + 1
	}
	return true
}

// canonicalPaths returns the canonical URI candidates for the wire path, the
// service's own rule first.
//
// S3 signs the path encoded once and never normalized: each wire segment is
// decoded and re-encoded with AWS encoding (so "%2F" inside a key survives);
// the wire path verbatim is the fallback for clients whose wire encoding is
// already canonical but differs from ours in which characters it escapes.
//
// Every other service signs the normalized path encoded twice (the wire form
// encoded again), per the SigV4 spec and test suite; the unnormalized form is
// the fallback, because some SDKs (aws-sdk-go-v2 among them) do not normalize.
func canonicalPaths(dst []string, service, wirePath string) []string {
	if service == "s3" {
		var b []byte
		for i, seg := range strings.Split(wirePath, "/") {
			if i > 0 {
				b = append(b, '/')
			}
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			b = appendAWSEncode(b, dec, false)
		}
		primary := string(b)
		if primary != wirePath {
			return append(dst, primary, wirePath)
		}
		return append(dst, primary)
	}
	primary := encodeString(normalizePath(wirePath), true)
	alt := primary
	if !isNormalPath(wirePath) {
		alt = encodeString(wirePath, true)
	}
	if alt != primary {
		return append(dst, primary, alt)
	}
	return append(dst, primary)
}

// queryParam is one decoded query parameter.
type queryParam struct{ key, value string }

// parseQuery splits a raw query string into decoded parameters in wire
// order. '+' decodes to a space, as aws-sdk-go-v2 (url.Values) reads it. A
// component with a malformed escape is kept verbatim.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{key: unescapeQuery(k), value: unescapeQuery(v)})
	}
	return params
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return d
}

// lookupQuery returns the first value of key (exact case) and whether it was present.
func lookupQuery(params []queryParam, key string) (string, bool) {
	for _, p := range params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// canonicalQuery encodes and sorts the parameters (by encoded key, then
// encoded value), leaving out the keys in skip.
func canonicalQuery(params []queryParam, skip ...string) string {
	if len(params) == 0 {
		return ""
	}
	type kv struct{ k, v string }
	enc := make([]kv, 0, len(params))
next:
	for _, p := range params {
		for _, s := range skip {
			if p.key == s {
				continue next
			}
		}
		enc = append(enc, kv{encodeString(p.key, false), encodeString(p.value, false)})
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i].k != enc[j].k {
			return enc[i].k < enc[j].k
		}
		return enc[i].v < enc[j].v
	})
	var b strings.Builder
	for i, e := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(e.k)
		b.WriteByte('=')
		b.WriteString(e.v)
	}
	return b.String()
}

// appendHeaderValues appends the values of a signed header as the client
// sent them, comma-separated, each trimmed (appendTrimmed). net/http moves
// Host, and on the client side Content-Length and Transfer-Encoding, out of
// r.Header; they are read back from the request.
func appendHeaderValues(dst []byte, r *http.Request, host, name string) []byte {
	var vals []string
	switch {
	case asciiEqualFold(name, "host"):
		return appendTrimmed(dst, host)
	case asciiEqualFold(name, "content-length"):
		if vals = r.Header["Content-Length"]; len(vals) == 0 {
			if r.ContentLength >= 0 {
				return strconv.AppendInt(dst, r.ContentLength, 10)
			}
			return dst
		}
	case asciiEqualFold(name, "transfer-encoding"):
		if vals = r.Header["Transfer-Encoding"]; len(vals) == 0 {
			return appendTrimmed(dst, strings.Join(r.TransferEncoding, ","))
		}
	default:
		vals = headerLookup(r.Header, name)
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst
}

// asciiEqualFold reports whether s and lower (lower-case ASCII) are equal
// ignoring ASCII case, as strings.ToLower(s) == lower is for ASCII s.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// headerLookup is h.Values(name) without allocating: the canonical form of
// name (textproto.CanonicalMIMEHeaderKey's rule) is built on the stack. A
// name that is not a valid token, or a long one, takes h.Values.
func headerLookup(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenByte(c) {
			return h.Values(name)
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

// tokenByte reports whether c may appear in a header field name (RFC 9110
// token characters).
func tokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// appendTrimmed appends v with leading and trailing whitespace removed and
// runs of spaces collapsed to one.
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaders appends the canonical header block for the
// client's SignedHeaders list, in the client's order, each line
// "name:values\n".
func appendCanonicalHeaders(dst []byte, r *http.Request, host string, signed []string) []byte {
	for _, name := range signed {
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = appendHeaderValues(dst, r, host, name)
		dst = append(dst, '\n')
	}
	return dst
}

// appendCanonicalRequest appends the canonical request: method, path,
// query, the canonical header block, the SignedHeaders list and the
// payload hash, newline-separated.
func appendCanonicalRequest(dst []byte, method, path, query string, headers []byte, signedHeaders, payloadHash string) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, path...)
	dst = append(dst, '\n')
	dst = append(dst, query...)
	dst = append(dst, '\n')
	dst = append(dst, headers...)
	dst = append(dst, '\n')
	dst = append(dst, signedHeaders...)
	dst = append(dst, '\n')
	return append(dst, payloadHash...)
}

// stripDefaultPort returns host without a trailing ":80" or ":443", which
// most SDKs drop before signing while some HTTP clients still send it.
func stripDefaultPort(host string) string {
	if h, ok := strings.CutSuffix(host, ":80"); ok {
		return h
	}
	if h, ok := strings.CutSuffix(host, ":443"); ok {
		return h
	}
	return host
}
