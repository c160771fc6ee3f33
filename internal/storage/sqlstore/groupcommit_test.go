package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// openBatchStore opens an embedded store whose batches are bounded by
// count only, so that tests decide what shares a batch.
func openBatchStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.gc.maxWork = time.Hour
	return s
}

// holdWriter starts a write that blocks the writer inside its batch until
// release is called; the write stores meta ("hold", key). It returns once
// the writer is held, and the returned wait reports the write's result.
func holdWriter(t *testing.T, s *Store, key string) (release func(), wait func() error) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	res := make(chan error, 1)
	go func() {
		res <- s.tx(context.Background(), func(ctx context.Context, tx execer) error {
			once.Do(func() { close(started) })
			<-gate
			_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta (ns, key, value, version) VALUES ('hold', ?, x'', 1)", key)
			return err
		})
	}()
	<-started
	return func() { close(gate) }, func() error { return <-res }
}

// waitQueued waits until n callers are blocked handing operations over.
func waitQueued(t *testing.T, s *Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.gc.waiting.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d operations queued, want %d", s.gc.waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// insertMeta is a raw write of one meta row that then fails with fail (if
// not nil), after optionally running extra SQL.
func insertMeta(s *Store, key, extra string, fail error) error {
	return s.tx(context.Background(), func(ctx context.Context, tx execer) error {
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta (ns, key, value, version) VALUES ('raw', ?, x'', 1)", key); err != nil {
			return err
		}
		if extra != "" {
			if _, err := tx.ExecContext(ctx, extra); err != nil {
				return err
			}
		}
		return fail
	})
}

func metaExists(t *testing.T, s *Store, ns, key string) bool {
	t.Helper()
	_, err := s.Meta().Get(t.Context(), ns, key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestGroupCommitIsolatesFailures puts failing and succeeding operations in
// one batch: each gets its own result, the failed ones leave nothing
// behind, and the batch is one commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Meta().Put(ctx, "ns", "taken", []byte("first"), storage.MustNotExist); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	type result struct {
		name string
		err  error
	}
	ops := []struct {
		name    string
		run     func() error
		wantErr error // nil: must succeed
	}{
		{"put ok", func() error {
			_, err := s.Meta().Put(ctx, "ns", "a", []byte("1"), storage.MustNotExist)
			return err
		}, nil},
		{"raw write then error", func() error { return insertMeta(s, "doomed", "", boom) }, boom},
		{"put conflict", func() error {
			_, err := s.Meta().Put(ctx, "ns", "taken", []byte("second"), storage.MustNotExist)
			return err
		}, storage.ErrConflict},
		{"send", func() error {
			_, err := s.Queues().Send(ctx, "q", now, []storage.SendRequest{{Body: []byte("m")}})
			return err
		}, nil},
		{"delete bad receipt", func() error { return s.Queues().Delete(ctx, "q", "999.nonce") }, storage.ErrInvalidReceipt},
		{"failing statement", func() error { return insertMeta(s, "doomed2", "INSERT INTO no_such_table VALUES (1)", nil) }, nil},
		{"append", func() error {
			_, err := s.Logs().Append(ctx, "log", []storage.LogEntry{{Time: now, Data: []byte("x")}})
			return err
		}, nil},
	}
	commits := s.gc.commits.Load()
	release, wait := holdWriter(t, s, "h")
	results := make(chan result, len(ops))
	for _, op := range ops {
		go func() { results <- result{op.name, op.run()} }()
	}
	waitQueued(t, s, int64(len(ops)))
	release()
	if err := wait(); err != nil {
		t.Fatalf("held write: %v", err)
	}
	got := map[string]error{}
	for range ops {
		r := <-results
		got[r.name] = r.err
	}
	for _, op := range ops {
		err := got[op.name]
		switch {
		case op.name == "failing statement":
			if err == nil {
				t.Errorf("%s: succeeded", op.name)
			}
		case op.wantErr == nil && err != nil:
			t.Errorf("%s: %v", op.name, err)
		case op.wantErr != nil && !errors.Is(err, op.wantErr):
			t.Errorf("%s: error %v, want %v", op.name, err, op.wantErr)
		}
	}
	if n := s.gc.commits.Load() - commits; n != 1 {
		t.Errorf("%d commits for one batch, want 1", n)
	}
	for _, k := range []string{"doomed", "doomed2"} {
		if metaExists(t, s, "raw", k) {
			t.Errorf("write of failed operation %q was committed", k)
		}
	}
	if !metaExists(t, s, "ns", "a") || !metaExists(t, s, "hold", "h") {
		t.Error("write of a successful batch-mate is missing")
	}
	if rec, err := s.Meta().Get(ctx, "ns", "taken"); err != nil || string(rec.Value) != "first" {
		t.Errorf("conflicting put changed the record: %q %v", rec.Value, err)
	}
	if st, err := s.Queues().Stats(ctx, "q", now); err != nil || st.Visible != 1 {
		t.Errorf("queue stats %+v %v, want 1 visible", st, err)
	}
	if recs, err := s.Logs().Read(ctx, "log", storage.LogQuery{}); err != nil || len(recs) != 1 {
		t.Errorf("log has %d records (%v), want 1", len(recs), err)
	}
}

