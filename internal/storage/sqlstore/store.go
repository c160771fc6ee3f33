package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fogbank/fogbank/internal/storage"
)

// Options configures a Store. The zero value is valid.
type Options struct {
	// Sync sets SQLite's durability (ignored by PostgreSQL, whose
	// durability is the server's configuration):
	//   - "full" (default, also ""): every commit is fsynced before the
	//     call returns, so an acknowledged write survives a process crash,
	//     an OS crash and a power loss. Blob files are fsynced too.
	//   - "normal": commits reach the operating system but the WAL is
	//     fsynced only at checkpoints. Survives a process crash (SIGKILL);
	//     an OS crash or power loss may lose the most recent commits, but
	//     never corrupts the database. Blob files are still fsynced, but a
	//     blob replaced or deleted just before a power loss may come back
	//     as an index entry whose file is gone (Get then fails).
	//   - "off": nothing is fsynced. Survives a process crash; an OS crash
	//     or power loss may lose recent writes and can corrupt the
	//     database. For tests and throwaway data only.
	Sync string
	// Schema is the PostgreSQL schema holding the tables; it is created if
	// missing. If empty, "fogbank" is used. Ignored by SQLite.
	Schema string
	// BusyTimeout is how long a SQLite statement waits for a lock held by
	// another process before failing. If zero, 10s is used.
	BusyTimeout time.Duration
	// ReadConns is the size of the SQLite read pool. If zero, 4 is used.
	ReadConns int
	// MaxConns is the PostgreSQL connection pool size. If zero, 16 is used.
	MaxConns int
	// Logger receives operational messages (listener reconnects, orphan
	// blob cleanup). If nil, nothing is logged.
	Logger *slog.Logger
}

// Store is a storage.Backend on SQLite or PostgreSQL. It is safe for
// concurrent use; Close releases it.
type Store struct {
	d      dialect
	w      *sql.DB // writes (SQLite: a single connection)
	r      *sql.DB // reads (SQLite: read-only pool; PostgreSQL: same as w)
	log    *slog.Logger
	notify *notifier
	blobs  storage.Blobs
	dir    string // SQLite data directory

	gc *groupCommitter // SQLite: runs every write (nil while migrating)

	pgChannel string      // LISTEN/NOTIFY channel (PostgreSQL)
	listener  *pgListener // nil for SQLite
	closeOnce sync.Once
	closeErr  error

	pruneMu   sync.Mutex
	lastPrune time.Time // caller time of the last dedup-table pruning
}

var _ storage.Backend = (*Store)(nil)

// Meta returns the metadata store.
func (s *Store) Meta() storage.Meta { return metaStore{s} }

// Queues returns the queue engine.
func (s *Store) Queues() storage.Queues { return queueStore{s} }

// Logs returns the log streams.
func (s *Store) Logs() storage.Logs { return logStore{s} }

// Blobs returns the blob store.
func (s *Store) Blobs() storage.Blobs { return s.blobs }

// Mode returns "embedded" for SQLite and "postgres" for PostgreSQL.
func (s *Store) Mode() string {
	if s.d.pg {
		return "postgres"
	}
	return "embedded"
}

// Close stops the notification listener and closes the connection pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.listener != nil {
			s.listener.close()
		}
		if s.gc != nil {
			errs = append(errs, s.gc.close())
		}
		if s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
		s.notify.closeAll()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Reset deletes all state, or the Meta namespaces, queues (with their
// dedup ids), log streams and blob keys that begin with one of prefixes.
func (s *Store) Reset(ctx context.Context, prefixes ...string) error {
	type target struct{ table, col string }
	targets := []target{
		{"meta", "ns"}, {"q_msg", "queue"}, {"q_dedup", "queue"},
		{"log_rec", "stream"}, {"log_stream", "stream"},
	}
	if s.d.pg {
		targets = append(targets, target{"blob_data", "key"})
	}
	where := func(col string) (string, []any) {
		if len(prefixes) == 0 {
			return "1=1", nil
		}
		var conds []string
		var args []any
		for _, p := range prefixes {
			c, a := prefixCond(col, p)
			conds = append(conds, "("+c+")")
			args = append(args, a...)
		}
		return strings.Join(conds, " OR "), args
	}
	var files []string
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		files = files[:0]
		for _, t := range targets {
			w, args := where(t.col)
			if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM "+t.table+" WHERE "+w), args...); err != nil {
				return fmt.Errorf("%s: %w", t.table, err)
			}
		}
		if s.d.pg {
			return nil
		}
		w, args := where("key")
		rows, err := tx.QueryContext(ctx, "DELETE FROM blob_file WHERE "+w+" RETURNING file", args...)
		if err != nil {
			return fmt.Errorf("blob_file: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				return fmt.Errorf("blob_file: %w", err)
			}
			files = append(files, f)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("sqlstore: reset: %w", err)
	}
	if fb, ok := s.blobs.(*fileBlobs); ok {
		for _, f := range files {
			fb.removeFile(f)
		}
	}
	return nil
}

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	pg bool
}

// q rewrites "?" placeholders to PostgreSQL's "$n". Queries never contain
// a literal "?".
func (d dialect) q(query string) string {
	if !d.pg || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// skipLocked is the row-locking suffix for queue candidate selection.
func (d dialect) skipLocked() string {
	if d.pg {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// prefixCond returns a condition (with "?" placeholders and their
// arguments) selecting rows whose column col begins with prefix in byte
// order, written so that an index on col serves it.
func prefixCond(col, prefix string) (string, []any) {
	if prefix == "" {
		return "1=1", nil
	}
	last := prefix[len(prefix)-1]
	if last < 0x7f {
		// The smallest string above every string with this prefix.
		upper := prefix[:len(prefix)-1] + string(rune(last+1))
		return col + " >= ? AND " + col + " < ?", []any{prefix, upper}
	}
	// Non-ASCII last byte: compare the leading characters instead.
	if !utf8.ValidString(prefix) {
		return "1=0", nil
	}
	return col + " >= ? AND substr(" + col + ", 1, length(CAST(? AS TEXT))) = ?", []any{prefix, prefix, prefix}
}

// tx runs fn atomically. On SQLite fn joins the next group-commit batch
// (see groupCommitter): it runs under its own savepoint inside a shared
// transaction and tx returns once that transaction is committed. On
// PostgreSQL fn gets its own transaction, run again a few times on
// serialization failures and deadlocks.
func (s *Store) tx(ctx context.Context, fn txFunc) error {
	if s.gc != nil {
		return s.gc.do(ctx, fn)
	}
	for attempt := 0; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || attempt >= 4 || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

// tx1 runs fn in one transaction of its own on the writer pool.
func (s *Store) tx1(ctx context.Context, fn txFunc) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// write runs a write that needs no transaction of its own (one statement,
// or a statement followed by a read that explains a miss). On SQLite it
// joins a group-commit batch like tx; on PostgreSQL it runs in autocommit
// mode on the pool. fn must reset its results on entry, as for tx.
func (s *Store) write(ctx context.Context, fn txFunc) error {
	if s.gc != nil {
		return s.gc.do(ctx, fn)
	}
	return fn(ctx, s.w)
}

// nanos converts a caller time to the stored form; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos converts a stored time back; 0 is the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nonNil returns b, or an empty slice when b is nil, for NOT NULL columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
