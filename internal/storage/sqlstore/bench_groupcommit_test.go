package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// cycleConcurrency are the numbers of concurrent clients the group-commit
// benchmarks compare.
var cycleConcurrency = []int{1, 8, 32}

// runCycles runs n Send + Receive + Delete cycles of one message on a
// shared queue from conc goroutines and returns the elapsed time. Every
// worker sends before it receives, so a receive always finds a visible
// message (visible = completed sends - completed receives >= the workers
// waiting to receive).
func runCycles(ctx context.Context, q storage.Queues, queue string, conc, n int) (time.Duration, error) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	body := []byte("benchmark message body of a typical small size")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := q.Send(ctx, queue, now, []storage.SendRequest{{Body: body}}); err != nil {
					errs <- err
					return
				}
				msgs, err := q.Receive(ctx, queue, now, storage.ReceiveOptions{Max: 1, Visibility: time.Hour})
				if err != nil {
					errs <- err
					return
				}
				if len(msgs) != 1 {
					errs <- fmt.Errorf("receive returned %d messages, want 1", len(msgs))
					return
				}
				if err := q.Delete(ctx, queue, msgs[0].Receipt); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

// BenchmarkQueueCycleConcurrent measures the Send + Receive + Delete cycle
// on embedded SQLite with 1, 8 and 32 concurrent clients, for each sync
// mode, reporting cycles/s and the number of commits per cycle.
func BenchmarkQueueCycleConcurrent(b *testing.B) {
	for _, sync := range []string{"full", "off"} {
		for _, conc := range cycleConcurrency {
			b.Run(fmt.Sprintf("sync=%s/conc=%d", sync, conc), func(b *testing.B) {
				s, err := OpenSQLite(b.Context(), b.TempDir(), Options{Sync: sync})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				b.ResetTimer()
				elapsed, err := runCycles(b.Context(), s.Queues(), "bench", conc, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
				reportCommits(b, s, b.N)
			})
		}
	}
}

// durabilityRounds is how many alternating slices BenchmarkQueueDurabilityCost
// cuts each mode's cycles into, so that load changes on a shared machine
// hit both modes alike.
const durabilityRounds = 10

// BenchmarkQueueDurabilityCost runs b.N cycles with conc clients against a
// sync=full store and b.N against a sync=off store in the same run,
// alternating between the two in slices, and reports both rates and their
// ratio full/off: the cost of fsync-before-ack. The SQS goal is a ratio of
// at least 0.25 at 32 clients.
func BenchmarkQueueDurabilityCost(b *testing.B) {
	for _, conc := range cycleConcurrency {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			modes := []string{"off", "full"}
			stores := map[string]*Store{}
			for _, sync := range modes {
				s, err := OpenSQLite(b.Context(), b.TempDir(), Options{Sync: sync})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				// Warm up (schema pages, statement cache) outside the measure.
				if _, err := runCycles(b.Context(), s.Queues(), "bench", conc, 4*conc); err != nil {
					b.Fatal(err)
				}
				stores[sync] = s
			}
			b.ResetTimer()
			elapsed := map[string]time.Duration{}
			for r := range durabilityRounds {
				n := b.N/durabilityRounds + btoi(r < b.N%durabilityRounds)
				if n == 0 {
					continue
				}
				for _, sync := range modes {
					d, err := runCycles(b.Context(), stores[sync].Queues(), "bench", conc, n)
					if err != nil {
						b.Fatal(err)
					}
					elapsed[sync] += d
				}
			}
			full := float64(b.N) / elapsed["full"].Seconds()
			off := float64(b.N) / elapsed["off"].Seconds()
			b.ReportMetric(full, "full-cycles/s")
			b.ReportMetric(off, "off-cycles/s")
			b.ReportMetric(full/off, "full/off")
			s := stores["full"]
			b.ReportMetric(float64(s.gc.ran.Load())/float64(s.gc.commits.Load()), "full-ops/commit")
		})
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// reportCommits reports how many write operations one SQLite commit
// carried on average (1 means no grouping) and commits per cycle.
func reportCommits(b *testing.B, s *Store, cycles int) {
	if s.gc == nil {
		return
	}
	commits, ops := s.gc.commits.Load(), s.gc.ran.Load()
	if commits == 0 {
		return
	}
	b.ReportMetric(float64(ops)/float64(commits), "ops/commit")
	b.ReportMetric(float64(commits)/float64(cycles), "commits/cycle")
}

// fairnessRounds is how many times BenchmarkGroupCommitFairness cycles
// through its three phases, so that load changes on a shared machine hit
// every phase alike.
const fairnessRounds = 5

// BenchmarkGroupCommitFairness measures a quiet writer's latency (one
// 1-message Send, then a pause of think, repeated) on a sync=full store
// while 32 goroutines flood another queue with 50-message Sends under the
// fairness key "noisy". Three phases, alternated over fairnessRounds
// rounds: idle (no flood), fair (the quiet writer under its own key) and
// shared (the quiet writer under the flood's key: the single FIFO queue
// every write had before fairness keys). It runs once whatever b.N and
// reports the quiet p50/p99 of each phase, the fair and shared p99 as
// ratios to idle, and the flood's rate in messages/s in the fair and
// shared phases. With think = 5 ms the quiet key is rarely in two batches
// running, so its write closes the batch it joins; with 1 ms it is in
// nearly every batch and waits for its batch to fill like the flood's
// writes (but not behind their backlog).
func BenchmarkGroupCommitFairness(b *testing.B) {
	for _, think := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("think=%v", think), func(b *testing.B) { benchFairness(b, think) })
	}
}

