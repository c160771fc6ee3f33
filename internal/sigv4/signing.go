package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"sync"
	"time"
)

// keyCacheSize bounds the derived-key cache. A key is valid for one day,
// region and service, so a few hundred entries cover many clients.
const keyCacheSize = 512

type keyCacheKey struct{ accessKeyID, date, region, service string }

// keyEntry is a derived signing key and a pool of HMAC states keyed with
// it (an HMAC reset to its keyed state costs no allocation and no key
// schedule).
type keyEntry struct {
	secret string // the secret the key was derived from (a rotated secret misses)
	key    []byte
	macs   sync.Pool
}

// mac appends HMAC-SHA256(key, data) to dst.
func (e *keyEntry) mac(dst, data []byte) []byte {
	h, _ := e.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, e.key)
	} else {
		h.Reset()
	}
	h.Write(data)
	dst = h.Sum(dst)
	e.macs.Put(h)
	return dst
}

// keyCache caches derived signing keys. When full, an arbitrary entry is
// evicted (map iteration order), which is enough for a bound on memory.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]*keyEntry
}

func (c *keyCache) get(k keyCacheKey, secret string) *keyEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok && equalConstantTime(e.secret, secret) {
		return e
	}
	e = &keyEntry{secret: secret, key: deriveKey(secret, k.date, k.region, k.service)}
	if c.m == nil {
		c.m = make(map[keyCacheKey]*keyEntry)
	}
	if !ok && len(c.m) >= keyCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
	return e
}

// equalConstantTime is subtle.ConstantTimeCompare for strings and byte
// slices, without converting between them: false at once for different lengths,
// otherwise the time does not depend on the contents.
func equalConstantTime[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// deriveKey computes HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerm)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// appendStringToSign appends the SigV4 string to sign of a canonical
// request: algorithm, date, credential scope and the canonical request's
// hex SHA-256, newline-separated.
func appendStringToSign(dst []byte, amzDate string, c credential, canonical []byte) []byte {
	dst = append(dst, algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, c.date...)
	dst = append(dst, '/')
	dst = append(dst, c.region...)
	dst = append(dst, '/')
	dst = append(dst, c.service...)
	dst = append(dst, "/"+scopeTerm+"\n"...)
	sum := sha256.Sum256(canonical)
	return hex.AppendEncode(dst, sum[:])
}

// parseAmzDate parses an ISO 8601 basic-format UTC time
// ("20060102T150405Z") as time.Parse(amzDateFormat, s) does, without its
// general layout machinery for well-formed input.
func parseAmzDate(s string) (time.Time, error) {
	if len(s) == len(amzDateFormat) && s[8] == 'T' && s[15] == 'Z' {
		num := func(i, j int) int {
			n := 0
			for ; i < j; i++ {
				c := s[i]
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d := num(0, 4), num(4, 6), num(6, 8)
		h, mi, sec := num(9, 11), num(11, 13), num(13, 15)
		if y >= 0 && mo >= 0 && d >= 0 && h >= 0 && mi >= 0 && sec >= 0 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
			// Out-of-range fields normalise to another date; time.Parse
			// rejects them (below).
			if t.Year() == y && int(t.Month()) == mo && t.Day() == d && t.Hour() == h && t.Minute() == mi && t.Second() == sec {
				return t, nil
			}
		}
	}
	return time.Parse(amzDateFormat, s)
}

// sign returns the hex HMAC-SHA256 of s under key.
func sign(key []byte, s string) string {
	return hex.EncodeToString(hmacSHA256(key, s))
}
