package lambda_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/testenv"
)

var benchPayload = []byte(`{"a":1}`)

// pct returns the p-th percentile (0–100) of d.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// loopback is the baseline: one keep-alive HTTP POST of the payload to a
// trivial in-process echo handler.
type loopback struct {
	url string
	c   *http.Client
}

func startLoopback(b *testing.B) *loopback {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return &loopback{url: srv.URL, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

func (l *loopback) roundTrip(b *testing.B) {
	resp, err := l.c.Post(l.url, "application/json", bytes.NewReader(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// bareRuntime runs the test bootstrap against the smallest Runtime API
// there is (no state machine, logs or timers): the floor for the same
// bootstrap. roundTrip hands it one event and waits for its response.
type bareRuntime struct {
	events    chan string
	responses chan []byte
}

func startBareRuntime(b *testing.B) *bareRuntime {
	br := &bareRuntime{events: make(chan string), responses: make(chan []byte)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case id := <-br.events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", "9999999999999")
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-0-0")
			_, _ = w.Write(benchPayload)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		br.responses <- body
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	cmd := exec.Command(handlerBin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + srv.Listener.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=bench",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "_HANDLER=bootstrap"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	br.roundTrip(b)
	return br
}

func (br *bareRuntime) roundTrip(b *testing.B) {
	br.events <- "id"
	if resp := <-br.responses; !bytes.Equal(resp, benchPayload) {
		b.Fatalf("bare runtime answered %s", resp)
	}
}

// funcrtManager is the engine alone: a funcrt.Manager running the same
// bootstrap, warm.
func funcrtManager(b *testing.B) *funcrt.Manager {
	m, err := funcrt.New(funcrt.Config{FunctionName: "bench", Version: "$LATEST", MemoryMB: 128, Timeout: 10 * time.Second,
		Handler: "bootstrap", Runtime: "provided.al2023", CodeDir: filepath.Dir(handlerBin)}, funcrt.Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	funcrtInvoke(b, m)
	return m
}

func funcrtInvoke(b *testing.B, m *funcrt.Manager) {
	res, err := m.Invoke(context.Background(), funcrt.Request{Payload: benchPayload})
	if err != nil || res.FunctionError != "" || !bytes.Equal(res.Payload, benchPayload) {
		b.Fatalf("funcrt invoke: %v %s", err, res.Payload)
	}
}

// rawInvoker replays one SigV4-signed Invoke request with a plain HTTP
// client: the server's cost without the SDK client's.
type rawInvoker struct {
	c      *http.Client
	url    string
	header http.Header
}

func newRawInvoker(b *testing.B, env *testenv.Env, name string) *rawInvoker {
	u := env.URL + "/2015-03-31/functions/" + name + "/invocations"
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	sum := sha256.Sum256(benchPayload)
	creds, err := env.Config.Credentials.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	return &rawInvoker{c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}, url: u, header: req.Header}
}

func (ri *rawInvoker) invoke(b *testing.B) {
	req, _ := http.NewRequest(http.MethodPost, ri.url, bytes.NewReader(benchPayload))
	req.Header = ri.header.Clone()
	resp, err := ri.c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, benchPayload) {
		b.Fatalf("raw invoke: %d %s", resp.StatusCode, body)
	}
}

func createBenchFn(b *testing.B, c *lambda.Client, name string) {
	if _, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: handlerZip}}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWarmInvokeBreakdown measures, interleaved in one run: a loopback
// HTTP round trip, the bare Runtime API round trip of the test bootstrap,
// funcrt's warm invoke of it, the server's warm Invoke as a replayed signed
// request, and the same Invoke through the AWS SDK. It reports p50 and p99
// of each (µs) and the ratio: (server p50 - bare p50) / loopback p50.
func BenchmarkWarmInvokeBreakdown(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	createBenchFn(b, c, "bench")
	in := &lambda.InvokeInput{FunctionName: aws.String("bench"), Payload: benchPayload}
	if _, err := c.Invoke(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	lb := startLoopback(b)
	br := startBareRuntime(b)
	m := funcrtManager(b)
	ri := newRawInvoker(b, env, "bench")
	ri.invoke(b)
	var loop, bare, eng, raw, sdk []time.Duration
	for b.Loop() {
		t0 := time.Now()
		lb.roundTrip(b)
		t1 := time.Now()
		br.roundTrip(b)
		t2 := time.Now()
		funcrtInvoke(b, m)
		t3 := time.Now()
		ri.invoke(b)
		t4 := time.Now()
		if _, err := c.Invoke(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		loop, bare, eng = append(loop, t1.Sub(t0)), append(bare, t2.Sub(t1)), append(eng, t3.Sub(t2))
		raw, sdk = append(raw, t4.Sub(t3)), append(sdk, t5.Sub(t4))
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"loopback", loop}, {"bare", bare}, {"funcrt", eng}, {"server", raw}, {"sdk", sdk}} {
		b.ReportMetric(us(pct(s.d, 50)), s.name+"-p50-µs")
		b.ReportMetric(us(pct(s.d, 99)), s.name+"-p99-µs")
	}
	l := float64(pct(loop, 50))
	b.ReportMetric(float64(pct(raw, 50)-pct(bare, 50))/l, "(server-bare)/loopback")
	b.ReportMetric(float64(pct(sdk, 50)-pct(bare, 50))/l, "(sdk-bare)/loopback")
	b.ReportMetric(float64(pct(eng, 50)-pct(bare, 50))/l, "(funcrt-bare)/loopback")
}

// BenchmarkWarmInvokeRaw is the server's warm Invoke alone, as a replayed
// signed request (for profiling the server path without the SDK client).
func BenchmarkWarmInvokeRaw(b *testing.B) {
	env := testenv.Start(b)
	createBenchFn(b, lambda.NewFromConfig(env.Config), "bench")
	ri := newRawInvoker(b, env, "bench")
	ri.invoke(b)
	for b.Loop() {
		ri.invoke(b)
	}
}
