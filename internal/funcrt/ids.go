package funcrt

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// newUUID returns a random (version 4) UUID, the form of Lambda request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// newTraceID returns an X-Ray trace header like the one Lambda passes when
// the caller sent none: "Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=0;Lineage=...".
func newTraceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randHex(24), randHex(16))
}

// logStreamName names an environment's log stream as Lambda does.
func logStreamName(now time.Time, version string) string {
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + randHex(32)
}

func hexDigest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
