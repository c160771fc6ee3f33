package lambda_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	stop      func()
}

// startBareRuntime execs the bootstrap against a bare Runtime API and
// waits for its first response; it is stopped at cleanup.
func startBareRuntime(b *testing.B) *bareRuntime {
	br := execBareRuntime(b)
	b.Cleanup(br.stop)
	return br
}

// execBareRuntime is startBareRuntime without the cleanup: the caller
// calls stop.
func execBareRuntime(b *testing.B) *bareRuntime {
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
	cmd := exec.Command(handlerBin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + srv.Listener.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=bench",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "_HANDLER=bootstrap"}
	if err := cmd.Start(); err != nil {
		srv.Close()
		b.Fatal(err)
	}
	br.stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); srv.Close() }
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
	return newRawInvokerOf(b, env, name, "RequestResponse")
}

func newRawInvokerOf(b *testing.B, env *testenv.Env, name, invocationType string) *rawInvoker {
	u := env.URL + "/2015-03-31/functions/" + name + "/invocations"
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", invocationType)
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
	if st, body := ri.send(); st != http.StatusOK || !bytes.Equal(body, benchPayload) {
		b.Fatalf("raw invoke: %d %s", st, body)
	}
}

// send replays the request; safe for concurrent use.
func (ri *rawInvoker) send() (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, ri.url, bytes.NewReader(benchPayload))
	req.Header = ri.header.Clone()
	resp, err := ri.c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, body
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
// request, and the same Invoke through the AWS SDK; then the loopback round
// trip and the replayed Invoke again with client and server in separate
// processes (an echo child process; `fogbank serve` built and run as a
// child), as the research notes define the goal's baseline. It reports p50
// and p99 of each (µs) and the ratio, (server p50 - bare p50) /
// loopback p50, for both placements.
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
	rie := startRIE(b)
	xlb := startXLoopback(b)
	xri := startXInvoker(b)
	var loop, bare, eng, raw, sdk, emu, xloop, xraw []time.Duration
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
		xlb.roundTrip(b)
		t6 := time.Now()
		xri.invoke(b)
		t7 := time.Now()
		xloop, xraw = append(xloop, t6.Sub(t5)), append(xraw, t7.Sub(t6))
		if rie != nil {
			rie.roundTrip(b)
			emu = append(emu, time.Since(t7))
		}
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"loopback", loop}, {"bare", bare}, {"funcrt", eng}, {"server", raw}, {"sdk", sdk}, {"rie", emu},
		{"xloopback", xloop}, {"xserver", xraw}} {
		if len(s.d) == 0 {
			continue
		}
		b.ReportMetric(us(pct(s.d, 50)), s.name+"-p50-µs")
		b.ReportMetric(us(pct(s.d, 99)), s.name+"-p99-µs")
	}
	l := float64(pct(loop, 50))
	b.ReportMetric(float64(pct(raw, 50)-pct(bare, 50))/l, "(server-bare)/loopback")
	b.ReportMetric(float64(pct(sdk, 50)-pct(bare, 50))/l, "(sdk-bare)/loopback")
	b.ReportMetric(float64(pct(eng, 50)-pct(bare, 50))/l, "(funcrt-bare)/loopback")
	xl := float64(pct(xloop, 50))
	b.ReportMetric(float64(pct(xraw, 50)-pct(bare, 50))/xl, "(xserver-bare)/xloopback")
	b.ReportMetric(float64(pct(xraw, 99)-pct(bare, 99))/float64(pct(xloop, 99)), "p99(xserver-bare)/xloopback")
	if rie != nil {
		b.ReportMetric(float64(pct(raw, 50))/float64(pct(emu, 50)), "server/rie")
	}
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

// rie is the AWS Lambda Runtime Interface Emulator running the same
// bootstrap (concurrency 1, loopback). It is used only when
// FOGBANK_RIE_BIN names a built aws-lambda-rie binary (see
// docs/benchmarks.md, "Lambda benchmarks"); it is not a module dependency.
type rie struct {
	url string
	c   *http.Client
}

