package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/fogbank/fogbank/internal/reqbody"
)

// Payload hash sentinels accepted in X-Amz-Content-Sha256.
const (
	UnsignedPayload                 = "UNSIGNED-PAYLOAD"
	StreamingPayload                = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	StreamingECDSAPayload           = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	StreamingECDSAPayloadTrailer    = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
	emptySHA256                     = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// isSentinel reports whether v is an accepted non-hash payload value.
func isSentinel(v string) bool {
	switch v {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer,
		StreamingECDSAPayload, StreamingECDSAPayloadTrailer:
		return true
	}
	return false
}

// isHexSHA256 reports whether v is 64 lower- or upper-case hex digits.
func isHexSHA256(v string) bool {
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// bufferBody reads the whole body (at most max bytes), replaces r.Body with
// an equivalent reader and returns the hex SHA-256 of the bytes.
func bufferBody(r *http.Request, max int64) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	if r.ContentLength > max {
		return "", newError(KindBodyTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Request body of %d bytes exceeds the maximum of %d bytes.", r.ContentLength, max))
	}
	// One allocation when Content-Length is right: room for the body and
	// one more byte, so that EOF is seen without growing.
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
	}
	buf, err := reqbody.ReadAtMost(r.Body, make([]byte, 0, size), max+1)
	closeErr := r.Body.Close()
	if err != nil {
		return "", fmt.Errorf("sigv4: read body: %w", err)
	}
	if closeErr != nil {
		return "", fmt.Errorf("sigv4: close body: %w", closeErr)
	}
	if int64(len(buf)) > max {
		return "", newError(KindBodyTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Request body exceeds the maximum of %d bytes.", max))
	}
	sum := sha256.Sum256(buf)
	r.Body = reqbody.NewBuffer(buf)
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], sum[:])
	return string(hexSum[:]), nil
}

// hashingBody hashes the body as it is read and, at EOF, fails with
// XAmzContentSHA256Mismatch when the digest differs from the declared one.
type hashingBody struct {
	rc      io.ReadCloser
	h       hash.Hash
	want    []byte
	presign bool
	done    bool
	err     error
}

func newHashingBody(body io.ReadCloser, wantHex string, presigned bool) *hashingBody {
	want, _ := hex.DecodeString(wantHex) // validated by the caller
	if body == nil {
		body = http.NoBody
	}
	return &hashingBody{rc: body, h: sha256.New(), want: want, presign: presigned}
}

// Read implements io.Reader.
func (b *hashingBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		if subtle.ConstantTimeCompare(b.h.Sum(nil), b.want) != 1 {
			e := newError(KindContentSHA256Mismatch, http.StatusBadRequest, "XAmzContentSHA256Mismatch", msgContentMismatch)
			e.Presigned = b.presign
			b.err = e
			return n, e
		}
	}
	return n, err
}

// Close implements io.Closer.
func (b *hashingBody) Close() error { return b.rc.Close() }
