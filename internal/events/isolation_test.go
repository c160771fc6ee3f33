package events

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
)

// slowSQS is a target that takes a fixed time per message (a remote queue)
// and reports when each message of the watched queue arrives.
type slowSQS struct {
	delay   time.Duration
	watched string
	mu      sync.Mutex
	waiters map[string]chan time.Time // body → arrival (wall time)
	total   atomic.Int64
}

func (f *slowSQS) SendEventsMessage(ctx context.Context, m SQSMessage) (string, error) {
	time.Sleep(f.delay)
	f.total.Add(1)
	if m.QueueARN == f.watched {
		f.arrived(m.Body)
	}
	return "id", nil
}

// expect returns a channel that receives the arrival time of the watched
// queue's first message whose body contains part.
func (f *slowSQS) expect(part string) <-chan time.Time {
	c := make(chan time.Time, 1)
	f.mu.Lock()
	f.waiters[part] = c
	f.mu.Unlock()
	return c
}

func (f *slowSQS) arrived(body string) {
	at := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for part, c := range f.waiters {
		if strings.Contains(body, part) {
			c <- at
			delete(f.waiters, part)
		}
	}
}

// quietSample is one quiet event: how long its PutEvents took (matching
// and the durable enqueue) and how long until it was delivered.
type quietSample struct {
	put, delivered time.Duration
}

// noisyNeighbour is the isolation scenario: a quiet account puts events
// one at a time (one rule, one slow SQS target) while the storage is idle,
// then while a noisy account floods PutEvents (10 entries × 5 targets) as
// fast as one client can; shuffle sharding keeps the two accounts'
// delivery work on different shards, and the embedded store's fair group
// commit keeps the quiet account's enqueue from waiting behind the
// flood's writes.
type noisyNeighbour struct {
	idle, loaded []quietSample
	backlog      int64 // noisy tasks queued when the loaded phase ended
	delivered    int64 // deliveries made by then
}

