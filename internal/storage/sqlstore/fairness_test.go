package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// batchOf runs a write under ctx's fairness key that records, in *seq,
// the number of the batch it ran in.
func batchOf(s *Store, ctx context.Context, seq *uint64) error {
	return s.tx(ctx, func(ctx context.Context, tx execer) error {
		s.gc.mu.Lock()
		*seq = s.gc.seq
		s.gc.mu.Unlock()
		_, err := tx.ExecContext(ctx, "INSERT INTO meta (ns, key, value, version) VALUES ('fair', ?, x'', 1)", fmt.Sprint(time.Now().UnixNano(), rand.Int64()))
		return err
	})
}

// TestGroupCommitFairAcrossKeys queues a backlog of four batches' worth of
// writes under one key while the writer is busy, then one write under
// another key: that write commits with the batch in progress, not after
// the backlog, and the backlog still commits in full batches.
func TestGroupCommitFairAcrossKeys(t *testing.T) {
	for _, held := range []string{"", "noisy"} {
		t.Run("held="+held, func(t *testing.T) {
			s := openBatchStore(t, t.TempDir())
			defer s.Close()
			noisy := storage.WithFairnessKey(context.Background(), "noisy")
			quiet := storage.WithFairnessKey(context.Background(), "quiet")

			started, gate := make(chan struct{}), make(chan struct{})
			var heldSeq uint64
			heldDone := make(chan error, 1)
			go func() {
				heldDone <- s.tx(storage.WithFairnessKey(context.Background(), held), func(ctx context.Context, tx execer) error {
					s.gc.mu.Lock()
					heldSeq = s.gc.seq
					s.gc.mu.Unlock()
					close(started)
					<-gate
					return nil
				})
			}()
			<-started

			backlog := 4 * s.gc.maxOps
			seqs := make([]uint64, backlog)
			var wg sync.WaitGroup
			errs := make(chan error, backlog+1)
			for i := range backlog {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := batchOf(s, noisy, &seqs[i]); err != nil {
						errs <- err
					}
				}()
			}
			waitQueued(t, s, int64(backlog))
			var quietSeq uint64
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := batchOf(s, quiet, &quietSeq); err != nil {
					errs <- err
				}
			}()
			waitQueued(t, s, int64(backlog)+1)
			close(gate)
			if err := <-heldDone; err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if quietSeq != heldSeq {
				t.Errorf("quiet write ran in batch %d, want the held batch %d (not behind the other key's backlog)", quietSeq, heldSeq)
			}
			last := uint64(0)
			for _, q := range seqs {
				last = max(last, q)
			}
			// One op of the backlog joins the held batch; the rest fill
			// whole batches of maxOps.
			if want := heldSeq + uint64((backlog-1+s.gc.maxOps-1)/s.gc.maxOps); last > want {
				t.Errorf("backlog of %d ops ended in batch %d, want at most %d (full batches)", backlog, last, want)
			}
		})
	}
}

// TestGroupCommitRoundRobin: with several keys' backlogs queued one after
// the other, each batch takes the keys in turn, so every batch holds about
// as many ops of each.
func TestGroupCommitRoundRobin(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	s.gc.maxOps = 6
	release, wait := holdWriter(t, s, "h")
	// Queue ten ops per key, one at a time: all of a's, then b's, then c's.
	keys := []string{"a", "b", "c"}
	seqs := map[string][]*uint64{}
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	n := int64(0)
	for _, k := range keys {
		for range 10 {
			seq := new(uint64)
			seqs[k] = append(seqs[k], seq)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := batchOf(s, storage.WithFairnessKey(context.Background(), k), seq); err != nil {
					errs <- err
				}
			}()
			n++
			waitQueued(t, s, n)
		}
	}
	waitQueued(t, s, 30)
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Per batch, count each key's ops: no key may have two ops more
	// than another in any batch.
	per := map[uint64]map[string]int{}
	for k, list := range seqs {
		for _, q := range list {
			if per[*q] == nil {
				per[*q] = map[string]int{}
			}
			per[*q][k]++
		}
	}
	for seq, counts := range per {
		lo, hi := 1<<30, 0
		for _, k := range keys {
			lo, hi = min(lo, counts[k]), max(hi, counts[k])
		}
		if hi-lo > 1 {
			t.Errorf("batch %d: ops per key %v, want round-robin", seq, counts)
		}
	}
}

// TestGroupCommitKeysStress runs many writers under random keys, some
// canceled while queued, and checks that every write either commits or
// returns its context's error and that the queues end empty.
func TestGroupCommitKeysStress(t *testing.T) {
	s, err := OpenSQLite(t.Context(), t.TempDir(), Options{Sync: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ctx := storage.WithFairnessKey(context.Background(), fmt.Sprint("k", rand.IntN(5)))
				var cancel context.CancelFunc = func() {}
				if i%7 == 3 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(200))*time.Microsecond)
				}
				key := fmt.Sprint(w, "/", i)
				_, err := s.Meta().Put(ctx, "stress", key, nil, storage.AnyVersion)
				cancel()
				stored := metaExists(t, s, "stress", key)
				switch {
				case err == nil && !stored:
					errs <- fmt.Errorf("put %s acknowledged but not stored", key)
				case err != nil && ctx.Err() == nil:
					errs <- fmt.Errorf("put %s: %w", key, err)
				case err != nil && stored:
					errs <- fmt.Errorf("put %s failed (%v) but was stored", key, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	if len(s.gc.ring) != 0 || len(s.gc.keys) != 0 || s.gc.waiting.Load() != 0 {
		t.Errorf("queues not empty at rest: %d keys in ring, %d in map, %d waiting", len(s.gc.ring), len(s.gc.keys), s.gc.waiting.Load())
	}
}
