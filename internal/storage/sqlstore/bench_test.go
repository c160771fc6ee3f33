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