func runNoisyNeighbour(tb testing.TB, samples int) noisyNeighbour {
	const quiet, noisy = "111111111111", "222222222222"
	f := &slowSQS{delay: 2 * time.Millisecond, watched: "arn:aws:sqs:us-east-1:" + quiet + ":q", waiters: map[string]chan time.Time{}}
	h := &harness{t: tb, clock: clock.NewScaled(1), dir: tb.TempDir(), sender: f, shards: 16}
	h.open()
	for _, a := range []string{quiet, noisy} {
		if _, err := h.callAs(a, "PutRule", map[string]any{"Name": "r", "EventPattern": `{"source":["quiet","noisy"]}`}); err != nil {
			tb.Fatal(err)
		}
		var targets []map[string]any
		for i := range 5 {
			targets = append(targets, map[string]any{"Id": "t" + strconv.Itoa(i), "Arn": "arn:aws:sqs:us-east-1:" + a + ":q"})
		}
		if a == quiet {
			targets = targets[:1]
		}
		if _, err := h.callAs(a, "PutTargets", map[string]any{"Rule": "r", "Targets": targets}); err != nil {
			tb.Fatal(err)
		}
	}
	n := 0
	measure := func(count int) []quietSample {
		out := make([]quietSample, 0, count)
		for range count {
			n++
			detail := `{"i":` + strconv.Itoa(n) + `}`
			at := f.expect(`"detail":` + detail)
			start := time.Now()
			if _, err := h.callAs(quiet, "PutEvents", map[string]any{"Entries": []map[string]any{{"Source": "quiet", "DetailType": "d", "Detail": detail}}}); err != nil {
				tb.Fatal(err)
			}
			put := time.Since(start)
			select {
			case t := <-at:
				out = append(out, quietSample{put: put, delivered: t.Sub(start)})
			case <-time.After(10 * time.Second):
				tb.Fatal("quiet event not delivered in 10 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return out
	}
	var r noisyNeighbour
	measure(20) // warm up
	r.idle = measure(samples)

	stop := make(chan struct{})
	var flood sync.WaitGroup
	flood.Add(1)
	go func() {
		defer flood.Done()
		var entries []map[string]any
		for range 10 {
			entries = append(entries, map[string]any{"Source": "noisy", "DetailType": "d", "Detail": `{"x":1}`})
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := h.callAs(noisy, "PutEvents", map[string]any{"Entries": entries}); err != nil {
				tb.Error(err)
				return
			}
		}
	}()
	waitFor(tb, "flood backlog", func() bool { return f.total.Load() > 500 })
	r.loaded = measure(samples)
	for _, sh := range h.svc.shards {
		r.backlog += sh.backlog.Load()
	}
	r.delivered = f.total.Load()
	close(stop)
	flood.Wait()
	return r
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*p+99)/100-1]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quietFigures are percentiles of one phase's quiet samples.
type quietFigures struct {
	putP50, putP99, p50, p99 time.Duration
}

func figures(ss []quietSample) quietFigures {
	var put, del []time.Duration
	for _, s := range ss {
		put = append(put, s.put)
		del = append(del, s.delivered)
	}
	return quietFigures{putP50: percentile(put, 50), putP99: percentile(put, 99), p50: percentile(del, 50), p99: percentile(del, 99)}
}

// TestNoisyNeighbourIsolation checks the bound: a flood in one
// account raises another account's PutEvents-to-delivery latency p99 by
// at most 2×. The figures are wall-clock percentiles, so on a loaded
// machine the test can fail for reasons outside Fogbank: it runs only with
// FOGBANK_ISOLATION_TEST=1 (BenchmarkNoisyNeighbour reports the same
// figures without asserting them).
func TestNoisyNeighbourIsolation(t *testing.T) {
	if os.Getenv("FOGBANK_ISOLATION_TEST") == "" {
		t.Skip("timing assertion: set FOGBANK_ISOLATION_TEST=1 to run (BenchmarkNoisyNeighbour reports the figures)")
	}
	r := runNoisyNeighbour(t, 200)
	idle, loaded := figures(r.idle), figures(r.loaded)
	t.Logf("quiet p99: %v idle, %v during the flood (p50 %v, %v; PutEvents p99 %v, %v; backlog %d tasks, %d delivered)",
		idle.p99, loaded.p99, idle.p50, loaded.p50, idle.putP99, loaded.putP99, r.backlog, r.delivered)
	if r.backlog < 1000 {
		t.Fatalf("the flood left only %d tasks queued: not a flood", r.backlog)
	}
	if loaded.p99 > 2*idle.p99 {
		t.Fatalf("quiet account p99 %v during the flood > 2 × %v idle", loaded.p99, idle.p99)
	}
}

// BenchmarkNoisyNeighbour runs the isolation scenario once (whatever b.N)
// with 200 quiet events per phase and reports the quiet account's
// PutEvents-to-delivery percentiles while idle and during another
// account's flood, and their ratios (issue 5: p99-ratio ≤ 2), plus the
// PutEvents call alone (its durable enqueue is where the accounts share
// the embedded store's writer).
func BenchmarkNoisyNeighbour(b *testing.B) {
	r := runNoisyNeighbour(b, 200)
	idle, loaded := figures(r.idle), figures(r.loaded)
	if r.backlog < 1000 {
		b.Fatalf("the flood left only %d tasks queued: not a flood", r.backlog)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(millis(idle.p99), "idle-p99-ms")
	b.ReportMetric(millis(loaded.p99), "flood-p99-ms")
	b.ReportMetric(float64(loaded.p99)/float64(idle.p99), "p99-ratio")
	b.ReportMetric(float64(loaded.p50)/float64(idle.p50), "p50-ratio")
	b.ReportMetric(millis(idle.putP99), "idle-put-p99-ms")
	b.ReportMetric(millis(loaded.putP99), "flood-put-p99-ms")
	b.ReportMetric(float64(r.backlog), "flood-backlog")
}