// TestGroupCommitRerunsAfterBrokenTransaction has one operation end the
// shared transaction: it fails, and its batch-mates (including those that
// had already run) run again in a new transaction and are committed.
func TestGroupCommitRerunsAfterBrokenTransaction(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	release, wait := holdWriter(t, s, "h")
	keys := []string{"b", "c", "d"}
	errs := make(chan error, len(keys))
	for _, k := range keys {
		go func() { errs <- insertMeta(s, k, "", nil) }()
	}
	breaker := make(chan error, 1)
	go func() { breaker <- insertMeta(s, "breaker", "ROLLBACK", errors.New("after rollback")) }()
	waitQueued(t, s, int64(len(keys))+1)
	release()
	if err := wait(); err != nil {
		t.Fatalf("held write: %v", err)
	}
	for range keys {
		if err := <-errs; err != nil {
			t.Errorf("batch-mate failed: %v", err)
		}
	}
	if err := <-breaker; err == nil {
		t.Error("operation that broke the transaction succeeded")
	}
	for _, k := range keys {
		if !metaExists(t, s, "raw", k) {
			t.Errorf("batch-mate %q lost", k)
		}
	}
	if !metaExists(t, s, "hold", "h") {
		t.Error("held write lost")
	}
	if metaExists(t, s, "raw", "breaker") {
		t.Error("write of the failed operation committed")
	}
}