func startRIE(b *testing.B) *rie {
	bin := os.Getenv("FOGBANK_RIE_BIN")
	if bin == "" {
		return nil
	}
	port := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	addr := port()
	cmd := exec.Command(bin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", port(), handlerBin)
	cmd.Env = []string{"AWS_LAMBDA_FUNCTION_NAME=bench", "LOG_LEVEL=error", "PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	e := &rie{url: "http://" + addr + "/2015-03-31/functions/function/invocations", c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := e.c.Post(e.url, "application/json", bytes.NewReader(benchPayload)); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return e
		}
		if time.Now().After(deadline) {
			b.Fatal("rie did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *rie) roundTrip(b *testing.B) {
	resp, err := e.c.Post(e.url, "application/json", bytes.NewReader(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, benchPayload) {
		b.Fatalf("rie answered %s", body)
	}
}

// metric reads a counter of the server's /metrics for one function.
func metric(b *testing.B, env *testenv.Env, name, fn string) float64 {
	return scrape(b, env, name+`{function="`+fn+`"} `)
}

// scrape returns the value of the /metrics line that starts with prefix
// (a series name and its labels, then a space); 0 when there is none.
func scrape(b *testing.B, env *testenv.Env, prefix string) float64 {
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waitPoolFull waits up to timeout until the server's sandbox helper pool
// holds funcrt.DefaultSandboxPoolSize idle helpers, and reports whether it
// does (never, where the host refuses namespaces).
func waitPoolFull(b *testing.B, env *testenv.Env, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(time.Millisecond) {
		if scrape(b, env, "fogbank_lambda_sandbox_pool_idle ") >= funcrt.DefaultSandboxPoolSize {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// newConfig changes the function's configuration so that the next
// invocations start new environments.
func newConfig(b *testing.B, c *lambda.Client, name string, i int) {
	if _, err := c.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
		Description: aws.String(strconv.Itoa(i))}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkColdStartBreakdown measures a cold Invoke through the server
// (a replayed signed request to a function created just before, untimed,
// so a new environment) against the bare floor: exec of the same
// bootstrap until its first response through the bare Runtime API. It
// reports both p50s and their ratio (issue target: cold/bare <= 2).
// FOGBANK_BENCH_COLD=update makes the cold starts by changing one
// function's configuration instead (the old environment is then torn down
// while the new one starts).
func BenchmarkColdStartBreakdown(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	byUpdate := os.Getenv("FOGBANK_BENCH_COLD") == "update"
	createBenchFn(b, c, "cold")
	ri := newRawInvoker(b, env, "cold")
	ri.invoke(b)
	// With namespace isolation, cold starts take pre-started sandbox
	// helpers and the pool refills after each: wait (untimed) until it is
	// full again before each measured start, as between cold starts that
	// are not back to back, so that neither the cold start nor the bare
	// exec competes with a refill.
	pooled := waitPoolFull(b, env, 5*time.Second)
	b.Logf("sandbox helper pool in use: %v; cold starts by update: %v", pooled, byUpdate)
	var cold, bare []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		name := "cold"
		if byUpdate {
			newConfig(b, c, name, i)
		} else {
			name = "cold-" + strconv.Itoa(i)
			createBenchFn(b, c, name)
			ri = newRawInvoker(b, env, name)
		}
		if pooled {
			waitPoolFull(b, env, 10*time.Second)
		}
		b.StartTimer()
		t0 := time.Now()
		ri.invoke(b)
		cold = append(cold, time.Since(t0))
		if pooled {
			b.StopTimer()
			waitPoolFull(b, env, 10*time.Second)
			b.StartTimer()
		}
		t1 := time.Now()
		br := execBareRuntime(b)
		bare = append(bare, time.Since(t1))
		br.stop()
		if !byUpdate {
			if n := metric(b, env, "fogbank_lambda_cold_starts_total", name); n != 1 {
				b.Fatalf("invoke of %s: %v cold starts, want 1", name, n)
			}
		}
	}
	if n := metric(b, env, "fogbank_lambda_cold_starts_total", "cold"); byUpdate && int(n) < len(cold) {
		b.Fatalf("only %v of %d invokes were cold", n, len(cold))
	}
	b.ReportMetric(float64(pct(cold, 50))/1e6, "cold-p50-ms")
	b.ReportMetric(float64(pct(cold, 99))/1e6, "cold-p99-ms")
	b.ReportMetric(float64(pct(bare, 50))/1e6, "bare-exec-p50-ms")
	b.ReportMetric(float64(pct(cold, 50))/float64(pct(bare, 50)), "cold/bare")
}

// envBurst is how many environments one round of BenchmarkEnvironments starts.
const envBurst = 8

// BenchmarkEnvironments measures new execution environments per second:
// each round sends envBurst concurrent invokes to a fresh configuration
// (each needs its own environment), against the parallel spawn-cycle
// ceiling: envBurst concurrent bare execs of the same bootstrap until
// their first responses. Environments are counted from the cold-start
// metric, not assumed.
func BenchmarkEnvironments(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	createBenchFn(b, c, "envs")
	ri := newRawInvoker(b, env, "envs")
	ri.invoke(b)
	ri.c = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: envBurst}}
	before := metric(b, env, "fogbank_lambda_cold_starts_total", "envs")
	// As in BenchmarkColdStartBreakdown, each burst starts with a full
	// sandbox helper pool (a burst after a quiet spell), and the bare
	// spawns do not share the cores with its refill.
	pooled := waitPoolFull(b, env, 5*time.Second)
	var serverTime, bareTime time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		newConfig(b, c, "envs", i)
		if pooled {
			waitPoolFull(b, env, 10*time.Second)
		}
		b.StartTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make(chan string, envBurst)
		for range envBurst {
			wg.Go(func() {
				if st, body := ri.send(); st != http.StatusOK {
					errs <- fmt.Sprintf("%d %s", st, body)
				}
			})
		}
		wg.Wait()
		t1 := time.Now()
		serverTime += t1.Sub(t0)
		close(errs)
		for e := range errs {
			b.Fatal("invoke:", e)
		}
		if pooled {
			b.StopTimer()
			waitPoolFull(b, env, 10*time.Second)
			b.StartTimer()
			t1 = time.Now()
		}
		brs := make([]*bareRuntime, envBurst)
		for k := range envBurst {
			wg.Go(func() { brs[k] = execBareRuntime(b) })
		}
		wg.Wait()
		t2 := time.Now()
		for _, br := range brs {
			br.stop()
		}
		bareTime += t2.Sub(t1)
	}
	envs := metric(b, env, "fogbank_lambda_cold_starts_total", "envs") - before
	serverRate := envs / serverTime.Seconds()
	bareRate := float64(i*envBurst) / bareTime.Seconds()
	b.ReportMetric(serverRate, "envs/s")
	b.ReportMetric(bareRate, "bare-spawns/s")
	b.ReportMetric(serverRate/bareRate, "envs/bare")
}

// BenchmarkAsyncEvents measures asynchronous (Event) invocations: b.N
// events sent by 8 concurrent clients as replayed signed requests; it
// reports the rate at which they were accepted (202, durably queued) and
// the rate at which they were delivered (the function ran), from the
// first send to the last invocation.
func BenchmarkAsyncEvents(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	createBenchFn(b, c, "async")
	ri := newRawInvokerOf(b, env, "async", "Event")
	ri.c = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	start := metric(b, env, "fogbank_lambda_invocations_total", "async")
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	n := int64(b.N)
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= n {
				if st, body := ri.send(); st != http.StatusAccepted {
					b.Errorf("event invoke: %d %s", st, body)
					return
				}
			}
		})
	}
	wg.Wait()
	accepted := time.Since(t0)
	deadline := time.Now().Add(5 * time.Minute)
	for metric(b, env, "fogbank_lambda_invocations_total", "async")-start < float64(b.N) {
		if time.Now().After(deadline) {
			b.Fatal("async events not delivered within 5 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	delivered := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/delivered.Seconds(), "delivered/s")
}
