package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		authz(goodCred, "host;x-amz-date", zeroSig),
		"AWS4-HMAC-SHA256 Credential=A/B/C/D/E,SignedHeaders=host,Signature=abc",
		"Bearer token",
		"AWS AKID:c2lnbmF0dXJl",
		"AWS4-HMAC-SHA256 Credential= A/B, =, ==, Signature=a=b",
		"",
		"\t,\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if err.Kind != KindIncomplete || !strings.Contains(err.Message, "missing equal-sign") {
				t.Fatalf("unexpected error %+v", err)
			}
			return
		}
		for _, v := range []string{a.credential, a.signedHeaders, a.signature} {
			if strings.ContainsAny(v, ", \t") {
				t.Fatalf("parameter value %q holds a separator", v)
			}
		}
		if c, ok := parseCredential(a.credential); ok && strings.Contains(c.accessKeyID+c.date+c.region+c.service+c.term, "/") {
			t.Fatalf("credential element holds a slash: %+v", c)
		}
		r := &http.Request{Header: http.Header{"Authorization": {h}}, RequestURI: "/"}
		if sc, ok := ParseScope(r); ok {
			c, cok := parseCredential(a.credential)
			want := Scope{AccessKeyID: c.accessKeyID, Date: c.date, Region: c.region, Service: c.service}
			if !cok || sc != want {
				t.Fatalf("ParseScope(%q) = %+v, credential parses as %+v (%v)", h, sc, want, cok)
			}
		}
	})
}

// fuzzSeedRequests returns wire-format requests: SDK-signed ones (so the
// fuzzer starts past signature checks) and, when present, the suite's.
func fuzzSeedRequests(f *testing.F) [][]byte {
	var seeds [][]byte
	wire := func(r *http.Request) []byte {
		var buf bytes.Buffer
		if err := r.Write(&buf); err != nil {
			f.Fatal(err)
		}
		return buf.Bytes()
	}
	seeds = append(seeds,
		wire(signJSON(f, testKey, "sqs", []byte(`{"QueueUrl":"q"}`), signTime, false)),
		wire(signJSON(f, testKey, "sqs", []byte(`{"QueueUrl":"q"}`), signTime, true)),
		wire(signJSON(f, tempKey, "logs", []byte(`{}`), signTime, false)),
		[]byte("GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"+
			"&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00 HTTP/1.1\r\nHost: b.s3\r\n\r\n"),
		[]byte("PUT /bucket/a%2Fb/../c HTTP/1.1\r\nHost: h\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nX-Amz-Date: 20240101T000000Z\r\n"+
			"Authorization: "+authz("AKIDEXAMPLE/20240101/us-east-1/s3/aws4_request", "host;x-amz-content-sha256;x-amz-date", zeroSig)+
			"\r\nContent-Length: 3\r\n\r\nabc"),
	)
	if dir := os.Getenv("FOGBANK_CONFORMANCE_DIR"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "sigv4", "v4", "*", "*-signed-request.txt"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	return seeds
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeedRequests(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		v := newTestVerifier(signTime)
		v.MaxBody = 1 << 16
		_, _ = ParseScope(r)
		res, err := v.Verify(r)
		var e *Error
		if err != nil {
			if res != nil {
				t.Fatalf("result %+v with error %v", res, err)
			}
			if errors.As(err, &e) && (e.Kind == 0 || e.Code == "" || e.Status == 0 || e.Message == "") {
				t.Fatalf("incomplete error %+v", e)
			}
			return
		}
		if res.AccessKeyID == "" && res.Credentials.AccessKeyID == "" {
			t.Fatalf("verified without a key: %+v", res)
		}
		// A body cut short by the transport (Content-Length larger than
		// what arrived) is a transport error, not a signing one.
		if _, err := io.Copy(io.Discard, r.Body); err != nil && !errors.As(err, &e) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("body read: %v", err)
		}
	})
}

// BenchmarkVerify measures a typical small awsJson POST (SQS SendMessage),
// with the body hashed by the server and with X-Amz-Content-Sha256.
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"QueueUrl":"http://localhost:4566/000000000000/orders","MessageBody":"{\"id\":42,\"item\":\"widget\"}","DelaySeconds":0}`)
	for _, withHeader := range []bool{false, true} {
		name := "hash-body"
		if withHeader {
			name = "content-sha256-header"
		}
		b.Run(name, func(b *testing.B) {
			r := overTheWire(b, signJSON(b, testKey, "sqs", body, signTime, withHeader))
			v := newTestVerifier(signTime.Add(time.Minute))
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r.Body = io.NopCloser(bytes.NewReader(body))
				if _, err := v.Verify(r); err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