// TestGroupCommitAckAfterCommit checks from many concurrent writers that a
// write is visible to the read pool (which sees only committed data) as
// soon as it is acknowledged, and that commits were shared.
func TestGroupCommitAckAfterCommit(t *testing.T) {
	s, err := OpenSQLite(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queue := fmt.Sprint("q", w)
			for i := range each {
				key := fmt.Sprint(w, "/", i)
				v, err := s.Meta().Put(ctx, "ack", key, []byte(key), storage.AnyVersion)
				if err != nil {
					errs <- err
					return
				}
				if rec, err := s.Meta().Get(ctx, "ack", key); err != nil || rec.Version != v {
					errs <- fmt.Errorf("acknowledged put %s not committed: %+v %v", key, rec, err)
					return
				}
				if _, err := s.Queues().Send(ctx, queue, now, []storage.SendRequest{{Body: []byte(key)}}); err != nil {
					errs <- err
					return
				}
				if st, err := s.Queues().Stats(ctx, queue, now); err != nil || st.Visible != int64(i+1) {
					errs <- fmt.Errorf("acknowledged send %s not committed: %+v %v", key, st, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ops, commits := s.gc.ran.Load(), s.gc.commits.Load()
	t.Logf("%d operations in %d commits", ops, commits)
	if ops < 2*workers*each {
		t.Errorf("%d operations acknowledged, want at least %d", ops, 2*workers*each)
	}
}

// TestGroupCommitNotifyAfterCommit checks that a long-poll wake-up for a
// send comes after the send is committed.
func TestGroupCommitNotifyAfterCommit(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		release, wait := holdWriter(t, s, fmt.Sprint(i))
		woken := s.Queues().Notify("q")
		sent := make(chan error, 1)
		go func() {
			_, err := s.Queues().Send(ctx, "q", now, []storage.SendRequest{{Body: []byte("m")}})
			sent <- err
		}()
		waitQueued(t, s, 1)
		select {
		case <-woken:
			t.Fatal("woken before the send was committed")
		default:
		}
		release()
		<-woken
		if st, err := s.Queues().Stats(ctx, "q", now); err != nil || st.Visible != int64(i+1) {
			t.Fatalf("woken, but the send is not committed: %+v %v", st, err)
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	}
}

// TestGroupCommitCanceledWhileQueued: an operation whose context ends
// before the writer takes it returns the context's error and never runs.
func TestGroupCommitCanceledWhileQueued(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	release, wait := holdWriter(t, s, "h")
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := s.Meta().Put(ctx, "ns", "canceled", nil, storage.AnyVersion)
		res <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled put: %v, want context.Canceled", err)
	}
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if metaExists(t, s, "ns", "canceled") {
		t.Fatal("canceled operation was committed")
	}
}

// TestGroupCommitClose closes the store while a batch is running and more
// writes are queued: the running batch commits, queued writes either
// commit or fail with an error, nothing hangs, and later writes fail.
func TestGroupCommitClose(t *testing.T) {
	dir := t.TempDir()
	s := openBatchStore(t, dir)
	release, wait := holdWriter(t, s, "h")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Meta().Put(context.Background(), "ns", fmt.Sprint(i), nil, storage.AnyVersion)
		}()
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := wait(); err != nil {
		t.Fatalf("running batch: %v", err)
	}
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meta().Put(context.Background(), "ns", "late", nil, storage.AnyVersion); err == nil {
		t.Fatal("write after close succeeded")
	}
	s, err := OpenSQLite(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !metaExists(t, s, "hold", "h") {
		t.Error("running batch lost at close")
	}
	for i, err := range errs {
		if got := metaExists(t, s, "ns", fmt.Sprint(i)); got != (err == nil) {
			t.Errorf("put %d: error %v but stored = %v", i, err, got)
		}
	}
}

// TestGroupCommitPanicReachesCaller: an operation that panics on the
// writer goroutine makes its own caller panic, is rolled back, and leaves
// its batch-mates and the writer working.
func TestGroupCommitPanicReachesCaller(t *testing.T) {
	s := openBatchStore(t, t.TempDir())
	defer s.Close()
	release, wait := holdWriter(t, s, "h")
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		s.tx(context.Background(), func(ctx context.Context, tx execer) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO meta (ns, key, value, version) VALUES ('raw', 'panicked', x'', 1)"); err != nil {
				return err
			}
			panic("operation bug")
		})
	}()
	mate := make(chan error, 1)
	go func() { mate <- insertMeta(s, "mate", "", nil) }()
	waitQueued(t, s, 2)
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if v := <-recovered; v == nil || !strings.Contains(fmt.Sprint(v), "operation bug") {
		t.Fatalf("caller recovered %v, want the operation's panic", v)
	}
	if err := <-mate; err != nil {
		t.Fatalf("batch-mate: %v", err)
	}
	if metaExists(t, s, "raw", "panicked") || !metaExists(t, s, "raw", "mate") {
		t.Fatal("panicking operation committed or batch-mate lost")
	}
	if err := insertMeta(s, "after", "", nil); err != nil {
		t.Fatalf("writer broken after a panic: %v", err)
	}
}
