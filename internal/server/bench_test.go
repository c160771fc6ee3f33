package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fogbank/fogbank/internal/testenv"
)

const gciBody = "Action=GetCallerIdentity&Version=2011-06-15"

// signedGCI returns a SigV4-signed GetCallerIdentity request for url,
// valid for 15 minutes, that can be replayed.
func signedGCI(tb testing.TB, url string) (*http.Request, []byte) {
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(gciBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(gciBody))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return req, []byte(gciBody)
}

func replay(b *testing.B, client *http.Client, tmpl *http.Request, body []byte) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		req := tmpl.Clone(context.Background())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkGetCallerIdentity replays one signed GetCallerIdentity request
// through the full front door (routing, SigV4 check, STS, trail, metrics)
// and, as the baseline in the same run, the same request to a bare
// net/http handler that answers a fixed body.
func BenchmarkGetCallerIdentity(b *testing.B) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.Run("bare-net-http", func(b *testing.B) {
		answer := []byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/xml")
			w.Write(answer)
		}))
		defer srv.Close()
		req, body := signedGCI(b, srv.URL)
		replay(b, client, req, body)
	})
	b.Run("fogbank", func(b *testing.B) {
		env := testenv.Start(b)
		req, body := signedGCI(b, env.URL)
		replay(b, client, req, body)
	})
}

// BenchmarkFrontDoorInProcess is the GetCallerIdentity request of
// BenchmarkGetCallerIdentity handed to the server's handler directly (no
// sockets, no HTTP parsing): the front door's and STS's own CPU and
// allocations per request.
func BenchmarkFrontDoorInProcess(b *testing.B) {
	env := testenv.Start(b)
	tmpl, body := signedGCI(b, env.URL)
	h := env.Server.Handler()
	rd := bytes.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r := httptest.NewRequest(tmpl.Method, "/", io.NopCloser(rd))
		r.Host = tmpl.Host
		r.Header = tmpl.Header
		r.ContentLength = int64(len(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
