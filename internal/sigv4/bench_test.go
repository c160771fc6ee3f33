package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchVerify verifies the same received request b.N times, restoring its
// body before each round.
func benchVerify(b *testing.B, r *http.Request, body []byte) {
	v := newTestVerifier(signTime.Add(time.Minute))
	rd := bytes.NewReader(body)
	for b.Loop() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRESTJSON is a restJson1 POST as the SDK signs a Lambda
// Invoke (no X-Amz-Content-Sha256 header: the body is buffered and hashed).
func BenchmarkVerifyRESTJSON(b *testing.B) {
	body := []byte(`{"a":1}`)
	req := newClientRequest(b, http.MethodPost, "http://127.0.0.1:4566/2015-03-31/functions/bench/invocations", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(testKey), req, hexSHA256(body), "lambda", "us-east-1", signTime); err != nil {
		b.Fatal(err)
	}
	benchVerify(b, overTheWire(b, req), body)
}

// BenchmarkVerifyQuery is an awsQuery form POST (GetCallerIdentity).
func BenchmarkVerifyQuery(b *testing.B) {
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req := newClientRequest(b, http.MethodPost, "http://127.0.0.1:4566/", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds(testKey), req, hexSHA256(body), "sts", "us-east-1", signTime); err != nil {
		b.Fatal(err)
	}
	benchVerify(b, overTheWire(b, req), body)
}
