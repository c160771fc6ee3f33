package sigv4

import (
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// The allocation-free helpers must agree with the straightforward forms
// they replace.

func TestIsNormalPath(t *testing.T) {
	for _, p := range []string{
		"", "/", "//", "/a", "/a/", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/.", "/..", "a/b", "*",
		"/.a/..b/...", "/a/b/c/", "/2015-03-31/functions/bench/invocations", "/a%2Fb", "/a/b//", "/./", "/x/.b",
	} {
		if got, want := isNormalPath(p), normalizePathSlow(p) == p; got != want {
			t.Errorf("isNormalPath(%q) = %v, normalizes to %q", p, got, normalizePathSlow(p))
		}
		if got, want := normalizePath(p), normalizePathSlow(p); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", p, got, want)
		}
	}
}

// normalizePathSlow is normalizePath without its fast path.
func normalizePathSlow(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	var out []string
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
	res := "/" + strings.Join(out, "/")
	if len(segs) > 1 && (last == "" || last == "." || last == "..") && len(out) > 0 {
		res += "/"
	}
	return res
}

func TestParseAmzDate(t *testing.T) {
	for _, s := range []string{
		"20240101T000000Z", "20241231T235959Z", "20240229T120000Z", "20230229T120000Z", "20240230T000000Z",
		"20241301T000000Z", "20240100T000000Z", "20240101T240000Z", "20240101T236000Z", "20240101T235960Z",
		"00000101T000000Z", "2024010XT000000Z", "20240101 000000Z", "20240101T000000", "20240101T000000z",
		"+2024101T000000Z", "2024-01-01T00:00:00Z", "", "20240101T0000000Z",
	} {
		got, gerr := parseAmzDate(s)
		want, werr := time.Parse(amzDateFormat, s)
		if (gerr == nil) != (werr == nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", s, got, gerr, want, werr)
		}
	}
}

func TestHeaderLookup(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amz-Date", "d")
	h.Set("Content-Type", "ct")
	h["Odd Name"] = []string{"as-is"} // not a token: never canonicalised
	h["x-lower"] = []string{"raw"}    // non-canonical key set directly
	for _, name := range []string{
		"x-amz-date", "X-AMZ-DATE", "content-type", "odd name", "Odd Name", "x-lower", "X-Lower", "",
		"x-amz-" + strings.Repeat("a", 80), "missing", "ümlaut",
	} {
		got, want := headerLookup(h, name), h.Values(name)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("headerLookup(%q) = %q, want %q", name, got, want)
		}
	}
	for c := range 256 {
		b := byte(c)
		canon := textproto.CanonicalMIMEHeaderKey("a"+string(b)) != "a"+string(b)
		if tokenByte(b) != canon && b != ' ' {
			t.Errorf("tokenByte(%q) = %v, but textproto canonicalises %v", b, tokenByte(b), canon)
		}
	}
}

func TestParseCredentialElements(t *testing.T) {
	for _, s := range []string{"a/b/c/d/e", "a/b/c/d/e/", "a/b/c/d/e//", "a/b/c/d", "a/b/c/d/e/f", "", "/////", "a//c/d/e", "////x"} {
		parts := strings.Split(strings.TrimRight(s, "/"), "/")
		c, ok := parseCredential(s)
		if ok != (len(parts) == 5) {
			t.Errorf("parseCredential(%q) ok = %v", s, ok)
			continue
		}
		if ok && (c != credential{parts[0], parts[1], parts[2], parts[3], parts[4]}) {
			t.Errorf("parseCredential(%q) = %+v", s, c)
		}
	}
}

func TestVerifyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts do not hold under the race detector")
	}
	body := []byte(`{"a":1}`)
	r := overTheWire(t, signJSON(t, testKey, "lambda", body, signTime, true))
	v := newTestVerifier(signTime.Add(time.Minute))
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	// Result, SignedHeaders and the body's hashing reader; the canonical
	// request, string to sign and HMAC reuse pooled state.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := v.Verify(r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 6 {
		t.Errorf("Verify allocates %.0f times per request, want at most 6", allocs)
	}
}
