package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fogbank/fogbank/internal/storage"
)

// metaStore implements storage.Meta on the meta table.
type metaStore struct{ s *Store }

func (m metaStore) Get(ctx context.Context, ns, key string) (storage.Record, error) {
	s := m.s
	rec := storage.Record{Key: key}
	err := s.r.QueryRowContext(ctx, s.d.q("SELECT value, version FROM meta WHERE ns = ? AND key = ?"), ns, key).
		Scan(&rec.Value, &rec.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Record{}, fmt.Errorf("sqlstore: meta get %s %q: %w", ns, key, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Record{}, fmt.Errorf("sqlstore: meta get %s %q: %w", ns, key, err)
	}
	return rec, nil
}

func (m metaStore) Put(ctx context.Context, ns, key string, value []byte, expect int64) (int64, error) {
	s := m.s
	var query string
	args := []any{ns, key, nonNil(value)}
	switch {
	case expect == storage.AnyVersion:
		query = `INSERT INTO meta (ns, key, value, version) VALUES (?, ?, ?, 1)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = meta.version + 1
			RETURNING version`
	case expect == storage.MustNotExist:
		query = `INSERT INTO meta (ns, key, value, version) VALUES (?, ?, ?, 1)
			ON CONFLICT (ns, key) DO NOTHING RETURNING version`
	case expect > 0:
		query = `UPDATE meta SET value = ?, version = version + 1
			WHERE ns = ? AND key = ? AND version = ? RETURNING version`
		args = []any{nonNil(value), ns, key, expect}
	default:
		return 0, fmt.Errorf("sqlstore: meta put %s %q: invalid expected version %d", ns, key, expect)
	}
	var v int64
	conflict := false // a refusal: nothing was written
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		conflict = false
		err := ex.QueryRowContext(ctx, s.d.q(query), args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			conflict = true
			return nil
		}
		return err
	})
	if err == nil && conflict {
		return 0, fmt.Errorf("sqlstore: meta put %s %q (expect %d): %w", ns, key, expect, storage.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: meta put %s %q: %w", ns, key, err)
	}
	return v, nil
}

func (m metaStore) Delete(ctx context.Context, ns, key string, expect int64) error {
	s := m.s
	query := "DELETE FROM meta WHERE ns = ? AND key = ?"
	args := []any{ns, key}
	if expect != storage.AnyVersion {
		query += " AND version = ?"
		args = append(args, expect)
	}
	var outcome error // a refusal: nothing was written
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		outcome = nil
		res, err := ex.ExecContext(ctx, s.d.q(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		if expect == storage.AnyVersion {
			outcome = storage.ErrNotFound
			return nil
		}
		var one int
		err = ex.QueryRowContext(ctx, s.d.q("SELECT 1 FROM meta WHERE ns = ? AND key = ?"), ns, key).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = storage.ErrNotFound
		case err != nil:
			return err
		default:
			outcome = fmt.Errorf("expect %d: %w", expect, storage.ErrConflict)
		}
		return nil
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return fmt.Errorf("sqlstore: meta delete %s %q: %w", ns, key, err)
	}
	return nil
}

func (m metaStore) List(ctx context.Context, ns, prefix, after string, limit int) ([]storage.Record, error) {
	s := m.s
	cond, cargs := prefixCond("key", prefix)
	query := "SELECT key, value, version FROM meta WHERE ns = ? AND " + cond
	args := append([]any{ns}, cargs...)
	if after != "" {
		query += " AND key > ?"
		args = append(args, after)
	}
	query += " ORDER BY key"
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: meta list %s %q: %w", ns, prefix, err)
	}
	defer rows.Close()
	var out []storage.Record
	for rows.Next() {
		var r storage.Record
		if err := rows.Scan(&r.Key, &r.Value, &r.Version); err != nil {
			return nil, fmt.Errorf("sqlstore: meta list %s %q: %w", ns, prefix, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: meta list %s %q: %w", ns, prefix, err)
	}
	return out, nil
}
