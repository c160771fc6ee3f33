package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// benchStores opens each available back end for a benchmark.
func benchStores(b *testing.B, fn func(b *testing.B, s *Store)) {
	for _, sync := range []string{"full", "normal"} {
		b.Run("sqlite-"+sync, func(b *testing.B) {
			s, err := OpenSQLite(b.Context(), b.TempDir(), Options{Sync: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fn(b, s)
		})
	}
	b.Run("postgres", func(b *testing.B) {
		fn(b, openPostgres(b, postgresURL(b)))
	})
}

// BenchmarkQueueRoundTrip measures Send + Receive + Delete of one message.
func BenchmarkQueueRoundTrip(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		ctx := b.Context()
		q := s.Queues()
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		body := []byte("benchmark message body of a typical small size")
		b.ResetTimer()
		for b.Loop() {
			if _, err := q.Send(ctx, "bench", now, []storage.SendRequest{{Body: body}}); err != nil {
				b.Fatal(err)
			}
			msgs, err := q.Receive(ctx, "bench", now, storage.ReceiveOptions{Max: 1, Visibility: time.Minute})
			if err != nil || len(msgs) != 1 {
				b.Fatalf("receive: %d %v", len(msgs), err)
			}
			if err := q.Delete(ctx, "bench", msgs[0].Receipt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMetaPutGet measures an unconditional Put followed by a Get.
func BenchmarkMetaPutGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		ctx := b.Context()
		m := s.Meta()
		val := make([]byte, 512)
		i := 0
		for b.Loop() {
			key := fmt.Sprint("111/us-east-1/k", i%1000)
			i++
			if _, err := m.Put(ctx, "bench.meta", key, val, storage.AnyVersion); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Get(ctx, "bench.meta", key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFIFOReceiveDeep measures a FIFO cycle on a deep queue: receive
// 10 (one group's), delete them, send 10 more to that group, with 10 000
// messages in 1 000 groups sent round-robin (so a group's messages are far
// apart in Seq order). "standard" is the same cycle on a standard queue of
// the same depth, the baseline.
func BenchmarkFIFOReceiveDeep(b *testing.B) {
	const depth, groups = 10000, 1000
	benchStores(b, func(b *testing.B, s *Store) {
		for _, fifo := range []bool{true, false} {
			name := map[bool]string{true: "fifo", false: "standard"}[fifo]
			b.Run(name, func(b *testing.B) {
				ctx := b.Context()
				q := s.Queues()
				queue := "deep-" + name
				now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
				body := []byte("benchmark message body of a typical small size")
				for i := 0; i < depth; i += 10 {
					reqs := make([]storage.SendRequest, 10)
					for j := range reqs {
						reqs[j] = storage.SendRequest{Body: body, GroupID: fmt.Sprint("g", (i+j)%groups)}
					}
					if _, err := q.Send(ctx, queue, now, reqs); err != nil {
						b.Fatal(err)
					}
				}
				receipts := make([]string, 0, 10)
				reqs := make([]storage.SendRequest, 10)
				for b.Loop() {
					msgs, err := q.Receive(ctx, queue, now, storage.ReceiveOptions{Max: 10, Visibility: time.Minute, FIFO: fifo})
					if err != nil || len(msgs) != 10 {
						b.Fatalf("receive: %d %v", len(msgs), err)
					}
					receipts = receipts[:0]
					for _, m := range msgs {
						receipts = append(receipts, m.Receipt)
					}
					if _, err := q.DeleteBatch(ctx, queue, receipts); err != nil {
						b.Fatal(err)
					}
					for j := range reqs {
						reqs[j] = storage.SendRequest{Body: body, GroupID: msgs[j].GroupID}
					}
					if _, err := q.Send(ctx, queue, now, reqs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
