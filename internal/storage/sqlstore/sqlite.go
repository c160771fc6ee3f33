package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// dbFile is the name of the SQLite database inside the data directory.
const dbFile = "fogbank.db"

// OpenSQLite opens (creating if needed) the embedded store in dir: the
// database file dir/fogbank.db and blob files under dir/blobs. Only one
// process may open a directory at a time.
func OpenSQLite(ctx context.Context, dir string, opts Options) (*Store, error) {
	sync, err := syncPragma(opts.Sync)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlstore: create data dir: %w", err)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = 4
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	path := filepath.Join(dir, dbFile)
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlstore: data dir %q must not contain '?' or '#'", dir)
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")
	common.Add("_pragma", "synchronous("+sync+")")

	wq := url.Values{}
	for k, v := range common {
		wq[k] = append([]string(nil), v...)
	}
	wq.Add("_pragma", "journal_mode(WAL)")
	// Checkpoints run beside the writer (see checkpointer), not in its commits.
	wq.Add("_pragma", "wal_autocheckpoint(0)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	// One writer: SQLite serialises writers anyway, and a single connection
	// turns lock contention into queueing in database/sql instead of
	// SQLITE_BUSY errors.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{d: dialect{pg: false}, w: w, log: log, notify: newNotifier(), dir: dir}
	if err := s.migrate(ctx, "sqlite", ""); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: %s: %w", path, err)
	}

	cdb, err := sql.Open("sqlite", "file:"+path+"?"+common.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open %s for checkpoints: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)

	rq := common
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		cdb.Close()
		return nil, fmt.Errorf("sqlstore: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.r = r
	// From here on every write goes through the group committer.
	s.gc = newGroupCommitter(w, newCheckpointer(cdb, log))

	fb, err := newFileBlobs(ctx, s, filepath.Join(dir, "blobs"), sync != "OFF")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	s.blobs = fb
	return s, nil
}

// syncPragma maps Options.Sync to SQLite's synchronous setting.
func syncPragma(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	case "off":
		return "OFF", nil
	}
	return "", fmt.Errorf("sqlstore: unknown sync mode %q (want full, normal or off)", v)
}

// retryable reports whether a failed transaction may be run again.
func retryable(err error) bool {
	var pe pgError
	if errors.As(err, &pe) {
		switch pe.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// pgError is the part of *pgconn.PgError that retryable needs.
type pgError interface {
	error
	SQLState() string
}
