// Package ids generates the identifiers Fogbank hands out (request ids,
// event ids, message ids, access keys). A seeded generator makes them
// deterministic for users' tests (`fogbank serve --seed N`); the default
// draws from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"sync"
)

// Generator makes identifiers. It is safe for concurrent use.
type Generator struct {
	mu  sync.Mutex
	rng *mrand.ChaCha8 // nil: crypto/rand
}

// New returns a generator; seed 0 means random, any other value makes the
// sequence of identifiers deterministic.
func New(seed uint64) *Generator {
	g := &Generator{}
	if seed != 0 {
		var s [32]byte
		for i := range 4 {
			v := seed + uint64(i)*0x9e3779b97f4a7c15
			for j := range 8 {
				s[i*8+j] = byte(v >> (8 * j))
			}
		}
		g.rng = mrand.NewChaCha8(s)
	}
	return g
}

func (g *Generator) read(b []byte) {
	if g == nil || g.rng == nil {
		rand.Read(b)
		return
	}
	g.mu.Lock()
	g.rng.Read(b)
	g.mu.Unlock()
}

// UUID returns a random (version 4) UUID string.
func (g *Generator) UUID() string {
	var b [16]byte
	g.read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// AccessKeyID returns a 20-character key id with the given 4-letter prefix
// ("AKIA" for long-term keys, "ASIA" for temporary ones).
func (g *Generator) AccessKeyID(prefix string) string {
	b := make([]byte, 16)
	g.read(b)
	out := []byte(prefix)
	for _, c := range b {
		out = append(out, upperAlnum[int(c)%len(upperAlnum)])
	}
	return string(out[:20])
}

// Secret returns a 40-character secret access key.
func (g *Generator) Secret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	g.read(b)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

// Hex returns n random bytes hex-encoded.
func (g *Generator) Hex(n int) string {
	b := make([]byte, n)
	g.read(b)
	return hex.EncodeToString(b)
}
