package natsstore

import (
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

func benchStores(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run("embedded", func(b *testing.B) {
		s, err := OpenEmbedded(b.Context(), b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
	b.Run("external", func(b *testing.B) {
		url := natsURL(b)
		s, err := Open(b.Context(), url, Options{Prefix: testPrefix(b)})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { s.Destroy(b.Context()); s.Close() }()
		fn(b, s)
	})
}

// BenchmarkMetaPut measures one conditional-free Put (read + CAS publish).
func BenchmarkMetaPut(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		for b.Loop() {
			if _, err := s.Meta().Put(b.Context(), "bench", "k", []byte("v"), storage.AnyVersion); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSendReceiveDelete measures one message's round trip through a
// queue holding `depth` other (in-flight) messages, which every Receive
// scans.
func BenchmarkSendReceiveDelete(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		q := s.Queues()
		const queue = "bench/q"
		now := time.Unix(1_900_000_000, 0)
		for b.Loop() {
			if _, err := q.Send(b.Context(), queue, now, []storage.SendRequest{{Body: []byte("hello")}}); err != nil {
				b.Fatal(err)
			}
			msgs, err := q.Receive(b.Context(), queue, now, storage.ReceiveOptions{Max: 1, Visibility: time.Minute})
			if err != nil || len(msgs) != 1 {
				b.Fatalf("receive: %v, %d messages", err, len(msgs))
			}
			if err := q.Delete(b.Context(), queue, msgs[0].Receipt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
