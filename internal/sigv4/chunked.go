package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	// MaxChunkSize caps one aws-chunked chunk; signed chunks are buffered
	// whole so that no unverified byte is handed out. SDKs use 64 KiB–1 MiB.
	MaxChunkSize = 16 << 20
	maxChunkLine = 4096
	maxTrailers  = 64
)

// crc64NVMETable is CRC-64/NVME (the reflected form of 0xAD93D23594C93659).
var crc64NVMETable = crc64.MakeTable(0x9A6C9329AC4BC9B5)

// newChecksum returns the hash for an x-amz-checksum-* trailer name.
func newChecksum(name string) (hash.Hash, string, bool) {
	switch strings.ToLower(name) {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE(), "CRC32", true
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), "CRC32C", true
	case "x-amz-checksum-crc64nvme":
		return crc64.New(crc64NVMETable), "CRC64NVME", true
	case "x-amz-checksum-sha1":
		return sha1.New(), "SHA1", true
	case "x-amz-checksum-sha256":
		return sha256.New(), "SHA256", true
	}
	return nil, "", false
}

// ChunkedReader decodes an aws-chunked request body (Content-Encoding:
// aws-chunked) and checks it: with STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
// every chunk signature (chained from the request signature) and the trailer
// signature; with any -TRAILER variant, the x-amz-checksum-* trailer named by
// X-Amz-Trailer against the decoded bytes; and the decoded length against
// X-Amz-Decoded-Content-Length. Read returns the decoded payload; a failure
// is an *Error (KindChunkSignature or KindChecksumMismatch) and sticks.
// Signed chunks are buffered whole (at most MaxChunkSize) before release.
// A ChunkedReader is not safe for concurrent use.
type ChunkedReader struct {
	br      *bufio.Reader
	signed  bool
	trailer bool

	key            []byte
	amzDate, scope string
	prevSig        string

	buf       []byte // verified chunk data not yet returned (signed mode)
	remaining int64  // bytes left in the current chunk (unsigned mode)
	done      bool
	err       error

	checksumName string
	checksumAlg  string
	checksum     hash.Hash
	trailers     http.Header

	decoded, wantDecoded int64
}

// NewChunkedReader returns a reader decoding body for the request res
// verified, whose headers are h. It fails if res.PayloadHash is not an
// aws-chunked mode it supports (ECDSA chunk signing is not supported) or X-Amz-Trailer
// names an unknown checksum.
func NewChunkedReader(body io.Reader, res *Result, h http.Header) (*ChunkedReader, error) {
	c := &ChunkedReader{br: bufio.NewReaderSize(body, 64<<10), wantDecoded: -1, trailers: http.Header{}}
	switch res.PayloadHash {
	case StreamingPayload:
		c.signed = true
	case StreamingPayloadTrailer:
		c.signed, c.trailer = true, true
	case StreamingUnsignedPayloadTrailer:
		c.trailer = true
	default:
		return nil, fmt.Errorf("sigv4: payload %q is not a supported aws-chunked mode", res.PayloadHash)
	}
	if c.signed {
		c.key = res.signingKey
		c.amzDate = res.Time.UTC().Format(amzDateFormat)
		c.scope = res.Date + "/" + res.Region + "/" + res.Service + "/" + scopeTerm
		c.prevSig = res.Signature
		if c.key == nil {
			return nil, errors.New("sigv4: result has no signing key (not from Verify)")
		}
	}
	if v := h.Get("X-Amz-Decoded-Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sigv4: bad x-amz-decoded-content-length %q", v)
		}
		c.wantDecoded = n
	}
	if t := strings.TrimSpace(h.Get("X-Amz-Trailer")); t != "" {
		if !c.trailer {
			return nil, fmt.Errorf("sigv4: x-amz-trailer %q without a trailer payload mode", t)
		}
		ck, alg, ok := newChecksum(t)
		if !ok {
			return nil, fmt.Errorf("sigv4: unsupported trailer %q", t)
		}
		c.checksumName, c.checksumAlg, c.checksum = strings.ToLower(t), alg, ck
	}
	return c, nil
}

// Trailers returns the trailing headers read, once Read has returned io.EOF.
func (c *ChunkedReader) Trailers() http.Header { return c.trailers }

func framingError(format string, a ...any) *Error {
	return newError(KindChunkSignature, http.StatusBadRequest, "IncompleteBody", "sigv4: aws-chunked: "+fmt.Sprintf(format, a...))
}

