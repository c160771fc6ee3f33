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

// awsEncode appends s URI-encoded the AWS way: every byte except the
// unreserved set (and '/', when keepSlash) becomes %XX with upper-case hex.
func awsEncode(b *strings.Builder, s string, keepSlash bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
}

func encodeString(s string, keepSlash bool) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	awsEncode(&b, s, keepSlash)
	return b.String()
}

// normalizePath removes "." and ".." segments and empty segments (repeated
// slashes), keeping a trailing slash, as the SigV4 test suite's normalized
// cases require ("//example//" → "/example/", "/example/.." → "/").
func normalizePath(p string) string {
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
func canonicalPaths(service, wirePath string) []string {
	if service == "s3" {
		var b strings.Builder
		for i, seg := range strings.Split(wirePath, "/") {
			if i > 0 {
				b.WriteByte('/')
			}
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			awsEncode(&b, dec, false)
		}
		primary := b.String()
		if primary != wirePath {
			return []string{primary, wirePath}
		}
		return []string{primary}
	}
	primary := encodeString(normalizePath(wirePath), true)
	alt := encodeString(wirePath, true)
	if alt != primary {
		return []string{primary, alt}
	}
	return []string{primary}
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

// headerValues returns the values of a signed header as the client sent them.
// net/http moves Host, and on the client side Content-Length and
// Transfer-Encoding, out of r.Header; they are read back from the request.
func headerValues(r *http.Request, host, name string) []string {
	switch strings.ToLower(name) {
	case "host":
		return []string{host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		return nil
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return v
		}
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
		return nil
	}
	return r.Header.Values(name)
}

// writeTrimmed appends v with leading and trailing whitespace removed and
// runs of spaces collapsed to one.
func writeTrimmed(b *strings.Builder, v string) {
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
		b.WriteByte(c)
	}
}

// canonicalHeaders builds the canonical header block for the client's
// SignedHeaders list, in the client's order, each line "name:values\n".
func canonicalHeaders(r *http.Request, host string, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, host, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTrimmed(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalRequest joins the parts of the canonical request.
func canonicalRequest(method, path, query, headers, signedHeaders, payloadHash string) string {
	var b strings.Builder
	b.Grow(len(method) + len(path) + len(query) + len(headers) + len(signedHeaders) + len(payloadHash) + 5)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// stripDefaultPort returns host without a trailing ":80" or ":443", which
// most SDKs drop before signing while some HTTP clients still send it.
func stripDefaultPort(host string) string {
	for _, p := range []string{":80", ":443"} {
		if strings.HasSuffix(host, p) {
			return strings.TrimSuffix(host, p)
		}
	}
	return host
}
