package sqlstore

import (
	"context"
	"fmt"
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