func benchFairness(b *testing.B, think time.Duration) {
	s, err := OpenSQLite(b.Context(), b.TempDir(), Options{Sync: "full"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := s.Queues()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	noisy := storage.WithFairnessKey(b.Context(), "noisy")
	quiet := storage.WithFairnessKey(b.Context(), "quiet")
	body := make([]byte, 600)
	flood := make([]storage.SendRequest, 50)
	for i := range flood {
		flood[i] = storage.SendRequest{Body: body}
	}
	probe := func(ctx context.Context, n int) []time.Duration {
		out := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			if _, err := q.Send(ctx, "quiet", now, []storage.SendRequest{{Body: body}}); err != nil {
				b.Fatal(err)
			}
			out = append(out, time.Since(start))
			time.Sleep(think)
		}
		return out
	}
	// flooding runs f while 32 goroutines flood, and returns the messages
	// they sent meanwhile per second.
	flooding := func(f func()) float64 {
		var sent atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := q.Send(noisy, "noisy", now, flood); err != nil {
						b.Error(err)
						return
					}
					sent.Add(int64(len(flood)))
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		start, before := time.Now(), sent.Load()
		f()
		rate := float64(sent.Load()-before) / time.Since(start).Seconds()
		close(stop)
		wg.Wait()
		return rate
	}
	probe(quiet, 50) // warm up
	const perRound = 100
	var idle, fair, shared []time.Duration
	var fairRate, sharedRate float64
	b.ResetTimer()
	for range fairnessRounds {
		idle = append(idle, probe(quiet, perRound)...)
		fairRate += flooding(func() { fair = append(fair, probe(quiet, perRound)...) })
		sharedRate += flooding(func() { shared = append(shared, probe(noisy, perRound)...) })
	}
	b.StopTimer()
	pct := func(d []time.Duration, p int) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[(len(s)*p+99)/100-1]) / float64(time.Millisecond)
	}
	b.ReportMetric(0, "ns/op")
	for _, ph := range []struct {
		name string
		d    []time.Duration
	}{{"idle", idle}, {"fair", fair}, {"shared", shared}} {
		b.ReportMetric(pct(ph.d, 50), ph.name+"-p50-ms")
		b.ReportMetric(pct(ph.d, 99), ph.name+"-p99-ms")
	}
	b.ReportMetric(pct(fair, 99)/pct(idle, 99), "fair-p99-ratio")
	b.ReportMetric(pct(shared, 99)/pct(idle, 99), "shared-p99-ratio")
	b.ReportMetric(fairRate/fairnessRounds, "fair-flood-msgs/s")
	b.ReportMetric(sharedRate/fairnessRounds, "shared-flood-msgs/s")
}
