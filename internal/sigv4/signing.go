package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"
)

// keyCacheSize bounds the derived-key cache. A key is valid for one day,
// region and service, so a few hundred entries cover many clients.
const keyCacheSize = 512

type keyCacheKey struct{ accessKeyID, date, region, service string }

type keyCacheEntry struct {
	secret string // the secret the key was derived from (a rotated secret misses)
	key    []byte
}

// keyCache caches derived signing keys. When full, an arbitrary entry is
// evicted (map iteration order), which is enough for a bound on memory.
type keyCache struct {
	mu sync.Mutex
	m  map[keyCacheKey]keyCacheEntry
}

func (c *keyCache) get(k keyCacheKey, secret string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok && subtle.ConstantTimeCompare([]byte(e.secret), []byte(secret)) == 1 {
		return e.key
	}
	key := deriveKey(secret, k.date, k.region, k.service)
	if c.m == nil {
		c.m = make(map[keyCacheKey]keyCacheEntry)
	}
	if !ok && len(c.m) >= keyCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = keyCacheEntry{secret: secret, key: key}
	return key
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

// stringToSign builds the SigV4 string to sign.
func stringToSign(amzDate, scope, canonical string) string {
	return algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonical)
}

// sign returns the hex HMAC-SHA256 of s under key.
func sign(key []byte, s string) string {
	return hex.EncodeToString(hmacSHA256(key, s))
}