// Read implements io.Reader.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.buf) > 0 {
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			return n, nil
		}
		if c.remaining > 0 {
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			n, err := c.br.Read(p)
			c.remaining -= int64(n)
			c.account(p[:n])
			if c.remaining == 0 {
				if e := c.expectCRLF(); e != nil {
					c.err = e
				}
			}
			if n > 0 {
				return n, nil
			}
			if err != nil {
				c.err = c.unexpected(err)
			}
			continue
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			c.err = err
		}
	}
}

func (c *ChunkedReader) account(b []byte) {
	c.decoded += int64(len(b))
	if c.checksum != nil {
		c.checksum.Write(b)
	}
}

func (c *ChunkedReader) unexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return framingError("body ended early")
	}
	return fmt.Errorf("sigv4: read aws-chunked body: %w", err)
}

func (c *ChunkedReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxChunkLine {
		return "", framingError("line too long")
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return "", io.EOF
		}
		return "", c.unexpected(err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
}

func (c *ChunkedReader) expectCRLF() error {
	line, err := c.readLine()
	if err != nil {
		return c.unexpected(err)
	}
	if line != "" {
		return framingError("chunk data longer than its declared size")
	}
	return nil
}

// nextChunk reads a chunk header (and, for signed chunks, the data).
func (c *ChunkedReader) nextChunk() error {
	line, err := c.readLine()
	if err != nil {
		return c.unexpected(err)
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	size, perr := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if perr != nil || size < 0 || size > MaxChunkSize {
		return framingError("bad chunk size %q", sizeStr)
	}
	if !c.signed {
		if size == 0 {
			return c.finish()
		}
		c.remaining = size
		return nil
	}
	sig, ok := strings.CutPrefix(ext, "chunk-signature=")
	if !ok {
		return framingError("chunk without chunk-signature")
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.br, data); err != nil {
		return c.unexpected(err)
	}
	sum := sha256.Sum256(data)
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prevSig + "\n" + emptySHA256 + "\n" + hex.EncodeToString(sum[:])
	want := sign(c.key, sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		e := newError(KindChunkSignature, http.StatusForbidden, "SignatureDoesNotMatch", msgSignatureMismatch)
		e.StringToSign, e.SignatureProvided = sts, sig
		return e
	}
	c.prevSig = want
	if size == 0 {
		return c.finish()
	}
	if err := c.expectCRLF(); err != nil {
		return err
	}
	c.account(data)
	c.buf = data
	return nil
}

// finish reads what follows the last chunk: a CRLF, or the trailers.
func (c *ChunkedReader) finish() error {
	if !c.trailer {
		if line, err := c.readLine(); err != nil && !errors.Is(err, io.EOF) {
			return err
		} else if err == nil && line != "" {
			return framingError("data after the final chunk")
		}
		return c.complete()
	}
	var canon strings.Builder
	var trailerSig string
	for n := 0; ; n++ {
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			break // some clients omit the blank line ending the trailers
		}
		if err != nil {
			return err
		}
		if line == "" && n == 0 {
			continue // a CRLF closing the empty final chunk, as some clients send
		}
		if line == "" {
			break
		}
		if n > maxTrailers {
			return framingError("too many trailers")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return framingError("malformed trailer %q", line)
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
			continue
		}
		c.trailers.Add(name, value)
		canon.WriteString(name + ":" + value + "\n")
	}
	if c.signed {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope + "\n" + c.prevSig + "\n" + sha256Hex(canon.String())
		if want := sign(c.key, sts); !hmac.Equal([]byte(want), []byte(trailerSig)) {
			e := newError(KindChunkSignature, http.StatusForbidden, "SignatureDoesNotMatch", msgSignatureMismatch)
			e.StringToSign, e.SignatureProvided = sts, trailerSig
			return e
		}
	}
	if c.checksum != nil {
		got := c.trailers.Get(c.checksumName)
		if got == "" {
			return framingError("trailer %s declared in x-amz-trailer is missing", c.checksumName)
		}
		want, err := base64.StdEncoding.DecodeString(got)
		if err != nil || !bytes.Equal(want, c.checksum.Sum(nil)) {
			return newError(KindChecksumMismatch, http.StatusBadRequest, "BadDigest",
				"The "+c.checksumAlg+" you specified did not match the calculated checksum.")
		}
	}
	return c.complete()
}

func (c *ChunkedReader) complete() error {
	if c.wantDecoded >= 0 && c.decoded != c.wantDecoded {
		return framingError("decoded %d bytes, x-amz-decoded-content-length says %d", c.decoded, c.wantDecoded)
	}
	c.done = true
	return nil
}
