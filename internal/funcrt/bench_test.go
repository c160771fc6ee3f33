package funcrt

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"
)

// The warm-invoke benchmark is read against a baseline measured in the same
// run: one loopback HTTP round trip (POST with the same payload, keep-alive
// client) to a trivial in-process handler. BenchmarkWarmInvokeVsLoopback
// reports both medians and their ratio.

var benchPayload = []byte(`{"action":"echo","hello":"world"}`)

func benchManager(b *testing.B) *Manager {
	m := newManager(b, testConfig(b), Options{})
	if _, err := m.Invoke(context.Background(), Request{Payload: benchPayload}); err != nil {
		b.Fatal(err)
	}
	return m
}

func warmInvoke(b *testing.B, m *Manager) {
	res, err := m.Invoke(context.Background(), Request{Payload: benchPayload})
	if err != nil || res.FunctionError != "" || res.ColdStart {
		b.Fatalf("warm invoke: %v %s cold=%v", err, res.Payload, res.ColdStart)
	}
}

func loopbackServer(b *testing.B) (*httptest.Server, *http.Client) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
}

func loopbackRoundTrip(b *testing.B, srv *httptest.Server, c *http.Client) {
	resp, err := c.Post(srv.URL, "application/json", bytes.NewReader(benchPayload))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func BenchmarkWarmInvoke(b *testing.B) {
	m := benchManager(b)
	b.ResetTimer()
	for b.Loop() {
		warmInvoke(b, m)
	}
}

func BenchmarkLoopbackHTTP(b *testing.B) {
	srv, c := loopbackServer(b)
	for b.Loop() {
		loopbackRoundTrip(b, srv, c)
	}
}

// BenchmarkWarmInvokeVsLoopback interleaves warm invokes, bare Runtime API
// round trips of the same bootstrap and loopback round trips, and reports
// their medians (µs), warm/loopback, and the engine's own overhead
// (warm - bare) in loopback round trips.
func BenchmarkWarmInvokeVsLoopback(b *testing.B) {
	m := benchManager(b)
	br := startBareRuntime(b)
	srv, c := loopbackServer(b)
	var warm, bare, loop []time.Duration
	for b.Loop() {
		t0 := time.Now()
		warmInvoke(b, m)
		t1 := time.Now()
		br.roundTrip(b)
		t2 := time.Now()
		loopbackRoundTrip(b, srv, c)
		warm = append(warm, t1.Sub(t0))
		bare = append(bare, t2.Sub(t1))
		loop = append(loop, time.Since(t2))
	}
	w, br50, l := median(warm), median(bare), median(loop)
	b.ReportMetric(float64(w)/1e3, "warm-p50-µs")
	b.ReportMetric(float64(br50)/1e3, "bare-p50-µs")
	b.ReportMetric(float64(l)/1e3, "loopback-p50-µs")
	b.ReportMetric(float64(w)/float64(l), "warm/loopback")
	b.ReportMetric(float64(w-br50)/float64(l), "overhead/loopback")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// bareRuntime runs the test handler against the smallest possible Runtime
// API (no state machine, logs, memory or timers): the floor any engine pays
// for the same bootstrap.
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
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111111111111:function:fn")
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
	cmd := exec.Command(handlerBin(b))
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + srv.Listener.Addr().String(), "AWS_LAMBDA_FUNCTION_NAME=fn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "_HANDLER=bootstrap"}
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

func BenchmarkBareRuntimeAPI(b *testing.B) {
	br := startBareRuntime(b)
	for b.Loop() {
		br.roundTrip(b)
	}
}

// BenchmarkColdStart measures Invoke until the handler's response in a new
// environment, against the bare floor: exec of the same bootstrap until its
// first response through the bare Runtime API. It reports both medians and
// their ratio.
func BenchmarkColdStart(b *testing.B) {
	cfg := testConfig(b)
	tmp := b.TempDir()
	var cold, bare []time.Duration
	for b.Loop() {
		m, err := New(cfg, Options{TempDir: tmp})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		res, err := m.Invoke(context.Background(), Request{Payload: benchPayload})
		cold = append(cold, time.Since(t0))
		if err != nil || !res.ColdStart || res.FunctionError != "" {
			b.Fatalf("cold invoke: %v %s", err, res.Payload)
		}
		_ = m.Close()

		t1 := time.Now()
		startBareRuntime(b) // exec + first round trip
		bare = append(bare, time.Since(t1))
	}
	c, br := median(cold), median(bare)
	b.ReportMetric(float64(c)/1e6, "cold-p50-ms")
	b.ReportMetric(float64(br)/1e6, "bare-exec-p50-ms")
	b.ReportMetric(float64(c)/float64(br), "cold/bare")
}

// BenchmarkColdStartIsolation measures a new environment's cold start
// (Invoke until the handler's response, in an existing Manager, so the
// namespace probe is not counted) under each isolation, against the bare
// floor (exec of the same bootstrap until its first response) measured in
// the same iterations. The variants this host cannot provide fall back;
// the log line says what ran. The "+pool" variants take pre-started
// sandbox helpers from a SandboxPool of DefaultSandboxPoolSize, refilled
// (outside the timed parts) before each iteration, as between cold starts
// that are not back to back; they also report the resident set of an idle
// helper (here a helper is this test binary, not Fogbank's).
func BenchmarkColdStartIsolation(b *testing.B) {
	for _, v := range []struct {
		name string
		opts Options
		pool bool
	}{
		{"process", Options{Isolation: IsolationProcess, DisableCgroupV1: true}, false},
		{"process+cgroup1", Options{Isolation: IsolationProcess}, false},
		{"namespaces", Options{DisableCgroupV1: true}, false},
		{"namespaces+cgroup1", Options{}, false},
		{"namespaces+pool", Options{DisableCgroupV1: true}, true},
		{"namespaces+cgroup1+pool", Options{}, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			size := 0
			if v.pool {
				size = DefaultSandboxPoolSize
			}
			pool := NewSandboxPool(size, nil)
			b.Cleanup(func() { _ = pool.Close() })
			v.opts.SandboxPool = pool
			m := newManager(b, testConfig(b), v.opts)
			b.Logf("sandbox: %s", m.Sandbox())
			var cold, bare []time.Duration
			for b.Loop() {
				if v.pool && !waitIdle(pool, size) {
					b.Fatal("the sandbox pool is not filled")
				}
				t0 := time.Now()
				res, err := m.Invoke(context.Background(), Request{Payload: benchPayload})
				cold = append(cold, time.Since(t0))
				if err != nil || !res.ColdStart || res.FunctionError != "" {
					b.Fatalf("cold invoke: %v %s", err, res.Payload)
				}
				m.mu.Lock()
				for _, e := range m.idle {
					m.dropLocked(e)
				}
				m.idle = nil
				m.mu.Unlock()

				t1 := time.Now()
				startBareRuntime(b)
				bare = append(bare, time.Since(t1))
			}
			c, br := median(cold), median(bare)
			b.ReportMetric(float64(c)/1e6, "cold-p50-ms")
			b.ReportMetric(float64(br)/1e6, "bare-exec-p50-ms")
			b.ReportMetric(float64(c)/float64(br), "cold/bare")
			if v.pool {
				if pids := idlePids(pool); len(pids) > 0 {
					st, _ := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/status")
					b.ReportMetric(float64(statusField(st, "VmRSS:")), "idle-helper-rss-kB")
				}
			}
		})
	}
}
