package funcrt

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// newUUID returns a random (version 4) UUID, the form of Lambda request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	out := make([]byte, 0, 36)
	out = hex.AppendEncode(out, b[0:4])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[4:6])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[6:8])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[8:10])
	out = append(out, '-')
	out = hex.AppendEncode(out, b[10:16])
	return string(out)
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// newTraceID returns an X-Ray trace header like the one Lambda passes when
// the caller sent none: "Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=0;Lineage=...".
func newTraceID(now time.Time) string {
	var r [20]byte // 12 bytes of root id, 8 of parent id
	_, _ = rand.Read(r[:])
	var ts [4]byte
	binary.BigEndian.PutUint32(ts[:], uint32(now.Unix()))
	b := make([]byte, 0, 80)
	b = append(b, "Root=1-"...)
	b = hex.AppendEncode(b, ts[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, r[:12])
	b = append(b, ";Parent="...)
	b = hex.AppendEncode(b, r[12:])
	b = append(b, ";Sampled=0"...)
	return string(b)
}

// logStreamName names an environment's log stream as Lambda does.
func logStreamName(now time.Time, version string) string {
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + randHex(32)
}

func hexDigest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
