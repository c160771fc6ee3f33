package sigv4

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The AWS S3 documentation's chunked-upload example ("Signature Calculations
// for the Authorization Header: Transferring Payload in Multiple Chunks"):
// 66560 bytes of 'a' in chunks of 65536, 1024 and 0 bytes. The trailer
// signature over first:1st, second:2nd, third:3rd is aws-crt's test vector
// for the same request.
const (
	exSecret     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exSeed       = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	exChunk1     = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	exChunk2     = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	exChunkFinal = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	exTrailerSig = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"
)

var exTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func exampleBody(corruptChunk2 bool, trailer string) []byte {
	var b bytes.Buffer
	for _, c := range []struct {
		size int
		sig  string
	}{{65536, exChunk1}, {1024, exChunk2}, {0, exChunkFinal}} {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", c.size, c.sig)
		data := bytes.Repeat([]byte("a"), c.size)
		if corruptChunk2 && c.size == 1024 {
			data[7] = 'b'
		}
		b.Write(data)
		if c.size > 0 || trailer == "" {
			b.WriteString("\r\n")
		}
	}
	b.WriteString(trailer)
	return b.Bytes()
}

// exampleRequest is the documented PUT, as a server receives it.
func exampleRequest(body []byte) *http.Request {
	r := rawRequest(http.MethodPut, "/examplebucket/chunkObject.txt", map[string]string{
		"X-Amz-Date":                   "20130524T000000Z",
		"X-Amz-Storage-Class":          "REDUCED_REDUNDANCY",
		"X-Amz-Content-Sha256":         StreamingPayload,
		"Content-Encoding":             "aws-chunked",
		"X-Amz-Decoded-Content-Length": "66560",
		"Content-Length":               strconv.Itoa(len(body)),
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
			"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;" +
			"x-amz-decoded-content-length;x-amz-storage-class, Signature=" + exSeed,
	})
	r.Host = "s3.amazonaws.com"
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

func exampleVerifier() *Verifier {
	return &Verifier{Now: func() time.Time { return exTime },
		Lookup: testLookup(Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: exSecret})}
}

func TestChunkedSignedExample(t *testing.T) {
	body := exampleBody(false, "")
	if len(body) != 66824 { // the Content-Length the documentation gives
		t.Fatalf("example body is %d bytes", len(body))
	}
	r := exampleRequest(body)
	res, err := exampleVerifier().Verify(r)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	cr, err := NewChunkedReader(r.Body, res, r.Header)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(cr)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes", len(got))
	}

	// A corrupted chunk is refused before any of its bytes are returned.
	r = exampleRequest(exampleBody(true, ""))
	res, err = exampleVerifier().Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	cr, _ = NewChunkedReader(r.Body, res, r.Header)
	got, err = io.ReadAll(cr)
	wantKind(t, err, KindChunkSignature)
	if len(got) != 65536 {
		t.Errorf("returned %d bytes before the bad chunk, want 65536", len(got))
	}
}

func TestChunkedTrailerSignature(t *testing.T) {
	res := &Result{
		Scope:       Scope{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Date: "20130524", Region: "us-east-1", Service: "s3"},
		Time:        exTime,
		PayloadHash: StreamingPayloadTrailer,
		Signature:   exSeed,
		signingKey:  deriveKey(exSecret, "20130524", "us-east-1", "s3"),
	}
	for _, tc := range []struct {
		name, trailerSig string
		kind             Kind
	}{{"valid", exTrailerSig, 0}, {"tampered", strings.Repeat("1", 64), KindChunkSignature}} {
		t.Run(tc.name, func(t *testing.T) {
			body := exampleBody(false, "first:1st\r\nsecond:2nd\r\nthird:3rd\r\nx-amz-trailer-signature:"+tc.trailerSig+"\r\n\r\n")
			cr, err := NewChunkedReader(bytes.NewReader(body), res, http.Header{"X-Amz-Decoded-Content-Length": {"66560"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(cr)
			if tc.kind != 0 {
				wantKind(t, err, tc.kind)
				return
			}
			if err != nil || len(got) != 66560 {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
			if cr.Trailers().Get("second") != "2nd" {
				t.Errorf("trailers = %v", cr.Trailers())
			}
		})
	}
}

func TestCRC64NVME(t *testing.T) {
	// CRC-64/NVME check value (the CRC of "123456789").
	if got := crc64.Checksum([]byte("123456789"), crc64NVMETable); got != 0xAE8B14860A799888 {
		t.Fatalf("crc64nvme check = %#x", got)
	}
}

func unsignedChunked(data []byte, chunk int, trailers string) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	b.WriteString("0\r\n" + trailers + "\r\n")
	return b.Bytes()
}

func TestChunkedUnsignedTrailer(t *testing.T) {
	data := []byte(strings.Repeat("hello, trailing checksum world\n", 300))
	crc := make([]byte, 4)
	binary.BigEndian.PutUint32(crc, crc32.ChecksumIEEE(data))
	crcC := make([]byte, 4)
	binary.BigEndian.PutUint32(crcC, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	b64 := base64.StdEncoding.EncodeToString
	res := &Result{PayloadHash: StreamingUnsignedPayloadTrailer}
	hdr := func(trailer string, decoded int) http.Header {
		return http.Header{"X-Amz-Trailer": {trailer}, "X-Amz-Decoded-Content-Length": {strconv.Itoa(decoded)}}
	}
	tests := []struct {
		name string
		body []byte
		hdr  http.Header
		kind Kind
	}{
		{"crc32", unsignedChunked(data, 4096, "x-amz-checksum-crc32:"+b64(crc)+"\r\n"), hdr("x-amz-checksum-crc32", len(data)), 0},
		{"crc32c tiny chunks", unsignedChunked(data, 7, "x-amz-checksum-crc32c:"+b64(crcC)+"\r\n"), hdr("x-amz-checksum-crc32c", len(data)), 0},
		{"wrong checksum", unsignedChunked(data, 4096, "x-amz-checksum-crc32:"+b64(crcC)+"\r\n"), hdr("x-amz-checksum-crc32", len(data)), KindChecksumMismatch},
		{"missing trailer", unsignedChunked(data, 4096, ""), hdr("x-amz-checksum-crc32", len(data)), KindChunkSignature},
		{"decoded length", unsignedChunked(data, 4096, "x-amz-checksum-crc32:"+b64(crc)+"\r\n"), hdr("x-amz-checksum-crc32", len(data)+1), KindChunkSignature},
		{"truncated", unsignedChunked(data, 4096, "")[:5000], hdr("x-amz-checksum-crc32", len(data)), KindChunkSignature},
		{"chunk too long", bytes.Replace(unsignedChunked(data, 4096, ""), []byte("1000\r\n"), []byte("fff\r\n"), 1), hdr("x-amz-checksum-crc32", len(data)), KindChunkSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr, err := NewChunkedReader(bytes.NewReader(tt.body), res, tt.hdr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(cr)
			if tt.kind != 0 {
				wantKind(t, err, tt.kind)
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
		})
	}
	if _, err := NewChunkedReader(nil, &Result{PayloadHash: UnsignedPayload}, nil); err == nil {
		t.Error("UNSIGNED-PAYLOAD accepted as aws-chunked")
	}
	if _, err := NewChunkedReader(nil, res, http.Header{"X-Amz-Trailer": {"x-amz-checksum-md5"}}); err == nil {
		t.Error("unknown checksum accepted")
	}
}

func FuzzChunkedReader(f *testing.F) {
	f.Add(unsignedChunked([]byte("hello"), 2, "x-amz-checksum-crc32:NhCmhg==\r\n"), false)
	f.Add(exampleBody(false, ""), true)
	f.Add([]byte("5;chunk-signature=00\r\nhello\r\n0;chunk-signature=\r\n\r\n"), true)
	signedRes := &Result{PayloadHash: StreamingPayload, Signature: exSeed, Time: exTime,
		Scope:      Scope{Date: "20130524", Region: "us-east-1", Service: "s3"},
		signingKey: deriveKey(exSecret, "20130524", "us-east-1", "s3")}
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		res, hdr := &Result{PayloadHash: StreamingUnsignedPayloadTrailer}, http.Header{"X-Amz-Trailer": {"x-amz-checksum-crc32"}}
		if signed {
			res, hdr = signedRes, http.Header{}
		}
		cr, err := NewChunkedReader(bytes.NewReader(body), res, hdr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(cr)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("non-AWS error %v", err)
		}
		if int64(len(got)) > int64(len(body)) {
			t.Fatalf("decoded more than the body")
		}
	})
}
